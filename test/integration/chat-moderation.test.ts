import { describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api";
import { addMember, createRoom, guestUser, registerUser } from "../helpers/factories";
import { useService } from "../helpers/service";
import { connect, expectRefused, nextStatus, sendAcked, statusesOf } from "./chat-helpers";

// Membership and session changes made over HTTP reach the live sockets at once. Clients here send
// a heartbeat first, as real ones do (see ConnectOptions.heartbeat for why that matters locally).

const service = useService({
  AUTH_RATE_LIMIT: "100000",
  PRESENCE_GRACE_MS: "300",
  MESSAGE_RATE_LIMIT: "1000",
});
const api = apiClient(service);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const live = { heartbeat: true };

async function setup(isPrivate = true) {
  const owner = await registerUser(api, "Owner");
  const member = await registerUser(api, "Member");
  const room = await createRoom(api, owner, { isPrivate });
  await addMember(api, room, owner, member);
  return { owner, member, room };
}

describe("moderation reaches live sockets", () => {
  it("closes every socket of a kicked member with 4003, shows them offline, and refuses their reconnect", async () => {
    const { owner, member, room } = await setup(true);
    const o = await connect(service, room.id, owner, live);
    const tab1 = await connect(service, room.id, member, live);
    const tab2 = await connect(service, room.id, member, live);
    const silent = await connect(service, room.id, member); // never sends a frame
    const kick = await api("DELETE", `/api/rooms/${room.id}/members/${member.id}`, {
      token: owner.token,
    });
    expect(kick.status).toBeLessThan(300);
    expect(await tab1.socket.closed(3000)).toBe(4003);
    expect(await tab2.socket.closed(3000)).toBe(4003);
    // The silent tab got the close frame too (CLOSING); its close event waits on the platform.
    expect(silent.socket.ws.readyState).toBe(silent.socket.ws.CLOSING);
    silent.socket.ws.terminate();
    expect(await nextStatus(o.socket, member.id, "offline")).toMatchObject({
      lastSeenAt: expect.any(String),
    });
    await expectRefused(service, room.id, bearer(member.token), 404);
    // The room goes on for the others.
    expect((await sendAcked(o.socket, "still here")).type).toBe("ack");
    o.socket.close();
  });

  it("lets a kicked member of a public room come back by connecting", async () => {
    const { owner, member, room } = await setup(false);
    const m = await connect(service, room.id, member, live);
    await api("DELETE", `/api/rooms/${room.id}/members/${member.id}`, { token: owner.token });
    expect(await m.socket.closed(3000)).toBe(4003);
    const back = await connect(service, room.id, member, live);
    expect(back.ready.you.role).toBe("member");
    back.socket.close();
  });

  it("closes the sockets of a member who leaves with 4003", async () => {
    const { member, room } = await setup(true);
    const m = await connect(service, room.id, member, live);
    const left = await api("POST", `/api/rooms/${room.id}/leave`, { token: member.token });
    expect(left.status).toBeLessThan(300);
    expect(await m.socket.closed(3000)).toBe(4003);
  });

  it("applies a role change to live sockets without a reconnect", async () => {
    const { owner, member, room } = await setup(true);
    const o = await connect(service, room.id, owner, live);
    const m = await connect(service, room.id, member, live);
    const target = await sendAcked(o.socket, "owner's message");
    m.socket.send({ type: "delete_message", seq: target.seq });
    expect(await m.socket.next("error")).toMatchObject({ code: "forbidden" });
    const promote = await api("PATCH", `/api/rooms/${room.id}/members/${member.id}`, {
      token: owner.token,
      json: { role: "admin" },
    });
    expect(promote.status).toBe(200);
    m.socket.send({ type: "delete_message", seq: target.seq });
    expect(await o.socket.next("message_updated", 3000, "the admin's deletion")).toMatchObject({
      message: { seq: target.seq, deletedAt: expect.any(String) },
    });
    o.socket.close();
    m.socket.close();
  });

  it("closes only the logged-out session's sockets, with 4001", async () => {
    const { owner, member, room } = await setup(true);
    const login = await api("POST", "/api/auth/login", {
      json: { email: member.email, password: member.password },
    });
    expect(login.status).toBe(200);
    const other = { ...member, token: login.body.token, refreshToken: login.body.refreshToken };
    const o = await connect(service, room.id, owner, live);
    const first = await connect(service, room.id, member, live);
    const second = await connect(service, room.id, other, live);
    const out = await api("POST", "/api/auth/logout", {
      json: { refreshToken: member.refreshToken },
    });
    expect(out.status).toBe(204);
    expect(await first.socket.closed(3000)).toBe(4001);
    expect((await sendAcked(second.socket, "other session lives")).type).toBe("ack");
    expect(statusesOf(o.socket).filter((f) => f.status === "offline")).toEqual([]);
    o.socket.close();
    second.socket.close();
  });

  it("uses a new display name for later messages without a reconnect", async () => {
    const { member, room } = await setup(true);
    const m = await connect(service, room.id, member, live);
    const renamed = await api("PATCH", "/api/me", {
      token: member.token,
      json: { displayName: "Renamed" },
    });
    expect(renamed.status).toBe(200);
    await sendAcked(m.socket, "who now?", "rn-1");
    const got = await m.socket.next(
      (f) => f.type === "receive_message" && f.message.clientId === "rn-1",
    );
    expect(got.message.authorName).toBe("Renamed");
    m.socket.close();
  });

  it("keeps a guest's sockets and identity when the guest registers", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: false });
    const guest = await guestUser(api, "Guesty");
    const g = await connect(service, room.id, guest, live);
    const up = await api("POST", "/api/auth/register", {
      token: guest.token,
      json: {
        email: `g-${crypto.randomUUID()}@example.test`,
        password: "correct horse battery",
        displayName: "Now Real",
      },
    });
    expect(up.status).toBe(201);
    await sendAcked(g.socket, "still me", "gu-1");
    const got = await g.socket.next(
      (f) => f.type === "receive_message" && f.message.clientId === "gu-1",
    );
    expect(got.message).toMatchObject({ authorId: guest.id, authorName: "Now Real" });
    g.socket.close();
  });

  it("closes every socket with 4004 when the room is deleted, and never serves its history again", async () => {
    const { owner, member, room } = await setup(true);
    const o = await connect(service, room.id, owner, live);
    const m = await connect(service, room.id, member, live);
    await sendAcked(o.socket, "soon gone");
    const del = await api("DELETE", `/api/rooms/${room.id}`, { token: owner.token });
    expect(del.status).toBeLessThan(300);
    expect(await o.socket.closed(3000)).toBe(4004);
    expect(await m.socket.closed(3000)).toBe(4004);
    await expectRefused(service, room.id, bearer(owner.token), 404);
    const hist = await api("GET", `/api/rooms/${room.id}/messages`, { token: owner.token });
    expect(hist.status).toBe(404);
    const rows = await service.roomSql(
      room.id,
      "SELECT name FROM sqlite_master WHERE name = 'messages'",
    );
    expect(rows).toEqual([]);
  });
});
