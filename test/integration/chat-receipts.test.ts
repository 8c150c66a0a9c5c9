import { describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api";
import { adaAndBoInRoom, type TestUser } from "../helpers/factories";
import { useService } from "../helpers/service";
import { connect, expectSilence, postMessage, sendAcked } from "./chat-helpers";

// Per-user watermarks that only go up (delivered >= read), broadcast when they move, and the
// unread counts GET /api/rooms shows from them.

const service = useService({
  AUTH_RATE_LIMIT: "100000",
  MESSAGE_RATE_LIMIT: "1000",
});
const api = apiClient(service);

const setup = () => adaAndBoInRoom(api);

async function myRoom(user: TestUser, roomId: string) {
  const res = await api("GET", "/api/rooms", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.items.find((i: { room: { id: string } }) => i.room.id === roomId);
}

const receipt = (f: { type: string }) => f.type === "receipt";

describe("receipts", () => {
  it("moves watermarks with read and delivered frames and broadcasts each move once", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    for (let i = 0; i < 4; i++) {
      await sendAcked(a.socket, `m${i}`);
    }
    b.socket.send({ type: "delivered", seq: 3 });
    expect(await a.socket.next(receipt, 3000, "delivered receipt")).toEqual({
      type: "receipt",
      userId: bo.id,
      kind: "delivered",
      seq: 3,
    });
    b.socket.send({ type: "read", seq: 2 });
    expect(await a.socket.next(receipt, 3000, "read receipt")).toMatchObject({
      kind: "read",
      seq: 2,
    });
    // Going down, repeating, or delivered below read moves nothing and broadcasts nothing.
    b.socket.send({ type: "read", seq: 1 });
    b.socket.send({ type: "read", seq: 2 });
    b.socket.send({ type: "delivered", seq: 1 });
    await expectSilence(a.socket, receipt, 300, "a receipt for a watermark that did not move");
    // Reading past delivered moves both; a seq beyond the last one is clamped to it.
    b.socket.send({ type: "read", seq: 99 });
    const moved = [await a.socket.next(receipt), await a.socket.next(receipt)];
    expect(moved.map((f) => [f.kind, f.seq])).toEqual([
      ["delivered", 4],
      ["read", 4],
    ]);
    b.socket.close();
    const again = await connect(service, room.id, bo);
    expect(again.ready.readSeq).toBe(4);
    again.socket.close();
    a.socket.close();
  });

  it("moves watermarks over HTTP too, answering the watermarks now", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    await sendAcked(a.socket, "one");
    await sendAcked(a.socket, "two");
    const res = await api("POST", `/api/rooms/${room.id}/receipts`, {
      token: bo.token,
      json: { kind: "read", seq: 1 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deliveredSeq: 1, readSeq: 1 });
    expect(await a.socket.next((f) => receipt(f) && f.kind === "read")).toMatchObject({
      userId: bo.id,
      seq: 1,
    });
    const bad = await api("POST", `/api/rooms/${room.id}/receipts`, {
      token: bo.token,
      json: { kind: "seen", seq: 1 },
    });
    expect(bad.status).toBe(400);
    a.socket.close();
  });

  it("counts others' unread live messages in GET /api/rooms, with the last message", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    for (let i = 1; i <= 3; i++) {
      await sendAcked(a.socket, `news ${i}`);
    }
    const doomed = await sendAcked(a.socket, "deleted soon");
    a.socket.send({ type: "delete_message", seq: doomed.seq });
    await a.socket.next("message_updated");
    let entry = await myRoom(bo, room.id);
    expect(entry.unreadCount).toBe(3);
    expect(entry.lastMessage).toMatchObject({
      seq: doomed.seq,
      content: "",
      deletedAt: expect.any(String),
    });
    // Sending moves your own read watermark: your own messages are never unread.
    expect((await myRoom(ada, room.id)).unreadCount).toBe(0);
    const sent = await postMessage(api, room.id, bo, { content: "bo replies" });
    expect(sent.status).toBe(201);
    entry = await myRoom(bo, room.id);
    expect(entry.unreadCount).toBe(0);
    expect(entry.lastMessage).toMatchObject({ content: "bo replies", authorId: bo.id });
    expect((await myRoom(ada, room.id)).unreadCount).toBe(1);
    a.socket.close();
  });
});
