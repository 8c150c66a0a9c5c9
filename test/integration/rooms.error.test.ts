import { beforeAll, describe, expect, it } from "vitest";
import { badNames, enrol, rawBodyCases } from "../authz-matrix";
import { apiClient } from "../helpers/api";
import { createRoom, registerUser, type TestUser } from "../helpers/factories";
import { useService } from "../helpers/service";
import { postUntilAnswered } from "../helpers/upload";

const service = useService({ AUTH_RATE_LIMIT: "1000000" });
const api = apiClient(service);
let owner: TestUser;
let admin: TestUser;
let member: TestUser;
let room: { id: string; name: string; isPrivate: boolean };

beforeAll(async () => {
  [owner, admin, member] = await Promise.all([
    registerUser(api),
    registerUser(api),
    registerUser(api),
  ]);
  room = await createRoom(api, owner, { isPrivate: true });
  await enrol(api, room, owner, admin, "admin");
  await enrol(api, room, owner, member, "member");
});

/** The room and its members as the owner sees them: must be unchanged after every bad request. */
async function snapshot() {
  const [r, m] = await Promise.all([
    api("GET", `/api/rooms/${room.id}`, { token: owner.token }),
    api("GET", `/api/rooms/${room.id}/members`, { token: owner.token }),
  ]);
  return { room: r.body, members: m.body };
}

async function myRooms(user: TestUser) {
  const res = await api("GET", "/api/rooms/mine", { token: user.token });
  return res.body.items;
}

function expectValidationError(res: { status: number; body: any }, field?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error.code).toBe("validation_failed");
  if (field) {
    expect(res.body.error.details.map((d: { path: string[] }) => d.path.join("."))).toContain(
      field,
    );
  }
}

describe("creating a room with a bad body", () => {
  let creator: TestUser;
  beforeAll(async () => {
    creator = await registerUser(api);
  });

  it.each(badNames)("refuses a name that is %s, and creates nothing", async (_label, name) => {
    const res = await api("POST", "/api/rooms", {
      token: creator.token,
      json: { name, isPrivate: false },
    });
    expectValidationError(res, "name");
    expect(await myRooms(creator)).toEqual([]);
  });

  it("refuses a 1 MB name with 413 before parsing it", async () => {
    // Declared with its Content-Length, as fetch would; sent so that an early answer is read.
    const json = JSON.stringify({ name: "x".repeat(1_000_000), isPrivate: false });
    const res = await postUntilAnswered(
      `${service.url}/api/rooms`,
      new TextEncoder().encode(json),
      {
        headers: { authorization: `Bearer ${creator.token}` },
        contentLength: true,
      },
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "payload_too_large" } });
    expect(await myRooms(creator)).toEqual([]);
  });

  it.each([
    ["missing name", { isPrivate: false }, "name"],
    ["missing isPrivate", { name: "Room" }, "isPrivate"],
    ["isPrivate as a string", { name: "Room", isPrivate: "true" }, "isPrivate"],
    ["isPrivate as a number", { name: "Room", isPrivate: 1 }, "isPrivate"],
    ["isPrivate null", { name: "Room", isPrivate: null }, "isPrivate"],
    ["an empty object", {}, "name"],
  ])("refuses %s", async (_label, body, field) => {
    const res = await api("POST", "/api/rooms", { token: creator.token, json: body });
    expectValidationError(res, field);
    expect(await myRooms(creator)).toEqual([]);
  });

  it.each(rawBodyCases({ name: "Room", isPrivate: false }))(
    "refuses $label with $status",
    async ({ body, headers, status }) => {
      const res = await api("POST", "/api/rooms", { token: creator.token, body, headers });
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(await myRooms(creator)).toEqual([]);
    },
  );

  it("ignores unknown fields instead of assigning them (no mass assignment)", async () => {
    const other = await registerUser(api);
    const res = await api("POST", "/api/rooms", {
      token: other.token,
      json: {
        name: "Mine",
        isPrivate: false,
        id: "room_chosen_by_client_000",
        ownerId: owner.id,
        memberCount: 99,
        createdAt: "2000-01-01T00:00:00.000Z",
        role: "admin",
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ownerId: other.id, memberCount: 1 });
    expect(res.body.id).not.toBe("room_chosen_by_client_000");
    expect(res.body.createdAt).not.toBe("2000-01-01T00:00:00.000Z");
  });
});

describe("editing a room with a bad body", () => {
  it.each(badNames)(
    "refuses a new name that is %s and keeps the room as it was",
    async (_l, name) => {
      const before = await snapshot();
      const res = await api("PATCH", `/api/rooms/${room.id}`, {
        token: owner.token,
        json: { name },
      });
      expectValidationError(res, "name");
      expect(await snapshot()).toEqual(before);
    },
  );

  it.each([
    ["an empty object", {}],
    ["only unknown fields", { ownerId: "usr_x" }],
    ["isPrivate as a string", { isPrivate: "false" }],
    ["name null", { name: null }],
  ])("refuses %s", async (_label, body) => {
    const before = await snapshot();
    const res = await api("PATCH", `/api/rooms/${room.id}`, { token: owner.token, json: body });
    expectValidationError(res);
    expect(await snapshot()).toEqual(before);
  });

  it.each(rawBodyCases({ name: "Room" }))("refuses $label with $status", async (c) => {
    const before = await snapshot();
    const res = await api("PATCH", `/api/rooms/${room.id}`, {
      token: owner.token,
      body: c.body,
      headers: c.headers,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(c.status);
    expect(await snapshot()).toEqual(before);
  });

  it("keeps ownerId out of reach of PATCH", async () => {
    const res = await api("PATCH", `/api/rooms/${room.id}`, {
      token: admin.token,
      json: { name: room.name, ownerId: admin.id },
    });
    expect(res.status).toBe(200);
    expect(res.body.ownerId).toBe(owner.id);
  });
});

describe("changing a role with a bad body", () => {
  it.each([
    ["missing", {}],
    ["unknown", { role: "superadmin" }],
    ["upper case", { role: "ADMIN" }],
    ["null", { role: null }],
    ["a number", { role: 1 }],
    ["an array", { role: ["admin"] }],
    ["padded", { role: " admin" }],
  ])("refuses a role that is %s", async (_label, body) => {
    const before = await snapshot();
    const res = await api("PATCH", `/api/rooms/${room.id}/members/${member.id}`, {
      token: owner.token,
      json: body,
    });
    expectValidationError(res, "role");
    expect(await snapshot()).toEqual(before);
  });

  it.each(rawBodyCases({ role: "admin" }))("refuses $label with $status", async (c) => {
    const before = await snapshot();
    const res = await api("PATCH", `/api/rooms/${room.id}/members/${member.id}`, {
      token: owner.token,
      body: c.body,
      headers: c.headers,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(c.status);
    expect(await snapshot()).toEqual(before);
  });
});

describe("POST /api/rooms/join with a bad body", () => {
  let joiner: TestUser;
  beforeAll(async () => {
    joiner = await registerUser(api);
  });

  it.each([
    ["empty", {}],
    ["both inviteCode and roomId", { inviteCode: "abc", roomId: room?.id ?? "room_x" }],
    ["an empty inviteCode", { inviteCode: "" }],
    ["an overlong inviteCode", { inviteCode: "a".repeat(257) }],
    ["inviteCode as a number", { inviteCode: 5 }],
    ["a roomId with path characters", { roomId: "../rooms/x" }],
    ["a roomId with a NUL byte", { roomId: "room_\u0000" }],
    ["roomId null", { roomId: null }],
  ])("refuses %s", async (_label, body) => {
    const res = await api("POST", "/api/rooms/join", { token: joiner.token, json: body });
    expectValidationError(res);
    expect(await myRooms(joiner)).toEqual([]);
  });

  it.each(rawBodyCases({ roomId: "room_x" }))("refuses $label with $status", async (c) => {
    const res = await api("POST", "/api/rooms/join", {
      token: joiner.token,
      body: c.body,
      headers: c.headers,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(c.status);
    expect(await myRooms(joiner)).toEqual([]);
  });

  it("answers 404 for a well-formed room id that names nothing", async () => {
    const res = await api("POST", "/api/rooms/join", {
      token: joiner.token,
      json: { roomId: "room_0000000000000000000000" },
    });
    expect(res.status).toBe(404);
  });
});

describe("bad query strings and path parameters", () => {
  it.each([
    ["limit=0"],
    ["limit=101"],
    ["limit=-1"],
    ["limit=abc"],
    ["limit=1.5"],
    ["cursor=not-a-cursor"],
    [`cursor=${"A".repeat(300)}`],
    [`q=${"a".repeat(101)}`],
  ])("refuses GET /api/rooms/public?%s with 400", async (query) => {
    const res = await api("GET", `/api/rooms/public?${query}`, { token: owner.token });
    expectValidationError(res);
  });

  it.each([["limit=0"], ["limit=1000"], ["cursor=%00"]])(
    "refuses GET /api/rooms?%s and /members?%s with 400",
    async (query) => {
      expectValidationError(await api("GET", `/api/rooms?${query}`, { token: owner.token }));
      expectValidationError(
        await api("GET", `/api/rooms/${room.id}/members?${query}`, { token: owner.token }),
      );
    },
  );

  it.each([
    ["a dot", "room.x"],
    ["65 characters", `room_${"a".repeat(60)}`],
    ["an encoded slash", "room%2Fx"],
    ["an encoded NUL", "room%00"],
    ["unicode", "r%C3%B6%C3%B6m"],
  ])("refuses a room id with %s with 400", async (_label, id) => {
    expectValidationError(await api("GET", `/api/rooms/${id}`, { token: owner.token }));
    expectValidationError(
      await api("DELETE", `/api/rooms/${room.id}/members/${id}`, { token: owner.token }),
    );
  });

  it("answers 404 for a well-formed id of no room", async () => {
    for (const [method, path] of [
      ["GET", ""],
      ["PATCH", ""],
      ["DELETE", ""],
      ["POST", "/join"],
      ["POST", "/leave"],
      ["GET", "/members"],
    ] as const) {
      const res = await api(method, `/api/rooms/room_0000000000000000000000${path}`, {
        token: owner.token,
        ...(method === "PATCH" ? { json: { name: "x" } } : {}),
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });
});

describe("refused moves", () => {
  it("refuses to let the owner leave, with 409", async () => {
    const res = await api("POST", `/api/rooms/${room.id}/leave`, { token: owner.token });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/transfer ownership/);
  });

  it("refuses to let the owner step down to admin, with 409", async () => {
    const res = await api("PATCH", `/api/rooms/${room.id}/members/${owner.id}`, {
      token: owner.token,
      json: { role: "admin" },
    });
    expect(res.status).toBe(409);
  });

  it("sends a self-kick to leave with 409", async () => {
    const res = await api("DELETE", `/api/rooms/${room.id}/members/${admin.id}`, {
      token: admin.token,
    });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/leave/);
  });

  it("answers 404 when kicking or re-roling someone who is not a member", async () => {
    const stranger = await registerUser(api);
    const kick = await api("DELETE", `/api/rooms/${room.id}/members/${stranger.id}`, {
      token: owner.token,
    });
    expect(kick.status).toBe(404);
    const patch = await api("PATCH", `/api/rooms/${room.id}/members/${stranger.id}`, {
      token: owner.token,
      json: { role: "admin" },
    });
    expect(patch.status).toBe(404);
  });

  it("stops an admin kicking another admin or the owner, with 403", async () => {
    const admin2 = await registerUser(api);
    await enrol(api, room, owner, admin2, "admin");
    const before = await snapshot();
    for (const target of [admin2, owner]) {
      const res = await api("DELETE", `/api/rooms/${room.id}/members/${target.id}`, {
        token: admin.token,
      });
      expect(res.status).toBe(403);
    }
    expect(await snapshot()).toEqual(before);
  });
});
