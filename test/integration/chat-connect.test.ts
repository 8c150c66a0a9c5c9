import { describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api";
import { addMember, createRoom, registerUser } from "../helpers/factories";
import { useService } from "../helpers/service";
import { TestSocket } from "../helpers/ws";
import { connect, expectRefused, sendAcked, wsUrl } from "./chat-helpers";

// The Worker is the only door to a room: token or ticket, live session, membership, Origin, and
// a well-formed since, all checked before the upgrade reaches the room's object.

const ALLOWED = "https://app.example.test";
const service = useService({
  AUTH_RATE_LIMIT: "100000",
  ALLOWED_ORIGINS: ALLOWED,
  MESSAGE_RATE_LIMIT: "1000",
});
const api = apiClient(service);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("opening a room socket", () => {
  it("sends ready first, with the room, you, who is online and how many, lastSeq, readSeq, epoch and resume none", async () => {
    const owner = await registerUser(api, "Owner Ada");
    const room = await createRoom(api, owner, { isPrivate: true });
    const { socket, ready } = await connect(service, room.id, owner);
    expect(ready).toEqual({
      type: "ready",
      room: {
        id: room.id,
        name: room.name,
        isPrivate: true,
        ownerId: owner.id,
        createdAt: expect.any(String),
        memberCount: 1,
      },
      you: { userId: owner.id, displayName: "Owner Ada", role: "owner" },
      online: [
        { userId: owner.id, displayName: "Owner Ada", role: "owner", joinedAt: expect.any(String) },
      ],
      onlineCount: 1,
      lastSeq: 0,
      readSeq: 0,
      epoch: expect.any(String),
      resume: "none",
    });
    socket.close();
  });

  it("opens with a single-use ticket and refuses the same ticket a second time", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const minted = await api("POST", `/api/rooms/${room.id}/ws-ticket`, { token: owner.token });
    expect(minted.status).toBe(201);
    expect(minted.body).toEqual({ ticket: expect.any(String), expiresAt: expect.any(String) });
    const ttl = Date.parse(minted.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    const { socket, ready } = await connect(service, room.id, owner, {
      ticket: minted.body.ticket,
    });
    expect(ready.you.userId).toBe(owner.id);
    socket.close();
    await expectRefused(service, room.id, {}, 401, { ticket: minted.body.ticket });
  });

  it("refuses a ticket minted for another room, and a made-up one", async () => {
    const owner = await registerUser(api);
    const roomA = await createRoom(api, owner);
    const roomB = await createRoom(api, owner);
    const minted = await api("POST", `/api/rooms/${roomA.id}/ws-ticket`, { token: owner.token });
    await expectRefused(service, roomB.id, {}, 401, { ticket: minted.body.ticket });
    await expectRefused(service, roomA.id, {}, 401, { ticket: "not-a-ticket" });
  });

  it("refuses no token, a bad token, and an access token in the URL with 401", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    await expectRefused(service, room.id, {}, 401);
    await expectRefused(service, room.id, bearer("garbage.token.here"), 401);
    const url = `${wsUrl(service, room.id)}?token=${owner.token}&access_token=${owner.token}`;
    const err = await TestSocket.open(url).then(
      () => null,
      (e: { status?: number }) => e,
    );
    expect(err?.status).toBe(401);
  });

  it("refuses the token of a session that logged out", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    const out = await api("POST", "/api/auth/logout", {
      json: { refreshToken: owner.refreshToken },
    });
    expect(out.status).toBe(204);
    await expectRefused(service, room.id, bearer(owner.token), 401);
  });

  it("answers 404 for a private room you are not in, exactly as for a room that does not exist", async () => {
    const owner = await registerUser(api);
    const stranger = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const hidden = await expectRefused(service, room.id, bearer(stranger.token), 404);
    const missing = await expectRefused(
      service,
      "room_doesNotExist000000000",
      bearer(stranger.token),
      404,
    );
    expect(JSON.parse(hidden)).toEqual(JSON.parse(missing));
  });

  it("joins a public room by connecting, as a member", async () => {
    const owner = await registerUser(api);
    const visitor = await registerUser(api, "Visitor Vi");
    const room = await createRoom(api, owner, { isPrivate: false });
    const { socket, ready } = await connect(service, room.id, visitor);
    expect(ready.you).toEqual({ userId: visitor.id, displayName: "Visitor Vi", role: "member" });
    expect(ready.room.memberCount).toBe(2);
    const members = await api("GET", `/api/rooms/${room.id}/members`, { token: owner.token });
    expect(members.body.items.map((m: { userId: string }) => m.userId)).toContain(visitor.id);
    socket.close();
  });

  it("checks Origin: same-origin and listed origins pass, others get 403 before the room", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    for (const origin of [ALLOWED, service.url]) {
      const { socket } = await connect(service, room.id, owner, { headers: { origin } });
      socket.close();
    }
    for (const origin of [
      "https://evil.example",
      "null",
      `${ALLOWED}.evil.com`,
      ALLOWED.replace("https", "http"),
    ]) {
      await expectRefused(service, room.id, { ...bearer(owner.token), origin }, 403);
    }
  });

  it("refuses a since that is not an integer in 0..lastSeq with 400, never reading it as 0", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    const { socket } = await connect(service, room.id, owner);
    await sendAcked(socket, "one");
    socket.close();
    for (const since of ["-1", "abc", "1e3", "1.5", "", "9007199254740993", "2"]) {
      await expectRefused(service, room.id, bearer(owner.token), 400, { since });
    }
    const ok = await connect(service, room.id, owner, { since: 1 });
    expect(ok.ready.resume).toBe("ok");
    ok.socket.close();
  });

  it("ignores identity headers the client sends and uses only the verified token", async () => {
    const owner = await registerUser(api, "Real Owner");
    const member = await registerUser(api, "Mallory");
    const room = await createRoom(api, owner, { isPrivate: true });
    await addMember(api, room, owner, member);
    const forged = encodeURIComponent(
      JSON.stringify({
        user: { id: owner.id, displayName: "Real Owner", isGuest: false, sessionId: "x" },
        role: "owner",
      }),
    );
    const { socket, ready } = await connect(service, room.id, member, {
      headers: { "X-Chat-Context": forged, "x-chat-user-id": owner.id },
    });
    expect(ready.you).toEqual({ userId: member.id, displayName: "Mallory", role: "member" });
    const ack = await sendAcked(socket, "who am I");
    expect(ack.type).toBe("ack");
    const msg = await socket.next("receive_message");
    expect(msg.message.authorId).toBe(member.id);
    socket.close();
  });

  it("answers a plain GET without an upgrade with 400", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    const res = await api("GET", `/api/rooms/${room.id}/ws`, { token: owner.token });
    expect(res.status).toBe(400);
  });

  it("answers the heartbeat text with pong", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    const { socket } = await connect(service, room.id, owner);
    socket.send('{"type":"ping"}');
    expect(await socket.next("pong", 3000, "pong for the exact ping text")).toEqual({
      type: "pong",
    });
    socket.send({ type: "ping", extra: 1 });
    expect(await socket.next("pong", 3000, "pong for a ping with extra fields")).toEqual({
      type: "pong",
    });
    socket.close();
  });

  it("documents the upgrade route and the message routes in /openapi.json", async () => {
    const doc = await api("GET", "/openapi.json");
    const paths = doc.body.paths as Record<
      string,
      Record<string, { responses: Record<string, unknown> }>
    >;
    expect(paths["/api/rooms/{roomId}/ws"]?.get?.responses).toHaveProperty("101");
    for (const p of ["ws-ticket", "messages", "messages/{seq}", "receipts", "presence"]) {
      expect(paths, p).toHaveProperty([`/api/rooms/{roomId}/${p}`]);
    }
  });
});
