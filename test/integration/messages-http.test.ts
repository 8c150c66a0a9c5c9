import { describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api";
import { adaAndBoInRoom, registerUser, type TestUser } from "../helpers/factories";
import { useService } from "../helpers/service";
import { connect, expectSilence, framesOf, postMessage } from "./chat-helpers";

// The message routes over HTTP: history pages, sends that are broadcast live, edits, deletes,
// and who may call them.

const service = useService({
  AUTH_RATE_LIMIT: "100000",
  MESSAGE_RATE_LIMIT: "100000",
});
const api = apiClient(service);

const setup = (isPrivate = true) => adaAndBoInRoom(api, { isPrivate });

async function fill(roomId: string, user: TestUser, n: number) {
  for (let i = 1; i <= n; i++) {
    expect((await postMessage(api, roomId, user, { content: `m${i}` })).status).toBe(201);
  }
}

const get = (user: TestUser, path: string) => api("GET", path, { token: user.token });
const seqs = (body: { messages: { seq: number }[] }) => body.messages.map((m) => m.seq);

describe("POST /api/rooms/:id/messages", () => {
  it("stores, answers 201 with the message, and broadcasts it to live sockets", async () => {
    const { ada, bo, room } = await setup();
    const b = await connect(service, room.id, bo);
    const res = await postMessage(api, room.id, ada, { content: "  over http  ", clientId: "h-1" });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^msg_/),
      seq: 1,
      roomId: room.id,
      authorId: ada.id,
      authorName: "Ada",
      content: "over http",
      clientId: "h-1",
      replyTo: null,
      createdAt: expect.any(String),
      editedAt: null,
      deletedAt: null,
    });
    expect((await b.socket.next("receive_message")).message).toEqual(res.body);
    b.socket.close();
  });

  it("answers a retry with the same clientId 200 with the first message, broadcasting nothing", async () => {
    const { ada, bo, room } = await setup();
    const b = await connect(service, room.id, bo);
    const first = await postMessage(api, room.id, ada, { content: "once", clientId: "same" });
    const retry = await postMessage(api, room.id, ada, { content: "twice?", clientId: "same" });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    await b.socket.next("receive_message");
    await expectSilence(b.socket, (f) => f.type === "receive_message", 300, "a second broadcast");
    expect(framesOf(b.socket, "receive_message")).toHaveLength(1);
    b.socket.close();
  });

  it("refuses invalid content, unknown fields types and a replyTo outside the room with 400", async () => {
    const { ada, room } = await setup();
    for (const json of [
      { content: "" },
      { content: "x".repeat(4001) },
      { content: "a\u0000b" },
      { content: 42 },
      { content: "ok", clientId: "" },
      { content: "ok", replyTo: 0 },
      { content: "ok", replyTo: 5 },
    ]) {
      const res = await postMessage(api, room.id, ada, json);
      expect(res.status, JSON.stringify(json).slice(0, 40)).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
  });
});

describe("GET /api/rooms/:id/messages", () => {
  it("pages backward from the newest, ascending, with nextCursor, latestSeq and epoch", async () => {
    const { ada, room } = await setup();
    await fill(room.id, ada, 7);
    const first = await get(ada, `/api/rooms/${room.id}/messages?limit=3`);
    expect(first.status).toBe(200);
    expect(seqs(first.body)).toEqual([5, 6, 7]);
    expect(first.body).toMatchObject({ nextCursor: 5, latestSeq: 7, epoch: expect.any(String) });
    const second = await get(ada, `/api/rooms/${room.id}/messages?limit=3&before=5`);
    expect(seqs(second.body)).toEqual([2, 3, 4]);
    expect(second.body.nextCursor).toBe(2);
    const last = await get(ada, `/api/rooms/${room.id}/messages?limit=3&before=2`);
    expect(seqs(last.body)).toEqual([1]);
    expect(last.body.nextCursor).toBeNull();
    expect(last.body.epoch).toBe(first.body.epoch);
  });

  it("pages forward with after, and defaults to 50", async () => {
    const { ada, room } = await setup();
    await fill(room.id, ada, 55);
    const fwd = await get(ada, `/api/rooms/${room.id}/messages?after=50&limit=3`);
    expect(seqs(fwd.body)).toEqual([51, 52, 53]);
    expect(fwd.body.nextCursor).toBe(53);
    const end = await get(ada, `/api/rooms/${room.id}/messages?after=53`);
    expect(seqs(end.body)).toEqual([54, 55]);
    expect(end.body.nextCursor).toBeNull();
    const dflt = await get(ada, `/api/rooms/${room.id}/messages`);
    expect(dflt.body.messages).toHaveLength(50);
    expect(dflt.body.nextCursor).toBe(6);
  });

  it("refuses both cursors, a bad limit and a bad cursor with 400", async () => {
    const { ada, room } = await setup();
    for (const q of [
      "before=5&after=1",
      "limit=0",
      "limit=201",
      "limit=abc",
      "before=-1",
      "after=1e3",
      "before=",
    ]) {
      const res = await get(ada, `/api/rooms/${room.id}/messages?${q}`);
      expect(res.status, q).toBe(400);
    }
    expect((await get(ada, `/api/rooms/${room.id}/messages?limit=200`)).status).toBe(200);
  });

  it("shows an empty room as an empty page", async () => {
    const { ada, room } = await setup();
    const res = await get(ada, `/api/rooms/${room.id}/messages`);
    expect(res.body).toEqual({
      messages: [],
      nextCursor: null,
      latestSeq: 0,
      epoch: expect.any(String),
    });
  });
});

describe("PATCH and DELETE /api/rooms/:id/messages/:seq", () => {
  it("lets the author edit and broadcasts message_updated with a new seq", async () => {
    const { ada, bo, room } = await setup();
    await fill(room.id, ada, 1);
    const b = await connect(service, room.id, bo);
    const res = await api("PATCH", `/api/rooms/${room.id}/messages/1`, {
      token: ada.token,
      json: { content: "edited" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ seq: 1, content: "edited", editedAt: expect.any(String) });
    expect(await b.socket.next("message_updated")).toMatchObject({ seq: 2, message: res.body });
    const theirs = await api("PATCH", `/api/rooms/${room.id}/messages/1`, {
      token: bo.token,
      json: { content: "x" },
    });
    expect(theirs.status).toBe(403);
    const missing = await api("PATCH", `/api/rooms/${room.id}/messages/99`, {
      token: ada.token,
      json: { content: "x" },
    });
    expect(missing.status).toBe(404);
    b.socket.close();
  });

  it("deletes as a tombstone (author, admin or owner), keeps its place, and refuses to edit it", async () => {
    const { ada, bo, room } = await setup();
    await fill(room.id, bo, 2);
    const del = await api("DELETE", `/api/rooms/${room.id}/messages/1`, { token: ada.token });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ seq: 1, content: "", deletedAt: expect.any(String) });
    const again = await api("DELETE", `/api/rooms/${room.id}/messages/1`, { token: bo.token });
    expect(again.status).toBe(200);
    const page = await get(ada, `/api/rooms/${room.id}/messages`);
    expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual(["", "m2"]);
    expect(page.body.latestSeq).toBe(3);
    const edit = await api("PATCH", `/api/rooms/${room.id}/messages/1`, {
      token: bo.token,
      json: { content: "back" },
    });
    expect(edit.status).toBe(410);
    const badSeq = await api("DELETE", `/api/rooms/${room.id}/messages/abc`, { token: ada.token });
    expect(badSeq.status).toBe(400);
  });
});

describe("who may call the message routes", () => {
  it("answers 401 without a token on every route", async () => {
    const { room } = await setup();
    const calls: [string, string][] = [
      ["GET", "messages"],
      ["POST", "messages"],
      ["PATCH", "messages/1"],
      ["DELETE", "messages/1"],
      ["POST", "receipts"],
      ["GET", "presence"],
      ["POST", "ws-ticket"],
    ];
    for (const [method, p] of calls) {
      const res = await api(method, `/api/rooms/${room.id}/${p}`, {
        json: method === "GET" ? undefined : {},
      });
      expect(res.status, `${method} ${p}`).toBe(401);
    }
  });

  it("answers 404 on every route of a private room to a non-member", async () => {
    const { room } = await setup(true);
    const stranger = await registerUser(api);
    const calls: [string, string, unknown][] = [
      ["GET", "messages", undefined],
      ["POST", "messages", { content: "hi" }],
      ["PATCH", "messages/1", { content: "x" }],
      ["DELETE", "messages/1", undefined],
      ["POST", "receipts", { kind: "read", seq: 1 }],
      ["GET", "presence", undefined],
      ["POST", "ws-ticket", undefined],
    ];
    for (const [method, p, json] of calls) {
      const res = await api(method, `/api/rooms/${room.id}/${p}`, { token: stranger.token, json });
      expect(res.status, `${method} ${p}`).toBe(404);
    }
  });

  it("lets a non-member read a public room's history but not its member presence, nor write", async () => {
    const { ada, room } = await setup(false);
    await fill(room.id, ada, 2);
    const visitor = await registerUser(api);
    expect((await get(visitor, `/api/rooms/${room.id}/messages`)).body.messages).toHaveLength(2);
    expect((await get(visitor, `/api/rooms/${room.id}/presence`)).status).toBe(403);
    expect((await postMessage(api, room.id, visitor, { content: "hi" })).status).toBe(403);
    const receipt = await api("POST", `/api/rooms/${room.id}/receipts`, {
      token: visitor.token,
      json: { kind: "read", seq: 1 },
    });
    expect(receipt.status).toBe(403);
  });
});
