import { type Client, createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createInvite, enrol, rawBodyCases } from "../authz-matrix";
import { apiClient } from "../helpers/api";
import { createRoom, registerUser, type TestUser } from "../helpers/factories";
import { useService } from "../helpers/service";

const service = useService({ AUTH_RATE_LIMIT: "1000000" });
const api = apiClient(service);
/** Direct access to the run's libSQL database, to move an invite's expiry into the past. */
let db: Client;

beforeAll(async () => {
  db = createClient({ url: inject("libsqlUrl") });
});

afterAll(async () => {
  db?.close();
});

async function invitesOf(roomId: string, as: TestUser) {
  const res = await api("GET", `/api/rooms/${roomId}/invites`, { token: as.token });
  expect(res.status).toBe(200);
  return res.body.items;
}

async function expire(inviteId: string): Promise<void> {
  await db.execute({
    sql: "update invites set expires_at = ? where id = ?",
    args: [Date.now() - 1000, inviteId],
  });
}

describe("creating an invite with a bad body", () => {
  let owner: TestUser;
  let room: { id: string; isPrivate: boolean };
  beforeAll(async () => {
    owner = await registerUser(api);
    room = await createRoom(api, owner, { isPrivate: true });
  });

  it.each([
    ["expiresInHours 0", { expiresInHours: 0 }],
    ["expiresInHours -1", { expiresInHours: -1 }],
    ["expiresInHours 721", { expiresInHours: 721 }],
    ["expiresInHours 10,000", { expiresInHours: 10_000 }],
    ["expiresInHours 1.5", { expiresInHours: 1.5 }],
    ["expiresInHours as a string", { expiresInHours: "24" }],
    ["expiresInHours null", { expiresInHours: null }],
    ["expiresInHours true", { expiresInHours: true }],
    ["maxUses 0", { maxUses: 0 }],
    ["maxUses -1", { maxUses: -1 }],
    ["maxUses 10,001", { maxUses: 10_001 }],
    ["maxUses 1e9", { maxUses: 1e9 }],
    ["maxUses 2^53 + 1", { maxUses: 2 ** 53 + 1 }],
    ["maxUses as a string", { maxUses: "5" }],
    ["maxUses 2.5", { maxUses: 2.5 }],
    ["maxUses an array", { maxUses: [5] }],
  ])("refuses %s with 400 and creates nothing", async (_label, body) => {
    const res = await api("POST", `/api/rooms/${room.id}/invites`, {
      token: owner.token,
      json: body,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    expect(await invitesOf(room.id, owner)).toEqual([]);
  });

  it.each([
    ["1e309 (Infinity once parsed)", '{"maxUses": 1e309}'],
    ["-0", '{"expiresInHours": -0}'],
    ["a huge exponent", '{"expiresInHours": 1e400000}'],
  ])("refuses the raw number %s with 400", async (_label, body) => {
    const res = await api("POST", `/api/rooms/${room.id}/invites`, {
      token: owner.token,
      body,
      headers: { "content-type": "application/json" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(await invitesOf(room.id, owner)).toEqual([]);
  });

  it.each(rawBodyCases({ expiresInHours: 1 }))("refuses $label with $status", async (c) => {
    const res = await api("POST", `/api/rooms/${room.id}/invites`, {
      token: owner.token,
      body: c.body,
      headers: c.headers,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(c.status);
    expect(await invitesOf(room.id, owner)).toEqual([]);
  });

  it("ignores fields a client must not set (uses, revokedAt, roomId, tokenHash)", async () => {
    const other = await createRoom(api, owner);
    const res = await api("POST", `/api/rooms/${room.id}/invites`, {
      token: owner.token,
      json: {
        uses: 99,
        revokedAt: 1,
        roomId: other.id,
        tokenHash: "00",
        token: "mine",
        id: "inv_x",
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.uses).toBe(0);
    expect(res.body.token).not.toBe("mine");
    expect(res.body.id).not.toBe("inv_x");
    const [listed] = await invitesOf(room.id, owner);
    expect(listed).toMatchObject({ id: res.body.id, roomId: room.id, revokedAt: null });
    expect(await invitesOf(other.id, owner)).toEqual([]);
  });
});

describe("unknown and garbled tokens", () => {
  it.each([
    ["a well-formed unknown token", "A".repeat(43)],
    ["a short token", "x"],
    ["a token with odd characters", "%E2%80%AEabc"],
  ])("answer 404 for %s on preview, QR and accept", async (_label, token) => {
    const user = await registerUser(api);
    expect((await api("GET", `/api/invites/${token}`)).status).toBe(404);
    expect((await api("GET", `/api/invites/${token}/qr.svg`)).status).toBe(404);
    expect((await api("POST", `/api/invites/${token}/accept`, { token: user.token })).status).toBe(
      404,
    );
    expect((await api("GET", "/api/rooms/mine", { token: user.token })).body.items).toEqual([]);
  });

  it("answers 400 for a token longer than any we issue", async () => {
    expect((await api("GET", `/api/invites/${"a".repeat(257)}`)).status).toBe(400);
  });

  it("answers the QR code's 404 as JSON in the error envelope", async () => {
    const res = await api("GET", `/api/invites/${"B".repeat(43)}/qr.svg`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(res.body.error.code).toBe("not_found");
  });
});

describe("invites that no longer work", () => {
  it("refuses an expired invite with 410 expired, shows it invalid and draws no QR", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    await expire(invite.id);
    const res = await api("POST", `/api/invites/${invite.token}/accept`, { token: user.token });
    expect(res.status).toBe(410);
    expect(res.body.error).toMatchObject({ code: "gone", details: { reason: "expired" } });
    expect((await api("GET", `/api/invites/${invite.token}`)).body.valid).toBe(false);
    expect((await api("GET", `/api/invites/${invite.token}/qr.svg`)).status).toBe(410);
    expect((await invitesOf(room.id, owner))[0].uses).toBe(0);
    expect((await api("GET", `/api/rooms/${room.id}`, { token: user.token })).status).toBe(404);
  });

  it("still answers 200 to a member holding an expired invite (nothing to grant)", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    await enrol(api, room, owner, user, "member", invite.token);
    await expire(invite.id);
    const res = await api("POST", `/api/invites/${invite.token}/accept`, { token: user.token });
    expect(res.status).toBe(200);
  });

  it("refuses a used-up invite with 410 used_up", async () => {
    const owner = await registerUser(api);
    const [first, second] = [await registerUser(api), await registerUser(api)];
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner, { maxUses: 1 });
    expect(
      (await api("POST", `/api/invites/${invite.token}/accept`, { token: first.token })).status,
    ).toBe(201);
    const res = await api("POST", `/api/invites/${invite.token}/accept`, { token: second.token });
    expect(res.status).toBe(410);
    expect(res.body.error.details).toEqual({ reason: "used_up" });
    expect((await api("GET", `/api/invites/${invite.token}`)).body.valid).toBe(false);
    expect((await invitesOf(room.id, owner))[0].uses).toBe(1);
  });

  it("answers 404 once the invite's room is deleted", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    await api("DELETE", `/api/rooms/${room.id}`, { token: owner.token });
    expect(
      (await api("POST", `/api/invites/${invite.token}/accept`, { token: user.token })).status,
    ).toBe(404);
    expect((await api("GET", `/api/invites/${invite.token}`)).status).toBe(404);
  });
});

describe("revoking what isn't there", () => {
  it("answers 404 for an unknown invite id and for another room's invite", async () => {
    const owner = await registerUser(api);
    const a = await createRoom(api, owner, { isPrivate: true });
    const b = await createRoom(api, owner, { isPrivate: true });
    const inB = await createInvite(api, b.id, owner);
    expect(
      (
        await api("DELETE", `/api/rooms/${a.id}/invites/inv_0000000000000000000000`, {
          token: owner.token,
        })
      ).status,
    ).toBe(404);
    expect(
      (await api("DELETE", `/api/rooms/${a.id}/invites/${inB.id}`, { token: owner.token })).status,
    ).toBe(404);
    expect((await api("GET", `/api/invites/${inB.token}`)).body.valid).toBe(true);
  });

  it("answers 400 for a malformed invite id", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    const res = await api("DELETE", `/api/rooms/${room.id}/invites/inv.x`, { token: owner.token });
    expect(res.status).toBe(400);
  });

  it("answers 400 to bad paging of the invite list", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    for (const q of ["limit=0", "limit=101", "cursor=zz"]) {
      expect(
        (await api("GET", `/api/rooms/${room.id}/invites?${q}`, { token: owner.token })).status,
      ).toBe(400);
    }
  });
});
