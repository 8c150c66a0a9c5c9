import { describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api";
import { addMember, createRoom, registerUser } from "../helpers/factories";
import { useService } from "../helpers/service";
import { connect, expectSilence, postMessage, sendAcked, sleep } from "./chat-helpers";

// MESSAGE_RATE_LIMIT per MESSAGE_RATE_WINDOW_MS per user per room, shared by WS and HTTP, derived
// from stored rows so it binds across hibernation and restarts. Set small here through vars.

const LIMIT = 3;
const WINDOW_MS = 3000;
const service = useService({
  AUTH_RATE_LIMIT: "100000",
  MESSAGE_RATE_LIMIT: String(LIMIT),
  MESSAGE_RATE_WINDOW_MS: String(WINDOW_MS),
});
const api = apiClient(service);

async function setup() {
  const ada = await registerUser(api);
  const bo = await registerUser(api);
  const room = await createRoom(api, ada, { isPrivate: true });
  await addMember(api, room, ada, bo);
  return { ada, bo, room };
}

const stored = async (roomId: string, token: string) =>
  (await api("GET", `/api/rooms/${roomId}/messages`, { token })).body.messages.length as number;

describe("the message rate limit", () => {
  it("refuses the send over the limit with rate_limited and retryAfterMs, storing and broadcasting nothing", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    for (let i = 0; i < LIMIT; i++) {
      expect((await sendAcked(a.socket, `m${i}`)).type).toBe("ack");
    }
    const over = await sendAcked(a.socket, "one too many", "over-1");
    expect(over).toMatchObject({ type: "error", code: "rate_limited", clientId: "over-1" });
    expect(over.retryAfterMs).toBeGreaterThan(0);
    expect(over.retryAfterMs).toBeLessThanOrEqual(WINDOW_MS);
    await expectSilence(
      b.socket,
      (f) => f.type === "receive_message" && f.message.clientId === "over-1",
      300,
      "broadcast of the refused message",
    );
    expect(await stored(room.id, ada.token)).toBe(LIMIT);
    // Other users, and the same user in another room, have their own windows.
    expect((await sendAcked(b.socket, "bo is fine")).type).toBe("ack");
    const other = await createRoom(api, ada);
    expect((await postMessage(api, other.id, ada, { content: "other room" })).status).toBe(201);
    // After retryAfterMs the user may send again.
    await sleep(over.retryAfterMs + 50);
    expect((await sendAcked(a.socket, "after waiting")).type).toBe("ack");
    a.socket.close();
    b.socket.close();
  });

  it("is shared by WS and HTTP sends: 429 with Retry-After over HTTP", async () => {
    const { ada, room } = await setup();
    const a = await connect(service, room.id, ada);
    await sendAcked(a.socket, "ws 1");
    expect((await postMessage(api, room.id, ada, { content: "http 1" })).status).toBe(201);
    await sendAcked(a.socket, "ws 2");
    const res = await postMessage(api, room.id, ada, { content: "http over", clientId: "h-over" });
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe("rate_limited");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(Math.ceil(WINDOW_MS / 1000));
    expect((await sendAcked(a.socket, "ws over")).code).toBe("rate_limited");
    expect(await stored(room.id, ada.token)).toBe(LIMIT);
    a.socket.close();
  });

  it("still acks a retry of a stored clientId while the sender is limited", async () => {
    const { ada, room } = await setup();
    const a = await connect(service, room.id, ada);
    const first = await sendAcked(a.socket, "first", "keep-1");
    await sendAcked(a.socket, "2");
    await sendAcked(a.socket, "3");
    expect(await sendAcked(a.socket, "first again", "keep-1")).toEqual(first);
    a.socket.close();
  });

  it("still binds after the room hibernates and after it restarts", async () => {
    const { ada, room } = await setup();
    const a = await connect(service, room.id, ada);
    for (let i = 0; i < LIMIT; i++) {
      await sendAcked(a.socket, `m${i}`);
    }
    await service.evictRoom(room.id, "hibernate");
    expect((await sendAcked(a.socket, "after hibernation")).code).toBe("rate_limited");
    await service.evictRoom(room.id, "close");
    expect(await a.socket.closed(5000)).toBeGreaterThan(0);
    expect((await postMessage(api, room.id, ada, { content: "after restart" })).status).toBe(429);
  });

  it("counts edits and own deletes too (WS and HTTP), but not an admin deleting someone else's message", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    const mine = await sendAcked(b.socket, "tpyo");
    b.socket.send({ type: "edit_message", seq: mine.seq, content: "typo" });
    expect(await a.socket.next("message_updated")).toMatchObject({ message: { content: "typo" } });
    // Bo's third action in the window: an edit over HTTP.
    const edit = await api("PATCH", `/api/rooms/${room.id}/messages/${mine.seq}`, {
      token: bo.token,
      json: { content: "typo fixed" },
    });
    expect(edit.status).toBe(200);
    // The fourth, whatever its kind, is refused and changes nothing.
    b.socket.send({ type: "edit_message", seq: mine.seq, content: "one edit too many" });
    expect(await b.socket.next("error")).toMatchObject({ code: "rate_limited" });
    const del = await api("DELETE", `/api/rooms/${room.id}/messages/${mine.seq}`, {
      token: bo.token,
    });
    expect(del.status).toBe(429);
    expect(Number(del.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await expectSilence(
      a.socket,
      (f) => f.type === "message_updated" && f.message.content !== "typo fixed",
      300,
      "a change over the limit",
    );
    // Ada (owner) moderates a flood: deleting Bo's messages is not charged to her.
    await sleep(WINDOW_MS + 50);
    const flood = [];
    for (let i = 0; i < LIMIT; i++) {
      flood.push(await sendAcked(b.socket, `spam ${i}`));
    }
    for (const m of [mine, ...flood]) {
      a.socket.send({ type: "delete_message", seq: m.seq });
      const deleted = await a.socket.next(
        (f) => f.type === "message_updated" && f.message.seq === m.seq && f.message.deletedAt,
        3000,
        `ada's delete of ${m.seq}`,
      );
      expect(deleted.message.content).toBe("");
    }
    expect((await sendAcked(a.socket, "ada can still talk")).type).toBe("ack");
    a.socket.close();
    b.socket.close();
  });
});
