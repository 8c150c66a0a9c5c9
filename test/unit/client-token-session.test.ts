import { describe, expect, it } from "vitest";
import { type RefreshLock, TokenSession, type Tokens } from "../../src/client/auth";
import { ChatApiError } from "../../src/client/errors";

// TokenSession across contexts: "tabs" are TokenSession instances sharing one fake store (the
// localStorage the web app uses) and, when coordinated, one async mutex (navigator.locks).

/**
 * The server's side of refresh: each refresh token works once, after a short delay so that
 * concurrent refreshes overlap; presenting a rotated-away one revokes the session (reuse).
 */
function fakeServer() {
  let valid: string | null = "r1";
  let n = 1;
  const presented: string[] = [];
  const rotate = async (refreshToken: string): Promise<Tokens> => {
    presented.push(refreshToken);
    await new Promise((r) => setTimeout(r, 5));
    if (valid === null || refreshToken !== valid) {
      valid = null; // reuse: the whole session ends
      throw new ChatApiError({
        status: 401,
        code: "unauthorized",
        message: "Invalid refresh token",
      });
    }
    n++;
    valid = `r${n}`;
    return { token: `t${n}`, refreshToken: valid };
  };
  return {
    rotate,
    presented,
    revoked: () => valid === null,
    revoke: () => {
      valid = null;
    },
  };
}

/** An async mutex: each fn starts once the previous one settled. */
function mutex(): RefreshLock & { held: () => boolean } {
  let tail: Promise<unknown> = Promise.resolve();
  let holders = 0;
  const lock = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(async () => {
      holders++;
      try {
        return await fn();
      } finally {
        holders--;
      }
    });
    tail = run.catch(() => undefined);
    return run;
  };
  return Object.assign(lock, { held: () => holders > 0 });
}

/** Shared storage plus a factory of tabs over it, each recording what its onTokens saw. */
function browser(opts: { coordinated: boolean | "lock only" }) {
  const server = fakeServer();
  const store: { tokens: Tokens | null } = { tokens: { token: "t1", refreshToken: "r1" } };
  const lock = mutex();
  const tab = () => {
    const seen: Array<Tokens | null> = [];
    const session = new TokenSession(
      store.tokens,
      (t) => {
        seen.push(t);
        store.tokens = t;
      },
      server.rotate,
      opts.coordinated === "lock only"
        ? { refreshLock: lock }
        : opts.coordinated
          ? { refreshLock: lock, loadTokens: () => store.tokens }
          : undefined,
    );
    return { session, seen };
  };
  return { server, store, lock, tab };
}

describe("TokenSession shared by tabs (refreshLock + loadTokens)", () => {
  it("rotates once when two tabs need a refresh at the same time; both end with the new pair", async () => {
    const { server, store, tab } = browser({ coordinated: true });
    const a = tab();
    const b = tab();
    // Both access tokens expired together, and each tab has two calls waiting on a refresh.
    const tokens = await Promise.all([
      a.session.freshTokenAfter("t1"),
      b.session.freshTokenAfter("t1"),
      a.session.freshTokenAfter("t1"),
      b.session.freshTokenAfter("t1"),
    ]);
    expect(tokens).toEqual(["t2", "t2", "t2", "t2"]);
    expect(server.presented).toEqual(["r1"]);
    expect(server.revoked()).toBe(false);
    const fresh = { token: "t2", refreshToken: "r2" };
    expect(a.session.tokens).toEqual(fresh);
    expect(b.session.tokens).toEqual(fresh);
    expect(store.tokens).toEqual(fresh);
    // The tab that rotated and the tab that adopted both told their app.
    expect(a.seen).toEqual([fresh]);
    expect(b.seen).toEqual([fresh]);

    // The session lives on: the next expiry rotates r2, once again.
    await Promise.all([b.session.freshTokenAfter("t2"), a.session.freshTokenAfter("t2")]);
    expect(server.presented).toEqual(["r1", "r2"]);
    expect(a.session.tokens).toEqual({ token: "t3", refreshToken: "r3" });
    expect(b.session.tokens).toEqual(a.session.tokens);
  });

  it("adopts a pair another tab stored and does not call rotate", async () => {
    const { server, store, tab } = browser({ coordinated: true });
    const a = tab();
    store.tokens = { token: "t9", refreshToken: "r9" }; // rotated elsewhere; no storage event yet
    await expect(a.session.freshTokenAfter("t1")).resolves.toBe("t9");
    expect(server.presented).toEqual([]);
    expect(a.session.tokens).toEqual({ token: "t9", refreshToken: "r9" });
    expect(a.seen).toEqual([{ token: "t9", refreshToken: "r9" }]);
  });

  it("rotates a stored pair that holds only a refresh token", async () => {
    const { server, store, tab } = browser({ coordinated: true });
    store.tokens = { token: "t0", refreshToken: "r0" };
    const a = tab(); // holds an older pair
    store.tokens = { token: "", refreshToken: "r1" }; // another tab persisted just a refresh token
    await expect(a.session.freshTokenAfter("t0")).resolves.toBe("t2");
    expect(server.presented).toEqual(["r1"]);
    expect(a.session.tokens).toEqual({ token: "t2", refreshToken: "r2" });
  });

  it("uses tokens this tab was given while it waited for the lock (the storage event)", async () => {
    // Without loadTokens, so only what the tab itself holds can tell it not to rotate.
    const { server, lock, tab } = browser({ coordinated: "lock only" });
    const a = tab();
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    void lock(() => held); // another tab is refreshing
    const pending = a.session.freshTokenAfter("t1");
    a.session.set({ token: "t5", refreshToken: "r5" });
    release();
    await expect(pending).resolves.toBe("t5");
    expect(server.presented).toEqual([]);
  });

  it("rejects with unauthorized and rotates nothing when this tab signed out while waiting", async () => {
    const { server, lock, tab } = browser({ coordinated: true });
    const a = tab();
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    void lock(() => held);
    const pending = a.session.freshTokenAfter("t1");
    a.session.set(null);
    release();
    await expect(pending).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(server.presented).toEqual([]);
  });

  it("goes ahead with the refresh when nothing is stored (storage unreadable)", async () => {
    const { server, store, tab } = browser({ coordinated: true });
    const a = tab();
    store.tokens = null;
    await expect(a.session.freshTokenAfter("t1")).resolves.toBe("t2");
    expect(server.presented).toEqual(["r1"]);
  });

  it("signs both tabs out when the server refuses the refresh, and frees the lock", async () => {
    const { server, store, lock, tab } = browser({ coordinated: true });
    const a = tab();
    const b = tab();
    server.revoke(); // e.g. signed out on another device
    const results = await Promise.allSettled([
      a.session.freshTokenAfter("t1"),
      b.session.freshTokenAfter("t1"),
    ]);
    for (const r of results) {
      expect(r).toMatchObject({ status: "rejected", reason: { code: "unauthorized" } });
    }
    expect(a.session.tokens).toBeNull();
    expect(b.session.tokens).toBeNull();
    expect(store.tokens).toBeNull();
    expect(lock.held()).toBe(false);
  });
});

describe("TokenSession without refreshLock/loadTokens (unchanged)", () => {
  it("still runs one refresh for concurrent calls within a page", async () => {
    const { server, tab } = browser({ coordinated: false });
    const a = tab();
    const tokens = await Promise.all([
      a.session.freshTokenAfter("t1"),
      a.session.freshTokenAfter("t1"),
      a.session.accessToken(),
    ]);
    expect(tokens).toEqual(["t2", "t2", "t1"]);
    expect(server.presented).toEqual(["r1"]);
    expect(a.seen).toEqual([{ token: "t2", refreshToken: "r2" }]);
  });

  it("lets two tabs present the same refresh token, which the server treats as reuse", async () => {
    const { server, tab } = browser({ coordinated: false });
    const a = tab();
    const b = tab();
    const results = await Promise.allSettled([
      a.session.freshTokenAfter("t1"),
      b.session.freshTokenAfter("t1"),
    ]);
    // This is the bug the hook exists for: both tabs rotated r1, so the session was revoked.
    expect(server.presented).toEqual(["r1", "r1"]);
    expect(server.revoked()).toBe(true);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
  });

  it("keeps the tokens on a network error and clears them on 401", async () => {
    const store: { tokens: Tokens | null } = { tokens: null };
    let fail: ChatApiError = new ChatApiError({
      status: 0,
      code: "unavailable",
      message: "offline",
    });
    const session = new TokenSession(
      { token: "t1", refreshToken: "r1" },
      (t) => {
        store.tokens = t;
      },
      async () => {
        throw fail;
      },
    );
    await expect(session.freshTokenAfter("t1")).rejects.toMatchObject({ code: "unavailable" });
    expect(session.tokens).toEqual({ token: "t1", refreshToken: "r1" });
    fail = new ChatApiError({ status: 401, code: "unauthorized", message: "revoked" });
    await expect(session.freshTokenAfter("t1")).rejects.toMatchObject({ code: "unauthorized" });
    expect(session.tokens).toBeNull();
  });
});
