import { describe, expect, it } from "vitest";
import {
  buildUpgradeRequest,
  callWithRetries,
  isRetryable,
  readUpgradeContext,
  UPGRADE_CONTEXT_HEADER,
  type UpgradeContext,
} from "../../src/chat/room-stub";

const ctx: UpgradeContext = {
  user: { id: "usr_real", displayName: "Zoë ✨", isGuest: false, sessionId: "ses_1" },
  role: "member",
  joinedAt: 1_700_000_000_000,
  room: {
    id: "room_1",
    name: "Café",
    isPrivate: true,
    ownerId: "usr_owner",
    createdAt: "2026-11-21T10:00:00.000Z",
    memberCount: 3,
  },
  since: 12,
  epoch: "e-1",
};

describe("the forwarded upgrade", () => {
  const incoming = new Request("https://chat.example/api/rooms/room_1/ws?ticket=secret&since=12", {
    headers: {
      upgrade: "websocket",
      authorization: "Bearer token",
      "X-Chat-Context": "forged",
      "x-chat-user-id": "usr_owner",
      "X-CHAT-ROLE": "owner",
      "sec-websocket-key": "abc",
    },
  });
  const forwarded = buildUpgradeRequest(incoming, ctx);

  it("drops every client X-Chat-* header and the Authorization header, keeping the handshake", () => {
    const names = [...forwarded.headers.keys()];
    expect(names.filter((n) => n.startsWith("x-chat-"))).toEqual(["x-chat-context"]);
    expect(forwarded.headers.get("authorization")).toBeNull();
    expect(forwarded.headers.get("upgrade")).toBe("websocket");
    expect(forwarded.headers.get("sec-websocket-key")).toBe("abc");
  });

  it("leaves the query (ticket, since) behind", () => {
    expect(new URL(forwarded.url).search).toBe("");
  });

  it("carries the verified context, non-Latin-1 names included, for the room to read back", () => {
    expect(readUpgradeContext(forwarded)).toEqual(ctx);
  });

  it("reads nothing from a missing or malformed context", () => {
    expect(readUpgradeContext(new Request("https://x/"))).toBeNull();
    for (const bad of ["%E0%A4%A", "not json", encodeURIComponent('{"user":{}}')]) {
      const req = new Request("https://x/", { headers: { [UPGRADE_CONTEXT_HEADER]: bad } });
      expect(readUpgradeContext(req)).toBeNull();
    }
  });
});

/** An error as the runtime throws it for a failed Durable Object call. */
function doError(flags: { retryable?: boolean; overloaded?: boolean }): Error {
  return Object.assign(new Error("Durable Object call failed"), flags);
}

describe("room calls after a committed change", () => {
  const noWait = { attempts: 3, backoffMs: 100 };

  it("retries a transient failure on a fresh call and returns the result", async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await callWithRetries(
      async () => {
        calls++;
        if (calls < 3) {
          throw doError({ retryable: true });
        }
        return "closed";
      },
      { ...noWait, sleep: async (ms) => void delays.push(ms) },
    );
    expect(result).toBe("closed");
    expect(calls).toBe(3);
    // 100 ms then 200 ms, each with ±50% jitter
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[0]).toBeLessThan(150);
    expect(delays[1]).toBeGreaterThanOrEqual(100);
    expect(delays[1]).toBeLessThan(300);
  });

  it("gives up after the last attempt with the last error", async () => {
    let calls = 0;
    const failing = callWithRetries(
      async () => {
        calls++;
        throw doError({ retryable: true });
      },
      { ...noWait, sleep: async () => {} },
    );
    await expect(failing).rejects.toThrow("Durable Object call failed");
    expect(calls).toBe(3);
  });

  it("does not retry an overloaded object, a permanent error or a bug", async () => {
    for (const err of [
      doError({ retryable: true, overloaded: true }),
      doError({ retryable: false }),
      new TypeError("x is not a function"),
    ]) {
      let calls = 0;
      const once = callWithRetries(
        async () => {
          calls++;
          throw err;
        },
        { ...noWait, sleep: async () => {} },
      );
      await expect(once).rejects.toBe(err);
      expect(calls).toBe(1);
    }
    expect(isRetryable("retryable")).toBe(false);
    expect(isRetryable(null)).toBe(false);
  });
});
