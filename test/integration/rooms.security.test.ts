import { describe, expect, it } from "vitest";
import { createInvite, enrol } from "../authz-matrix";
import { apiClient } from "../helpers/api";
import { createRoom, registerUser, type TestUser } from "../helpers/factories";
import { useService } from "../helpers/service";

const service = useService({ AUTH_RATE_LIMIT: "1000000" });
const api = apiClient(service);

const MISSING_ROOM = "room_0000000000000000000000";

/** Every authenticated room route, as (method, path) for a given room and member id. */
const roomRoutes = (roomId: string, userId: string): Array<[string, string, unknown?]> => [
  ["POST", "/api/rooms", { name: "x", isPrivate: false }],
  ["GET", "/api/rooms"],
  ["GET", "/api/rooms/mine"],
  ["GET", "/api/rooms/public"],
  ["POST", "/api/rooms/join", { roomId }],
  ["GET", `/api/rooms/${roomId}`],
  ["PATCH", `/api/rooms/${roomId}`, { name: "x" }],
  ["DELETE", `/api/rooms/${roomId}`],
  ["POST", `/api/rooms/${roomId}/join`],
  ["POST", `/api/rooms/${roomId}/leave`],
  ["GET", `/api/rooms/${roomId}/members`],
  ["PATCH", `/api/rooms/${roomId}/members/${userId}`, { role: "admin" }],
  ["DELETE", `/api/rooms/${roomId}/members/${userId}`],
];

async function canSee(user: TestUser, roomId: string): Promise<number> {
  return (await api("GET", `/api/rooms/${roomId}`, { token: user.token })).status;
}

describe("authentication on room routes", () => {
  it.each([
    ["no Authorization header", {}],
    ["a non-Bearer scheme", { authorization: "Basic dXNlcjpwYXNz" }],
    ["a garbage token", { authorization: "Bearer not.a.jwt" }],
    ["an empty Bearer", { authorization: "Bearer " }],
    [
      "an unsigned JWT (alg none)",
      {
        authorization:
          "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c3JfeCIsInNpZCI6InNlc194In0.",
      },
    ],
  ])("answers 401 with %s on every route, before looking at the input", async (_l, headers) => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    for (const [method, path, json] of roomRoutes(room.id, owner.id)) {
      const res = await api(method, path, { headers, ...(json ? { json } : {}) });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
    // Even malformed input is a 401 first: validation never runs for strangers.
    const bad = await api("GET", "/api/rooms/bad.id", { headers });
    expect(bad.status).toBe(401);
    expect(await canSee(owner, room.id)).toBe(200);
  });

  it("answers 401 after logout with the old access token", async () => {
    const user = await registerUser(api);
    const out = await api("POST", "/api/auth/logout", {
      token: user.token,
      json: { refreshToken: user.refreshToken },
    });
    expect(out.status).toBe(204);
    expect((await api("GET", "/api/rooms", { token: user.token })).status).toBe(401);
  });
});

describe("private rooms are invisible to outsiders", () => {
  it("answers an outsider exactly as if the room did not exist", async () => {
    const owner = await registerUser(api);
    const outsider = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    for (const [method, path, json] of roomRoutes(room.id, owner.id).slice(5)) {
      const real = await api(method, path, { token: outsider.token, ...(json ? { json } : {}) });
      const fake = await api(method, path.replace(room.id, MISSING_ROOM), {
        token: outsider.token,
        ...(json ? { json } : {}),
      });
      expect(real.status, `${method} ${path}`).toBe(404);
      expect(real.body, `${method} ${path}`).toEqual(fake.body);
    }
    expect(await canSee(owner, room.id)).toBe(200);
  });

  it("never lists a private room in public search, even by its exact name", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const res = await api("GET", `/api/rooms/public?q=${encodeURIComponent(room.name)}`, {
      token: owner.token,
    });
    expect(res.body.items).toEqual([]);
  });

  it("hides a room from public search once it is made private", async () => {
    const owner = await registerUser(api);
    const outsider = await registerUser(api);
    const room = await createRoom(api, owner);
    await api("PATCH", `/api/rooms/${room.id}`, { token: owner.token, json: { isPrivate: true } });
    const res = await api("GET", `/api/rooms/public?q=${encodeURIComponent(room.name)}`, {
      token: outsider.token,
    });
    expect(res.body.items).toEqual([]);
    expect(await canSee(outsider, room.id)).toBe(404);
    expect(
      (await api("POST", `/api/rooms/${room.id}/join`, { token: outsider.token })).status,
    ).toBe(404);
  });

  it("keeps routing tricks from reaching a private room", async () => {
    const owner = await registerUser(api);
    const outsider = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    for (const path of [
      `/api/rooms/${room.id}/`,
      `/api//rooms/${room.id}`,
      `/API/rooms/${room.id}`,
      `/api/rooms/x/../${room.id}`,
      `/api/rooms/%2e%2e/rooms/${room.id}`,
      `/api/rooms/${room.id.toUpperCase()}`,
    ]) {
      const res = await api("GET", path, { token: outsider.token });
      expect(res.status, path).toBeLessThan(500);
      expect(JSON.stringify(res.body), path).not.toContain(room.name);
      if (res.status < 400) {
        // Paths outside the Worker's /api/* (e.g. /API/...) get the web app's page, not the API.
        expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
      }
    }
  });
});

describe("kicked and departed members", () => {
  it("keeps a member kicked from a private room out until a new invite", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const first = await createInvite(api, room.id, owner, { maxUses: 1 });
    await enrol(api, room, owner, user, "member", first.token);
    const kick = await api("DELETE", `/api/rooms/${room.id}/members/${user.id}`, {
      token: owner.token,
    });
    expect(kick.status).toBe(204);
    expect(await canSee(user, room.id)).toBe(404);
    expect((await api("GET", `/api/rooms/${room.id}/members`, { token: user.token })).status).toBe(
      404,
    );
    expect((await api("POST", `/api/rooms/${room.id}/join`, { token: user.token })).status).toBe(
      404,
    );
    expect(
      (await api("POST", "/api/rooms/join", { token: user.token, json: { roomId: room.id } }))
        .status,
    ).toBe(404);
    // The spent one-use invite doesn't work again...
    expect(
      (await api("POST", `/api/invites/${first.token}/accept`, { token: user.token })).status,
    ).toBe(410);
    // ...a new one does.
    const second = await createInvite(api, room.id, owner);
    expect(
      (await api("POST", `/api/invites/${second.token}/accept`, { token: user.token })).status,
    ).toBe(201);
    expect(await canSee(user, room.id)).toBe(200);
  });

  it("lets a member kicked from a public room rejoin (bans come later)", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner);
    await enrol(api, room, owner, user, "member");
    await api("DELETE", `/api/rooms/${room.id}/members/${user.id}`, { token: owner.token });
    expect((await api("GET", `/api/rooms/${room.id}/members`, { token: user.token })).status).toBe(
      403,
    );
    expect((await api("POST", `/api/rooms/${room.id}/join`, { token: user.token })).status).toBe(
      201,
    );
  });

  it("hides a private room from a member who left", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    await enrol(api, room, owner, user, "member");
    expect((await api("POST", `/api/rooms/${room.id}/leave`, { token: user.token })).status).toBe(
      204,
    );
    expect(await canSee(user, room.id)).toBe(404);
    expect((await api("POST", `/api/rooms/${room.id}/leave`, { token: user.token })).status).toBe(
      404,
    );
  });

  it("answers 404 to everyone once the room is deleted", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner);
    await enrol(api, room, owner, user, "admin");
    expect((await api("DELETE", `/api/rooms/${room.id}`, { token: owner.token })).status).toBe(204);
    for (const who of [owner, user]) {
      expect(await canSee(who, room.id)).toBe(404);
      expect((await api("POST", `/api/rooms/${room.id}/join`, { token: who.token })).status).toBe(
        404,
      );
    }
  });
});

describe("role escalation", () => {
  async function roomWithRoles() {
    const owner = await registerUser(api);
    const admin = await registerUser(api);
    const member = await registerUser(api);
    const room = await createRoom(api, owner);
    await enrol(api, room, owner, admin, "admin");
    await enrol(api, room, owner, member, "member");
    return { owner, admin, member, room };
  }

  async function roles(roomId: string, as: TestUser) {
    const res = await api("GET", `/api/rooms/${roomId}/members`, { token: as.token });
    return Object.fromEntries(
      res.body.items.map((m: { userId: string; role: string }) => [m.userId, m.role]),
    );
  }

  it("stops a member making themself owner or admin", async () => {
    const { owner, member, room } = await roomWithRoles();
    const before = await roles(room.id, owner);
    for (const role of ["owner", "admin"]) {
      const res = await api("PATCH", `/api/rooms/${room.id}/members/${member.id}`, {
        token: member.token,
        json: { role },
      });
      expect(res.status).toBe(403);
    }
    expect(await roles(room.id, owner)).toEqual(before);
  });

  it("stops an admin promoting anyone, themself included, or demoting the owner", async () => {
    const { owner, admin, member, room } = await roomWithRoles();
    const before = await roles(room.id, owner);
    for (const [target, role] of [
      [admin, "owner"],
      [member, "admin"],
      [owner, "member"],
    ] as const) {
      const res = await api("PATCH", `/api/rooms/${room.id}/members/${target.id}`, {
        token: admin.token,
        json: { role },
      });
      expect(res.status).toBe(403);
    }
    expect(await roles(room.id, owner)).toEqual(before);
  });

  it("stops an admin deleting the room", async () => {
    const { admin, room } = await roomWithRoles();
    expect((await api("DELETE", `/api/rooms/${room.id}`, { token: admin.token })).status).toBe(403);
    expect(await canSee(admin, room.id)).toBe(200);
  });

  it("leaves exactly one owner when the owner hands the room to two people at once", async () => {
    const { owner, admin, member, room } = await roomWithRoles();
    const results = await Promise.all(
      [admin, member].map((heir) =>
        api("PATCH", `/api/rooms/${room.id}/members/${heir.id}`, {
          token: owner.token,
          json: { role: "owner" },
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect(statuses.every((s) => s === 200 || s === 403 || s === 409)).toBe(true);
    const after = await roles(room.id, admin);
    const owners = Object.entries(after).filter(([, role]) => role === "owner");
    expect(owners).toHaveLength(1);
    const got = await api("GET", `/api/rooms/${room.id}`, { token: admin.token });
    expect(got.body.ownerId).toBe(owners[0]?.[0]);
  });
});

describe("request size", () => {
  it("refuses a chunked body over 64 KiB with no Content-Length, with 413", async () => {
    const owner = await registerUser(api);
    // 65 KiB in all, streamed in pieces: the server must count them to know. Just over the
    // limit, so it has read everything before it answers and the upload never races the 413.
    const pieces = [16, 16, 16, 16, 1].map((kib) =>
      new TextEncoder().encode("x".repeat(kib * 1024)),
    );
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = pieces.shift();
        if (next) {
          controller.enqueue(next);
        } else {
          controller.close();
        }
      },
    });
    const res = await fetch(`${service.url}/api/rooms`, {
      method: "POST",
      headers: { authorization: `Bearer ${owner.token}`, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe("payload_too_large");
    const mine = await api("GET", "/api/rooms/mine", { token: owner.token });
    expect(mine.body.items).toEqual([]);
  });
});
