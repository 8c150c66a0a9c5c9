import { describe, expect, it } from "vitest";
import { ChatApiError } from "../../src/client/errors";
import { Outbox } from "../../src/client/outbox";
import { TypingThrottle } from "../../src/client/typing";
import type { Message } from "../../src/shared/api";

const stored = (seq: number, clientId: string): Message => ({
  id: `msg_${seq}`,
  seq,
  roomId: "room_1",
  authorId: "usr_me",
  authorName: "Me",
  content: `m${seq}`,
  clientId,
  replyTo: null,
  createdAt: new Date(0).toISOString(),
  editedAt: null,
  deletedAt: null,
});

describe("Outbox", () => {
  it("re-sends every unacked message on a new socket, in send order, and never an acked one", () => {
    const box = new Outbox();
    void box.add({ clientId: "a", content: "1", replyTo: null, now: 1 });
    void box.add({ clientId: "b", content: "2", replyTo: 1, now: 2 });
    void box.add({ clientId: "c", content: "3", replyTo: null, now: 3 });
    for (const e of box.unsent()) {
      box.markSent(e.clientId);
    }
    box.ack("b", 7);
    // The socket dropped: a and c may or may not have reached the server.
    box.markAllQueued();
    expect(box.unsent().map((e) => [e.clientId, e.state])).toEqual([
      ["a", "queued"],
      ["c", "queued"],
    ]);
    expect(box.awaitingMessage().map((e) => e.seq)).toEqual([7]);
  });

  it("resolves with the stored message once it is seen, found by clientId or by the acked seq", async () => {
    const box = new Outbox();
    const a = box.add({ clientId: "a", content: "1", replyTo: null, now: 1 });
    const b = box.add({ clientId: "b", content: "2", replyTo: null, now: 2 });
    box.ack("b", 9);
    const timeline = new Map([[9, stored(9, "b")]]);
    const byClient = new Map([["a", stored(4, "a")]]);
    const done = box.settle(
      (e) => byClient.get(e.clientId) ?? (e.seq === null ? undefined : timeline.get(e.seq)),
    );
    expect(done).toEqual(["a", "b"]);
    await expect(a).resolves.toMatchObject({ seq: 4, clientId: "a" });
    await expect(b).resolves.toMatchObject({ seq: 9, clientId: "b" });
    expect(box.size).toBe(0);
  });

  it("rejects only the message an error frame names, with the error's code and retry delay", async () => {
    const box = new Outbox();
    const a = box.add({ clientId: "a", content: "1", replyTo: null, now: 1 });
    void box.add({ clientId: "b", content: "2", replyTo: null, now: 2 });
    const err = new ChatApiError({
      status: 429,
      code: "rate_limited",
      message: "slow down",
      retryAfterMs: 1500,
    });
    expect(box.fail("a", err)).toBe(true);
    expect(box.fail("zzz", err), "another tab's clientId is not ours").toBe(false);
    await expect(a).rejects.toMatchObject({ code: "rate_limited", retryAfterMs: 1500 });
    expect(box.pending.map((e) => e.clientId)).toEqual(["b"]);
  });

  it("ignores an ack for a clientId it never sent", () => {
    const box = new Outbox();
    expect(box.ack("other-tab", 3)).toBe(false);
  });

  it("rejects everything when the room closes for good", async () => {
    const box = new Outbox();
    const a = box.add({ clientId: "a", content: "1", replyTo: null, now: 1 });
    box.failAll(new ChatApiError({ status: 403, code: "forbidden", message: "kicked" }));
    await expect(a).rejects.toBeInstanceOf(ChatApiError);
    expect(box.size).toBe(0);
  });
});

describe("TypingThrottle", () => {
  it("sends at most one typing frame per refresh interval while typing goes on", () => {
    const t = new TypingThrottle(3000);
    const sentAt = [0, 500, 1000, 2999, 3000, 3100, 5999, 6000].filter((now) => t.input(now));
    expect(sentAt).toEqual([0, 3000, 6000]);
  });

  it("sends a stop only when a start went out, and a send resets it without a frame", () => {
    const t = new TypingThrottle(3000);
    expect(t.stop()).toBe(false);
    t.input(0);
    expect(t.active).toBe(true);
    expect(t.stop()).toBe(true);
    expect(t.stop()).toBe(false);
    t.input(10);
    t.sent();
    expect(t.active).toBe(false);
    expect(t.input(20), "typing again right after a send starts a new indicator").toBe(true);
  });
});
