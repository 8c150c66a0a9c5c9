import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "../../src/client/http";
import {
  ChatApiError,
  createChatClient,
  parseInviteToken,
  type Tokens,
} from "../../src/client/index";

const user = {
  id: "usr_1",
  email: "a@example.test",
  displayName: "Ada",
  isGuest: false,
  createdAt: "2026-01-01T00:00:00.000Z",
  lastSeenAt: null,
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

const unauthorized = () => json(401, { error: { code: "unauthorized", message: "expired" } });

/**
 * A fake API: GET /api/me accepts only the current access token; POST /api/auth/refresh rotates
 * (each refresh token works once), optionally after a delay so concurrent calls overlap.
 */
function fakeApi(opts: { refreshDelayMs?: number; refreshFails?: boolean } = {}) {
  let valid = "t1";
  let validRefresh = "r1";
  let n = 1;
  const calls: string[] = [];
  const fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const auth = new Headers(init?.headers).get("authorization");
    calls.push(`${init?.method} ${url.pathname}`);
    if (url.pathname === "/api/auth/refresh") {
      await new Promise((r) => setTimeout(r, opts.refreshDelayMs ?? 0));
      const body = JSON.parse(String(init?.body)) as { refreshToken: string };
      if (opts.refreshFails || body.refreshToken !== validRefresh) {
        return json(401, { error: { code: "unauthorized", message: "Invalid refresh token" } });
      }
      n++;
      valid = `t${n}`;
      validRefresh = `r${n}`;
      return json(200, { token: valid, refreshToken: validRefresh });
    }
    if (url.pathname === "/api/me") {
      return auth === `Bearer ${valid}` ? json(200, user) : unauthorized();
    }
    return json(404, { error: { code: "not_found", message: "No such route" } });
  };
  return { fetch, calls, refreshes: () => calls.filter((c) => c.endsWith("/auth/refresh")).length };
}

describe("createChatClient over HTTP (fake fetch)", () => {
  it("sends the access token and types the answer", async () => {
    const api = fakeApi();
    const client = createChatClient({
      baseUrl: "http://chat.test/",
      tokens: { token: "t1", refreshToken: "r1" },
      fetch: api.fetch,
    });
    await expect(client.me.get()).resolves.toEqual(user);
    expect(api.refreshes()).toBe(0);
  });

  it("rotates an expired token once and retries, telling the app the new tokens", async () => {
    const api = fakeApi();
    const seen: Array<Tokens | null> = [];
    const client = createChatClient({
      baseUrl: "http://chat.test",
      tokens: { token: "stale", refreshToken: "r1" },
      onTokens: (t) => seen.push(t),
      fetch: api.fetch,
    });
    await expect(client.me.get()).resolves.toEqual(user);
    expect(api.refreshes()).toBe(1);
    expect(seen).toEqual([{ token: "t2", refreshToken: "r2" }]);
    expect(client.tokens).toEqual({ token: "t2", refreshToken: "r2" });
  });

  it("shares one refresh among concurrent calls that all got a 401", async () => {
    const api = fakeApi({ refreshDelayMs: 30 });
    const client = createChatClient({
      baseUrl: "http://chat.test",
      tokens: { token: "stale", refreshToken: "r1" },
      fetch: api.fetch,
    });
    const results = await Promise.all([client.me.get(), client.me.get(), client.me.get()]);
    expect(results).toEqual([user, user, user]);
    expect(api.refreshes(), "a second refresh would reuse r1 and revoke the session").toBe(1);
  });

  it("clears the tokens and rejects with unauthorized when the refresh fails", async () => {
    const api = fakeApi({ refreshFails: true });
    const seen: Array<Tokens | null> = [];
    const client = createChatClient({
      baseUrl: "http://chat.test",
      tokens: { token: "stale", refreshToken: "r1" },
      onTokens: (t) => seen.push(t),
      fetch: api.fetch,
    });
    const err = await client.me.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatApiError);
    expect(err).toMatchObject({ status: 401, code: "unauthorized" });
    expect(seen).toEqual([null]);
    expect(client.tokens).toBeNull();
  });

  it("rejects at once without tokens, with no request made", async () => {
    const api = fakeApi();
    const client = createChatClient({ baseUrl: "http://chat.test", fetch: api.fetch });
    await expect(client.me.get()).rejects.toMatchObject({ code: "unauthorized" });
    expect(api.calls).toEqual([]);
  });

  it("turns the error envelope into a ChatApiError with code, details and Retry-After", async () => {
    const client = createChatClient({
      baseUrl: "http://chat.test",
      tokens: { token: "t", refreshToken: "r" },
      fetch: async () =>
        json(
          429,
          { error: { code: "rate_limited", message: "Too many", details: { n: 1 } } },
          { "retry-after": "3" },
        ),
    });
    await expect(client.rooms.get("room_1")).rejects.toMatchObject({
      name: "ChatApiError",
      status: 429,
      code: "rate_limited",
      message: "Too many",
      details: { n: 1 },
      retryAfterMs: 3000,
    });
  });

  it("reports a network failure as unavailable with status 0, and a foreign error page by its status", async () => {
    const down = createChatClient({
      baseUrl: "http://chat.test",
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
    });
    await expect(down.invites.preview("tok")).rejects.toMatchObject({
      status: 0,
      code: "unavailable",
    });
    const proxy = createChatClient({
      baseUrl: "http://chat.test",
      fetch: async () => new Response("<html>Bad gateway</html>", { status: 502 }),
    });
    await expect(proxy.invites.preview("tok")).rejects.toMatchObject({
      status: 502,
      code: "unavailable",
    });
  });

  it("gives up on a call with no answer after requestTimeoutMs, as unavailable", async () => {
    // A server that never answers, and one that sends headers then stalls mid-body; both honour
    // the abort signal as a real fetch does.
    const silent = async (_url: string, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    const stalled = async (_url: string, init?: RequestInit) =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"room":'));
            init?.signal?.addEventListener("abort", () => controller.error(init.signal?.reason));
          },
        }),
        { status: 200, headers: { "content-type": "application/json" } },
      );
    for (const [fetch, says] of [
      [silent, "no answer within 50 ms"],
      [stalled, "the answer did not arrive within 50 ms"],
    ] as const) {
      const client = createChatClient({ baseUrl: "http://chat.test", fetch, requestTimeoutMs: 50 });
      const started = Date.now();
      const failed = await client.invites.preview("tok").catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(ChatApiError);
      expect(failed).toMatchObject({ status: 0, code: "unavailable" });
      expect((failed as ChatApiError).message).toContain(says);
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });

  it("refuses an answer that doesn't match the shared schema", async () => {
    const client = createChatClient({
      baseUrl: "http://chat.test",
      fetch: async () => json(200, { room: { id: 1 } }),
    });
    await expect(client.invites.preview("tok")).rejects.toMatchObject({ code: "internal" });
  });

  it("stores the tokens of a sign-in and forgets them on logout", async () => {
    const posted: string[] = [];
    const client = createChatClient({
      baseUrl: "http://chat.test",
      fetch: async (input, init) => {
        posted.push(`${new URL(input).pathname} ${String(init?.body ?? "")}`);
        return input.endsWith("/logout")
          ? new Response(null, { status: 204 })
          : json(201, { token: "t", refreshToken: "r", user });
      },
    });
    await client.auth.guest({ displayName: "Ada" });
    expect(client.tokens).toEqual({ token: "t", refreshToken: "r" });
    await client.auth.logout();
    expect(client.tokens).toBeNull();
    expect(posted).toEqual([
      '/api/auth/guest {"displayName":"Ada"}',
      '/api/auth/logout {"refreshToken":"r"}',
    ]);
  });

  it("builds the QR code URL under the base URL", () => {
    const client = createChatClient({ baseUrl: "https://chat.test/prefix/" });
    expect(client.invites.qrCodeUrl("a_b-c")).toBe(
      "https://chat.test/prefix/api/invites/a_b-c/qr.svg",
    );
  });
});

describe("parseInviteToken and parseRetryAfter", () => {
  it("finds the token in a join link, a query, a fragment or on its own", () => {
    expect(parseInviteToken("https://chat.test/join#abc_DEF-1")).toBe("abc_DEF-1");
    expect(parseInviteToken("https://chat.test/join?invite=xyz")).toBe("xyz");
    expect(parseInviteToken("  #tok123 ")).toBe("tok123");
    expect(parseInviteToken("tok123")).toBe("tok123");
    expect(parseInviteToken("not a token")).toBeNull();
    expect(parseInviteToken("")).toBeNull();
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});
