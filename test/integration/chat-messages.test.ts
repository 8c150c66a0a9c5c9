import { describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api";
import { adaAndBoInRoom, type TestUser } from "../helpers/factories";
import { useService } from "../helpers/service";
import {
  connect,
  expectSilence,
  framesOf,
  postMessage,
  sendAcked,
  timelineSeqs,
  waitFor,
} from "./chat-helpers";

// Sending, editing and deleting over the socket: stored first, then acked and broadcast in seq
// order; retries stored once; invalid frames answered without closing the socket.

const service = useService({
  AUTH_RATE_LIMIT: "100000",
  MESSAGE_RATE_LIMIT: "1000",
});
const api = apiClient(service);

const roomWithTwo = (isPrivate = true) => adaAndBoInRoom(api, { isPrivate });

const history = async (roomId: string, user: TestUser) =>
  (await api("GET", `/api/rooms/${roomId}/messages?limit=200`, { token: user.token })).body;

describe("send_message", () => {
  it("acks the sender, then delivers receive_message to every socket, the sender's included, in seq order", async () => {
    const { ada, bo, room } = await roomWithTwo();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    const acks = [];
    for (let i = 1; i <= 5; i++) {
      acks.push(await sendAcked(a.socket, `hello ${i}`, `c-${i}`));
    }
    expect(acks.map((f) => [f.type, f.clientId, f.seq])).toEqual(
      [1, 2, 3, 4, 5].map((i) => ["ack", `c-${i}`, i]),
    );
    for (const s of [a.socket, b.socket]) {
      await waitFor(
        () => (timelineSeqs(s).length >= 5 ? true : undefined),
        5000,
        "5 receive_message frames",
      );
      expect(timelineSeqs(s)).toEqual([1, 2, 3, 4, 5]);
    }
    const first = framesOf(b.socket, "receive_message")[0];
    expect(first?.message).toMatchObject({
      seq: 1,
      roomId: room.id,
      authorId: ada.id,
      authorName: "Ada",
      content: "hello 1",
      clientId: "c-1",
      replyTo: null,
      editedAt: null,
      deletedAt: null,
    });
    // The ack comes before the sender's own copy.
    const kinds = a.socket.frames
      .map((f) => f.type)
      .filter((t) => t === "ack" || t === "receive_message");
    expect(kinds.slice(0, 2)).toEqual(["ack", "receive_message"]);
    a.socket.close();
    b.socket.close();
  });

  it("stores a clientId once across WS, HTTP and a restart: same id and seq, broadcast once", async () => {
    const { ada, bo, room } = await roomWithTwo();
    const b = await connect(service, room.id, bo);
    const a = await connect(service, room.id, ada);
    const first = await sendAcked(a.socket, "only once", "dup-1");
    const again = await sendAcked(a.socket, "different text, same id", "dup-1");
    expect(again).toEqual(first);
    const http = await postMessage(api, room.id, ada, { content: "http retry", clientId: "dup-1" });
    expect(http.status).toBe(200);
    expect(http.body).toMatchObject({ id: first.id, seq: first.seq, content: "only once" });
    a.socket.close();
    await service.evictRoom(room.id, "close");
    const a2 = await connect(service, room.id, ada);
    const afterRestart = await sendAcked(a2.socket, "after restart", "dup-1");
    expect(afterRestart).toEqual(first);
    // Another author may use the same clientId: that's a different message.
    const b2 = await connect(service, room.id, bo);
    const other = await sendAcked(b2.socket, "bo's own", "dup-1");
    expect(other.seq).toBe(first.seq + 1);
    const msgs = (await history(room.id, ada)).messages;
    expect(msgs.filter((m: { clientId: string }) => m.clientId === "dup-1")).toHaveLength(2);
    // Bo's first socket (closed by the restart) saw exactly one receive_message for it.
    expect(
      framesOf(b.socket, "receive_message").filter((f) => f.message.id === first.id),
    ).toHaveLength(1);
    expect(await b.socket.closed(5000)).toBeGreaterThan(0);
    a2.socket.close();
    b2.socket.close();
  });

  it("accepts a replyTo that names a message of the room and refuses one that does not", async () => {
    const { ada, room } = await roomWithTwo();
    const { socket } = await connect(service, room.id, ada);
    const root = await sendAcked(socket, "root");
    const reply = await sendAcked(socket, "reply", "r-1", { replyTo: root.seq });
    expect(reply.type).toBe("ack");
    const stored = await socket.next(
      (f) => f.type === "receive_message" && f.message.clientId === "r-1",
    );
    expect(stored.message.replyTo).toBe(root.seq);
    const bad = await sendAcked(socket, "reply to nothing", "r-2", { replyTo: 999 });
    expect(bad).toMatchObject({ type: "error", code: "validation_failed", clientId: "r-2" });
    expect((await history(room.id, ada)).messages).toHaveLength(2);
    socket.close();
  });

  it("answers bad JSON, unknown types, invalid fields and oversized frames with error, keeping the socket open", async () => {
    const { ada, room } = await roomWithTwo();
    const { socket } = await connect(service, room.id, ada);
    const cases: [unknown, string][] = [
      ["{not json", "validation_failed"],
      [{ type: "shout" }, "validation_failed"],
      [{ type: "send_message", content: "", clientId: "e-1" }, "validation_failed"],
      [{ type: "send_message", content: "a\u0000b", clientId: "e-2" }, "validation_failed"],
      [{ type: "send_message", content: "x".repeat(4001), clientId: "e-3" }, "validation_failed"],
      [{ type: "read", seq: -1 }, "validation_failed"],
      [{ type: "typing", isTyping: true, pad: "x".repeat(17 * 1024) }, "payload_too_large"],
    ];
    for (const [frame, code] of cases) {
      socket.send(frame);
      const err = await socket.next(
        "error",
        3000,
        `error for ${JSON.stringify(frame).slice(0, 40)}`,
      );
      expect(err.code).toBe(code);
    }
    expect(framesOf(socket, "error").find((f) => f.clientId === "e-2")).toBeDefined();
    const ok = await sendAcked(socket, "still open");
    expect(ok.type).toBe("ack");
    expect(socket.closeCode).toBeNull();
    socket.close();
  });

  it("ignores unknown fields in a valid frame", async () => {
    const { ada, room } = await roomWithTwo();
    const { socket } = await connect(service, room.id, ada);
    const ack = await sendAcked(socket, "with extras", "x-1", { futureField: { nested: true } });
    expect(ack.type).toBe("ack");
    socket.close();
  });

  it("closes a socket that keeps sending invalid frames with 4008", async () => {
    const { ada, room } = await roomWithTwo();
    const { socket } = await connect(service, room.id, ada);
    for (let i = 0; i < 12; i++) {
      socket.send("nonsense");
    }
    expect(await socket.closed(5000)).toBe(4008);
    expect(framesOf(socket, "error").length).toBeGreaterThanOrEqual(10);
  });
});

describe("edit_message and delete_message", () => {
  it("lets the author edit: a new seq and message_updated to everyone", async () => {
    const { ada, bo, room } = await roomWithTwo();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    const sent = await sendAcked(a.socket, "typo");
    a.socket.send({ type: "edit_message", seq: sent.seq, content: "fixed" });
    for (const s of [a.socket, b.socket]) {
      const upd = await s.next("message_updated", 3000, "message_updated after the edit");
      expect(upd.seq).toBe(sent.seq + 1);
      expect(upd.message).toMatchObject({
        seq: sent.seq,
        content: "fixed",
        editedAt: expect.any(String),
      });
    }
    b.socket.send({ type: "edit_message", seq: sent.seq, content: "hijack" });
    expect(await b.socket.next("error")).toMatchObject({ code: "forbidden" });
    b.socket.send({ type: "edit_message", seq: 999, content: "nothing" });
    expect(await b.socket.next("error")).toMatchObject({ code: "not_found" });
    a.socket.close();
    b.socket.close();
  });

  it("deletes as a tombstone whose text is never served again; admins may delete others' messages", async () => {
    const { ada, bo, room } = await roomWithTwo();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    const mine = await sendAcked(b.socket, "secret of bo");
    const other = await sendAcked(a.socket, "ada's");
    b.socket.send({ type: "delete_message", seq: other.seq });
    expect(await b.socket.next("error")).toMatchObject({ code: "forbidden" });
    a.socket.send({ type: "delete_message", seq: mine.seq }); // ada owns the room
    const upd = await b.socket.next("message_updated", 3000, "the tombstone");
    expect(upd.message).toMatchObject({
      seq: mine.seq,
      content: "",
      deletedAt: expect.any(String),
    });
    a.socket.send({ type: "edit_message", seq: mine.seq, content: "revive" });
    expect(await a.socket.next("error")).toMatchObject({ code: "forbidden" });
    const page = await history(room.id, ada);
    expect(JSON.stringify(page)).not.toContain("secret of bo");
    // A resumed client gets the tombstone, not the text.
    const late = await connect(service, room.id, bo, { since: 0 });
    await waitFor(
      () => (timelineSeqs(late.socket).length >= 3 ? true : undefined),
      3000,
      "replay of 3 events",
    );
    expect(JSON.stringify(late.socket.frames)).not.toContain("secret of bo");
    await expectSilence(
      a.socket,
      (f) => f.type === "message_updated" && f.seq > upd.seq,
      200,
      "extra updates",
    );
    for (const s of [a.socket, b.socket, late.socket]) {
      s.close();
    }
  });
});
