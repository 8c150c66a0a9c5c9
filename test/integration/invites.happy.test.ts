import { encode } from "uqr";
import { describe, expect, it } from "vitest";
import { QR_OPTIONS } from "../../src/invites/qr";
import { createInvite, enrol } from "../authz-matrix";
import { apiClient } from "../helpers/api";
import { createRoom, guestUser, registerUser, type TestUser } from "../helpers/factories";
import { useService } from "../helpers/service";

const service = useService({ AUTH_RATE_LIMIT: "1000000" });
const api = apiClient(service);

const HOUR_MS = 3_600_000;

async function listInvites(roomId: string, as: TestUser) {
  const res = await api("GET", `/api/rooms/${roomId}/invites`, { token: as.token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The dark modules of an SVG QR code drawn by uqr (one square path per module). */
function darkModules(svg: string): Set<string> {
  const cells = new Set<string>();
  for (const m of svg.matchAll(/M(\d+),(\d+)h/g)) {
    cells.add(`${Number(m[1]) / QR_OPTIONS.pixelSize},${Number(m[2]) / QR_OPTIONS.pixelSize}`);
  }
  return cells;
}

describe("creating invites", () => {
  it("gives the owner a one-week unlimited invite with a join URL by default", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const before = Date.now();
    const res = await api("POST", `/api/rooms/${room.id}/invites`, {
      token: owner.token,
      json: {},
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body).toEqual({
      id: expect.stringMatching(/^inv_/),
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      url: `${service.url}/join#${res.body.token}`,
      expiresAt: expect.any(String),
      maxUses: null,
      uses: 0,
    });
    const expires = Date.parse(res.body.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 168 * HOUR_MS - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 168 * HOUR_MS + 1000);
  });

  it("lets an admin create an invite with its own expiry and use limit", async () => {
    const owner = await registerUser(api);
    const admin = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    await enrol(api, room, owner, admin, "admin");
    const res = await api("POST", `/api/rooms/${room.id}/invites`, {
      token: admin.token,
      json: { expiresInHours: 2, maxUses: 3 },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ maxUses: 3, uses: 0 });
    expect(Math.abs(Date.parse(res.body.expiresAt) - Date.now() - 2 * HOUR_MS)).toBeLessThan(5000);
  });

  it("accepts the bounds: 1 and 720 hours, 1 and 10,000 uses", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner);
    for (const body of [
      { expiresInHours: 1, maxUses: 1 },
      { expiresInHours: 720, maxUses: 10_000 },
    ]) {
      const res = await api("POST", `/api/rooms/${room.id}/invites`, {
        token: owner.token,
        json: body,
      });
      expect(res.status).toBe(201);
      expect(res.body.maxUses).toBe(body.maxUses);
    }
  });
});

describe("previewing an invite", () => {
  it("shows the room, its size and validity to anyone holding the link, without a token", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner, { maxUses: 2 });
    const res = await api("GET", `/api/invites/${invite.token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body).toEqual({
      room: { id: room.id, name: room.name, memberCount: 1 },
      expiresAt: expect.any(String),
      valid: true,
    });
  });
});

describe("the invite QR code", () => {
  it("is an SVG of the join URL, served without a token", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    const res = await fetch(`${service.url}/api/invites/${invite.token}/qr.svg`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^image\/svg\+xml/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const svg = await res.text();
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    const expected = new Set<string>();
    encode(invite.url, QR_OPTIONS).data.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (dark) {
          expected.add(`${x},${y}`);
        }
      });
    });
    expect(darkModules(svg)).toEqual(expected);
  });
});

describe("accepting invites", () => {
  it("makes the user a member with 201 and spends one use", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner, { maxUses: 3 });
    const res = await api("POST", `/api/invites/${invite.token}/accept`, { token: user.token });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      room: expect.objectContaining({ id: room.id, isPrivate: true, memberCount: 2 }),
      role: "member",
      joinedAt: expect.any(String),
    });
    const list = await listInvites(room.id, owner);
    expect(list.items[0]).toMatchObject({ id: invite.id, uses: 1, maxUses: 3 });
    const preview = await api("GET", `/api/invites/${invite.token}`);
    expect(preview.body.room.memberCount).toBe(2);
  });

  it("answers 200 to an existing member and spends nothing", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner, { maxUses: 1 });
    const first = await api("POST", `/api/invites/${invite.token}/accept`, { token: user.token });
    const again = await api("POST", `/api/invites/${invite.token}/accept`, { token: user.token });
    const byOwner = await api("POST", `/api/invites/${invite.token}/accept`, {
      token: owner.token,
    });
    expect([first.status, again.status, byOwner.status]).toEqual([201, 200, 200]);
    expect(again.body).toEqual(first.body);
    expect(byOwner.body.role).toBe("owner");
    expect((await listInvites(room.id, owner)).items[0].uses).toBe(1);
  });

  it("works for guests and for public rooms", async () => {
    const owner = await registerUser(api);
    const guest = await guestUser(api);
    const room = await createRoom(api, owner);
    const invite = await createInvite(api, room.id, owner);
    const res = await api("POST", `/api/invites/${invite.token}/accept`, { token: guest.token });
    expect(res.status).toBe(201);
    expect(res.body.room.isPrivate).toBe(false);
  });
});

describe("listing and revoking invites", () => {
  it("lists metadata newest first, never a token, page by page", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const a = await createInvite(api, room.id, owner);
    const b = await createInvite(api, room.id, owner, { maxUses: 5 });
    const c = await createInvite(api, room.id, owner, { expiresInHours: 1 });
    const page1 = await api("GET", `/api/rooms/${room.id}/invites?limit=2`, { token: owner.token });
    expect(page1.body.items.map((i: { id: string }) => i.id)).toEqual([c.id, b.id]);
    expect(page1.body.items[1]).toEqual({
      id: b.id,
      roomId: room.id,
      createdBy: owner.id,
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
      maxUses: 5,
      uses: 0,
      revokedAt: null,
    });
    const text = JSON.stringify(page1.body);
    for (const inv of [a, b, c]) {
      expect(text).not.toContain(inv.token);
    }
    const page2 = await api(
      "GET",
      `/api/rooms/${room.id}/invites?limit=2&cursor=${page1.body.nextCursor}`,
      {
        token: owner.token,
      },
    );
    expect(page2.body).toEqual({
      items: [expect.objectContaining({ id: a.id })],
      nextCursor: null,
    });
  });

  it("revokes an invite: 204, revokedAt set, preview invalid, accept 410, QR 410", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    const res = await api("DELETE", `/api/rooms/${room.id}/invites/${invite.id}`, {
      token: owner.token,
    });
    expect(res.status).toBe(204);
    const listed = (await listInvites(room.id, owner)).items[0];
    expect(listed.revokedAt).toEqual(expect.any(String));
    expect((await api("GET", `/api/invites/${invite.token}`)).body.valid).toBe(false);
    const accept = await api("POST", `/api/invites/${invite.token}/accept`, { token: user.token });
    expect(accept.status).toBe(410);
    expect(accept.body.error).toMatchObject({ code: "gone", details: { reason: "revoked" } });
    expect((await api("GET", `/api/invites/${invite.token}/qr.svg`)).status).toBe(410);
    // Revoking again is harmless and keeps the first revocation time.
    expect(
      (await api("DELETE", `/api/rooms/${room.id}/invites/${invite.id}`, { token: owner.token }))
        .status,
    ).toBe(204);
    expect((await listInvites(room.id, owner)).items[0].revokedAt).toBe(listed.revokedAt);
  });
});
