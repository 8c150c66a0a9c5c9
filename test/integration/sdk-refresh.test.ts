import { describe, expect, it } from "vitest";
import {
  type ChatClientOptions,
  createChatClient,
  type FetchLike,
  type RefreshLock,
  type Tokens,
} from "../../src/client/index";
import { apiClient } from "../helpers/api";
import { expiredTokenOf, registerUser, type TestUser } from "../helpers/factories";
import { useService } from "../helpers/service";

// Two SDK clients sharing one stored token pair, like two tabs of the web app over localStorage,
// against the real service's reuse detection: a refresh token presented twice ends the session.

const service = useService({ AUTH_RATE_LIMIT: "1000000", MESSAGE_RATE_LIMIT: "1000000" });
const api = apiClient(service);

/** An async mutex standing in for navigator.locks: each fn starts once the previous settled. */
function mutex(): RefreshLock {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/**
 * One "browser": a shared token store (localStorage), a fetch that counts refreshes (each one a
 * rotation on the server), and tabs made over both, with or without the shared lock.
 */
async function browserOf(user: TestUser, opts: { coordinated: boolean }) {
  const store: { tokens: Tokens | null } = {
    tokens: { token: await expiredTokenOf(user), refreshToken: user.refreshToken },
  };
  let refreshes = 0;
  const countingFetch: FetchLike = (input, init) => {
    if (input.endsWith("/api/auth/refresh")) {
      refreshes++;
    }
    return fetch(input, init);
  };
  const lock = mutex();
  const tab = () => {
    const options: ChatClientOptions = {
      baseUrl: service.url,
      tokens: store.tokens,
      onTokens: (t) => {
        store.tokens = t;
      },
      fetch: countingFetch,
    };
    return createChatClient(
      opts.coordinated
        ? { ...options, refreshLock: lock, loadTokens: () => store.tokens }
        : options,
    );
  };
  return { store, tab, refreshes: () => refreshes };
}

describe("two SDK clients sharing stored tokens (tabs)", () => {
  it("refresh once between them with refreshLock + loadTokens, and the session lives on", async () => {
    const user = await registerUser(api);
    const browser = await browserOf(user, { coordinated: true });
    const a = browser.tab();
    const b = browser.tab();

    // Both access tokens are expired: both calls get a 401 and need a refresh at once.
    const [meA, meB] = await Promise.all([a.me.get(), b.me.get()]);
    expect(meA.id).toBe(user.id);
    expect(meB.id).toBe(user.id);
    expect(browser.refreshes(), "the second tab adopted the first one's pair").toBe(1);
    expect(a.tokens).toEqual(b.tokens);
    expect(browser.store.tokens).toEqual(a.tokens);
    expect(a.tokens?.refreshToken).not.toBe(user.refreshToken);

    // Not revoked: more calls work, and the shared refresh token still rotates.
    await expect(b.rooms.mine()).resolves.toMatchObject({ items: [] });
    await expect(a.auth.refresh()).resolves.toMatchObject({ refreshToken: expect.any(String) });
    expect(browser.refreshes()).toBe(2);
    await expect(a.me.get()).resolves.toMatchObject({ id: user.id });
    await expect(b.me.get()).resolves.toMatchObject({ id: user.id });
  });

  it("without them, both refresh with the same token and the server ends the session", async () => {
    const user = await registerUser(api);
    const browser = await browserOf(user, { coordinated: false });
    const a = browser.tab();
    const b = browser.tab();

    const results = await Promise.allSettled([a.me.get(), b.me.get()]);
    expect(browser.refreshes()).toBe(2);
    expect(results.some((r) => r.status === "rejected")).toBe(true);
    // The reuse revoked the session, so even the tab whose rotation won is signed out now.
    await expect(a.me.get()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    await expect(b.me.get()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(a.tokens).toBeNull();
    expect(b.tokens).toBeNull();
  });
});
