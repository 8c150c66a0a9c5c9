import { describe, expect, it } from "vitest";
import { createInvite, enrol } from "../authz-matrix";
import { apiClient } from "../helpers/api";
import { createRoom, registerUser, type TestUser, uniq } from "../helpers/factories";
import { useService } from "../helpers/service";

const service = useService({ AUTH_RATE_LIMIT: "1000000" });
const api = apiClient(service);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function members(roomId: string, as: TestUser) {
  const res = await api("GET", `/api/rooms/${roomId}/members`, { token: as.token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.items as Array<{ userId: string; role: string; displayName: string }>;
}

async function myRoomIds(user: TestUser): Promise<string[]> {
  const res = await api("GET", "/api/rooms", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.items.map((i: { room: { id: string } }) => i.room.id);
}

describe("creating rooms", () => {
  it("makes the creator the owner and answers 201 with the room", async () => {
    const owner = await registerUser(api);
    const name = `Standup ${uniq()}`;
    const res = await api("POST", "/api/rooms", {
      token: owner.token,
      json: { name, isPrivate: true },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^room_/),
      name,
      isPrivate: true,
      ownerId: owner.id,
      createdAt: expect.stringMatching(ISO),
      memberCount: 1,
    });
    expect(await members(res.body.id, owner)).toEqual([
      {
        userId: owner.id,
        displayName: owner.displayName,
        role: "owner",
        joinedAt: expect.any(String),
      },
    ]);
  });

  it("trims and NFC-normalises the name", async () => {
    const owner = await registerUser(api);
    const res = await api("POST", "/api/rooms", {
      token: owner.token,
      json: { name: "  Cafe\u0301 talk  ", isPrivate: false },
    });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe("Caf\u00e9 talk");
  });

  it("accepts a name of exactly 100 characters counted in code points", async () => {
    const owner = await registerUser(api);
    const name = "\u{1F600}".repeat(100);
    const res = await api("POST", "/api/rooms", {
      token: owner.token,
      json: { name, isPrivate: false },
    });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe(name);
  });

  it("works for guests too", async () => {
    const res0 = await api("POST", "/api/auth/guest", { json: { displayName: `Guest ${uniq()}` } });
    expect(res0.status).toBe(201);
    const res = await api("POST", "/api/rooms", {
      token: res0.body.token,
      json: { name: "Guest room", isPrivate: false },
    });
    expect(res.status).toBe(201);
  });
});

describe("my rooms", () => {
  it("lists my rooms with role, unread count and last message, newest joined first", async () => {
    const me = await registerUser(api);
    const other = await registerUser(api);
    const a = await createRoom(api, me);
    const b = await createRoom(api, other);
    await enrol(api, b, other, me, "member");
    const res = await api("GET", "/api/rooms", { token: me.token });
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.items).toEqual([
      {
        room: expect.objectContaining({ id: b.id, memberCount: 2 }),
        role: "member",
        unreadCount: 0,
        lastMessage: null,
      },
      {
        room: expect.objectContaining({ id: a.id, memberCount: 1 }),
        role: "owner",
        unreadCount: 0,
        lastMessage: null,
      },
    ]);
  });

  it("answers the same list at /api/rooms/mine", async () => {
    const me = await registerUser(api);
    await createRoom(api, me);
    await createRoom(api, me, { isPrivate: true });
    const a = await api("GET", "/api/rooms", { token: me.token });
    const b = await api("GET", "/api/rooms/mine", { token: me.token });
    expect(b.status).toBe(200);
    expect(b.body).toEqual(a.body);
  });

  it("pages through my rooms with nextCursor, without gaps or repeats", async () => {
    const me = await registerUser(api);
    const created = [];
    for (let i = 0; i < 5; i++) {
      created.push((await createRoom(api, me)).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const res = await api("GET", `/api/rooms?limit=2${q}`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((i: { room: { id: string } }) => i.room.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...created].reverse());
  });
});

describe("discovering public rooms", () => {
  it("finds public rooms by a case-insensitive name substring, never private ones", async () => {
    const owner = await registerUser(api);
    const tag = uniq();
    const pub = await createRoom(api, owner, { name: `Hiking ${tag} club` });
    await createRoom(api, owner, { name: `Hiking ${tag} secrets`, isPrivate: true });
    const res = await api(
      "GET",
      `/api/rooms/public?q=${encodeURIComponent(`hIKING ${tag.toUpperCase()}`)}`,
      {
        token: owner.token,
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.items.map((r: { id: string }) => r.id)).toEqual([pub.id]);
    expect(res.body.items[0]).toMatchObject({ isPrivate: false, memberCount: 1 });
  });

  it("matches %, _ and backslash literally", async () => {
    const owner = await registerUser(api);
    const tag = uniq();
    const percent = await createRoom(api, owner, { name: `${tag} 100% fun` });
    const under = await createRoom(api, owner, { name: `${tag} a_b` });
    const slash = await createRoom(api, owner, { name: `${tag} c\\d` });
    await createRoom(api, owner, { name: `${tag} 1000 fun axb c-d` });
    /** Ids of this test's rooms among the results (other tests share the database). */
    const search = async (q: string) => {
      const res = await api("GET", `/api/rooms/public?q=${encodeURIComponent(q)}`, {
        token: owner.token,
      });
      expect(res.status).toBe(200);
      return res.body.items
        .filter((r: { name: string }) => r.name.startsWith(tag))
        .map((r: { id: string }) => r.id);
    };
    expect(await search(`${tag} 100%`)).toEqual([percent.id]);
    expect(await search("0% f")).toEqual([percent.id]);
    expect(await search(`${tag} a_b`)).toEqual([under.id]);
    expect(await search(`${tag} c\\d`)).toEqual([slash.id]);
    expect(await search(`${tag} %`)).toEqual([]);
    expect(await search(`${tag} _`)).toEqual([]);
  });

  it("pages newest first with a keyset cursor", async () => {
    const owner = await registerUser(api);
    const tag = uniq();
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await createRoom(api, owner, { name: `Paging ${tag} ${i}` })).id);
    }
    const first = await api("GET", `/api/rooms/public?q=Paging%20${tag}&limit=2`, {
      token: owner.token,
    });
    expect(first.body.items.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api(
      "GET",
      `/api/rooms/public?q=Paging%20${tag}&limit=2&cursor=${first.body.nextCursor}`,
      { token: owner.token },
    );
    expect(second.body).toEqual({
      items: [expect.objectContaining({ id: ids[0] })],
      nextCursor: null,
    });
  });

  it("lists public rooms without a query, 20 by default", async () => {
    const owner = await registerUser(api);
    await createRoom(api, owner);
    const res = await api("GET", "/api/rooms/public", { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    expect(res.body.items.length).toBeLessThanOrEqual(20);
    expect(res.body.items.every((r: { isPrivate: boolean }) => !r.isPrivate)).toBe(true);
  });
});

describe("reading and editing a room", () => {
  it("shows a public room to anyone signed in, with its member count", async () => {
    const owner = await registerUser(api);
    const stranger = await registerUser(api);
    const room = await createRoom(api, owner);
    const res = await api("GET", `/api/rooms/${room.id}`, { token: stranger.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: room.id,
      name: room.name,
      ownerId: owner.id,
      memberCount: 1,
    });
  });

  it("lets the owner rename the room and make it private", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    const res = await api("PATCH", `/api/rooms/${room.id}`, {
      token: owner.token,
      json: { name: "  Renamed  ", isPrivate: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: room.id,
      name: "Renamed",
      isPrivate: true,
      memberCount: 1,
    });
    const again = await api("GET", `/api/rooms/${room.id}`, { token: owner.token });
    expect(again.body).toEqual(res.body);
  });

  it("lets an admin change one field and leaves the other alone", async () => {
    const owner = await registerUser(api);
    const admin = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    await enrol(api, room, owner, admin, "admin");
    const res = await api("PATCH", `/api/rooms/${room.id}`, {
      token: admin.token,
      json: { isPrivate: false },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: room.name, isPrivate: false, memberCount: 2 });
  });
});

describe("joining and leaving", () => {
  it("joins a public room with 201, and a second join is a 200 that changes nothing", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner);
    const first = await api("POST", `/api/rooms/${room.id}/join`, { token: user.token });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      room: expect.objectContaining({ id: room.id, memberCount: 2 }),
      role: "member",
      joinedAt: expect.stringMatching(ISO),
    });
    const second = await api("POST", `/api/rooms/${room.id}/join`, { token: user.token });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
  });

  it("joins by room id through POST /api/rooms/join", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner);
    const res = await api("POST", "/api/rooms/join", {
      token: user.token,
      json: { roomId: room.id },
    });
    expect(res.status).toBe(201);
    expect(await myRoomIds(user)).toContain(room.id);
  });

  it("joins by invite code through POST /api/rooms/join", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    const res = await api("POST", "/api/rooms/join", {
      token: user.token,
      json: { inviteCode: invite.token },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ room: { id: room.id, memberCount: 2 }, role: "member" });
  });

  it("lets a member leave, after which the room is gone from their list and a public one can be rejoined", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner);
    await enrol(api, room, owner, user, "member");
    const res = await api("POST", `/api/rooms/${room.id}/leave`, { token: user.token });
    expect(res.status).toBe(204);
    expect(await myRoomIds(user)).not.toContain(room.id);
    expect((await members(room.id, owner)).map((m) => m.userId)).toEqual([owner.id]);
    const back = await api("POST", `/api/rooms/${room.id}/join`, { token: user.token });
    expect(back.status).toBe(201);
  });
});

describe("members and roles", () => {
  it("lists members oldest first with name and role, page by page", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    const a = await registerUser(api);
    const b = await registerUser(api);
    await enrol(api, room, owner, a, "admin");
    await enrol(api, room, owner, b, "member");
    const all = await members(room.id, b);
    expect(all).toEqual([
      expect.objectContaining({ userId: owner.id, role: "owner", displayName: owner.displayName }),
      expect.objectContaining({ userId: a.id, role: "admin", displayName: a.displayName }),
      expect.objectContaining({ userId: b.id, role: "member", displayName: b.displayName }),
    ]);
    const p1 = await api("GET", `/api/rooms/${room.id}/members?limit=2`, { token: b.token });
    expect(p1.body.items.map((m: { userId: string }) => m.userId)).toEqual([owner.id, a.id]);
    const p2 = await api(
      "GET",
      `/api/rooms/${room.id}/members?limit=2&cursor=${p1.body.nextCursor}`,
      {
        token: b.token,
      },
    );
    expect(p2.body).toEqual({
      items: [expect.objectContaining({ userId: b.id })],
      nextCursor: null,
    });
  });

  it("lets the owner promote a member to admin and back", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner);
    await enrol(api, room, owner, user, "member");
    const up = await api("PATCH", `/api/rooms/${room.id}/members/${user.id}`, {
      token: owner.token,
      json: { role: "admin" },
    });
    expect(up.status).toBe(200);
    expect(up.body).toEqual({
      userId: user.id,
      displayName: user.displayName,
      role: "admin",
      joinedAt: expect.stringMatching(ISO),
    });
    const down = await api("PATCH", `/api/rooms/${room.id}/members/${user.id}`, {
      token: owner.token,
      json: { role: "member" },
    });
    expect(down.body.role).toBe("member");
    const same = await api("PATCH", `/api/rooms/${room.id}/members/${user.id}`, {
      token: owner.token,
      json: { role: "member" },
    });
    expect(same.status).toBe(200);
  });

  it("transfers ownership: the new owner owns the room and the old one becomes admin", async () => {
    const owner = await registerUser(api);
    const heir = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    await enrol(api, room, owner, heir, "member");
    const res = await api("PATCH", `/api/rooms/${room.id}/members/${heir.id}`, {
      token: owner.token,
      json: { role: "owner" },
    });
    expect(res.status).toBe(200);
    expect(res.body.role).toBe("owner");
    const roles = Object.fromEntries((await members(room.id, heir)).map((m) => [m.userId, m.role]));
    expect(roles).toEqual({ [owner.id]: "admin", [heir.id]: "owner" });
    const got = await api("GET", `/api/rooms/${room.id}`, { token: heir.token });
    expect(got.body.ownerId).toBe(heir.id);
    // The old owner can now leave; the new one can delete.
    expect((await api("POST", `/api/rooms/${room.id}/leave`, { token: owner.token })).status).toBe(
      204,
    );
    expect((await api("DELETE", `/api/rooms/${room.id}`, { token: heir.token })).status).toBe(204);
  });

  it("lets an admin kick a member and the owner kick an admin", async () => {
    const owner = await registerUser(api);
    const admin = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner);
    await enrol(api, room, owner, admin, "admin");
    await enrol(api, room, owner, user, "member");
    expect(
      (await api("DELETE", `/api/rooms/${room.id}/members/${user.id}`, { token: admin.token }))
        .status,
    ).toBe(204);
    expect(
      (await api("DELETE", `/api/rooms/${room.id}/members/${admin.id}`, { token: owner.token }))
        .status,
    ).toBe(204);
    expect((await members(room.id, owner)).map((m) => m.userId)).toEqual([owner.id]);
    expect(await myRoomIds(user)).not.toContain(room.id);
  });
});

describe("deleting a room", () => {
  it("removes the room, its memberships and its invites", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    await enrol(api, room, owner, user, "member", invite.token);
    const res = await api("DELETE", `/api/rooms/${room.id}`, { token: owner.token });
    expect(res.status).toBe(204);
    expect((await api("GET", `/api/rooms/${room.id}`, { token: owner.token })).status).toBe(404);
    expect(await myRoomIds(owner)).not.toContain(room.id);
    expect(await myRoomIds(user)).not.toContain(room.id);
    expect((await api("GET", `/api/invites/${invite.token}`)).status).toBe(404);
  });
});
