import { describe, expect, it } from "vitest";
import { ChatApiError, createChatClient } from "../../src/client/index";
import { apiClient } from "../helpers/api";
import { registerUser, uniq } from "../helpers/factories";
import { useService } from "../helpers/service";

// rate_limited surfaces as a ChatApiError with retryAfterMs, over the socket and over HTTP.

const service = useService({
  AUTH_RATE_LIMIT: "1000000",
  MESSAGE_RATE_LIMIT: "2",
  MESSAGE_RATE_WINDOW_MS: "10000",
});
const api = apiClient(service);

describe("rate limits through the SDK", () => {
  it("rejects the send over the limit with rate_limited and retryAfterMs, and stores only the others", async () => {
    const user = await registerUser(api, `Sender ${uniq()}`);
    const client = createChatClient({
      baseUrl: service.url,
      tokens: { token: user.token, refreshToken: user.refreshToken },
    });
    const { id } = await client.rooms.create({ name: `Limits ${uniq()}`, isPrivate: false });
    const room = client.room(id, { minReconnectDelayMs: 100 });
    await room.whenOpen(10_000);

    const results = await Promise.allSettled([
      room.send("one"),
      room.send("two"),
      room.send("three"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    const reason = (results[2] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(ChatApiError);
    expect(reason).toMatchObject({ status: 429, code: "rate_limited" });
    expect((reason as ChatApiError).retryAfterMs).toBeGreaterThan(0);
    expect((reason as ChatApiError).retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(room.pending, "a refused send leaves the outbox").toEqual([]);
    expect(room.status, "the socket stays open").toBe("open");

    const page = await client.messages.list(id);
    expect(page.messages.map((m) => m.content)).toEqual(["one", "two"]);

    // Over HTTP, the same limit answers 429 with Retry-After, read into retryAfterMs.
    const http = await client.messages.send(id, { content: "four" }).catch((e: unknown) => e);
    expect(http).toMatchObject({ status: 429, code: "rate_limited" });
    expect((http as ChatApiError).retryAfterMs).toBeGreaterThanOrEqual(1000);
    client.close();
  });
});
