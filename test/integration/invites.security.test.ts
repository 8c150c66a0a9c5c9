import { createHash } from "node:crypto";
import { type Client, createClient } from "@libsql/client";
import { encode } from "uqr";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { QR_OPTIONS } from "../../src/invites/qr";
import { createInvite, enrol } from "../authz-matrix";
import { apiClient } from "../helpers/api";
import { createRoom, registerUser, type TestUser } from "../helpers/factories";
import { startService, useService } from "../helpers/service";

const PUBLIC_URL = "https://chat.example.test";

const service = useService({ AUTH_RATE_LIMIT: "1000000", PUBLIC_URL });
const api = apiClient(service);
/** Direct access to the run's libSQL database, to inspect what is stored. */
let db: Client;

beforeAll(async () => {
  db = createClient({ url: inject("libsqlUrl") });
});

afterAll(async () => {
  db?.close();
});

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

async function inviteRow(id: string) {
  const rs = await db.execute({ sql: "select * from invites where id = ?", args: [id] });
  return rs.rows[0];
}

async function memberCount(roomId: string, as: TestUser): Promise<number> {
  const res = await api("GET", `/api/rooms/${roomId}`, { token: as.token });
  return res.body.memberCount;
}

describe("invite tokens", () => {
  it("are at least 128 bits of URL-safe randomness, all different", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const tokens = await Promise.all(
      Array.from({ length: 20 }, async () => (await createInvite(api, room.id, owner)).token),
    );
    expect(new Set(tokens).size).toBe(20);
    for (const t of tokens) {
      // 22 base64url characters carry 132 bits; we issue 43 (256 bits).
      expect(t).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    }
  });

  it("are stored only as their SHA-256, so a database dump can't be used to join", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    const row = await inviteRow(invite.id);
    expect(row?.token_hash).toBe(sha256(invite.token));
    expect(JSON.stringify(row)).not.toContain(invite.token);
    // The stored hash is not itself a working token.
    const thief = await registerUser(api);
    const res = await api("POST", `/api/invites/${row?.token_hash}/accept`, { token: thief.token });
    expect(res.status).toBe(404);
  });

  it("never come back from the invite list", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    const res = await api("GET", `/api/rooms/${room.id}/invites`, { token: owner.token });
    expect(JSON.stringify(res.body)).not.toContain(invite.token);
    expect(Object.keys(res.body.items[0])).not.toContain("token");
    expect(Object.keys(res.body.items[0])).not.toContain("tokenHash");
  });

  it("answer every unknown token with the same 404 body", async () => {
    const bodies = await Promise.all(
      ["A".repeat(43), "B".repeat(43), "short", "z".repeat(100)].map(
        async (t) => (await api("GET", `/api/invites/${t}`)).body,
      ),
    );
    for (const b of bodies) {
      expect(b).toEqual(bodies[0]);
    }
  });
});

describe("join links and QR codes", () => {
  it("carry the token in the URL fragment on PUBLIC_URL, never in a path or query", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    expect(invite.url).toBe(`${PUBLIC_URL}/join#${invite.token}`);
    const url = new URL(invite.url);
    expect(url.pathname).toBe("/join");
    expect(url.search).toBe("");
    expect(url.hash).toBe(`#${invite.token}`);
  });

  it("encode the PUBLIC_URL join link in the QR code", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    const res = await fetch(`${service.url}/api/invites/${invite.token}/qr.svg`);
    const svg = await res.text();
    const size = QR_OPTIONS.pixelSize;
    const drawn = new Set(
      [...svg.matchAll(/M(\d+),(\d+)h/g)].map(
        (m) => `${Number(m[1]) / size},${Number(m[2]) / size}`,
      ),
    );
    const expected = new Set<string>();
    encode(`${PUBLIC_URL}/join#${invite.token}`, QR_OPTIONS).data.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (dark) {
          expected.add(`${x},${y}`);
        }
      });
    });
    expect(drawn).toEqual(expected);
  });

  it("are served with no-store and no referrer", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const created = await api("POST", `/api/rooms/${room.id}/invites`, {
      token: owner.token,
      json: {},
    });
    for (const res of [
      created,
      await api("GET", `/api/invites/${created.body.token}`),
      await api("GET", `/api/invites/${created.body.token}/qr.svg`),
      await api("GET", `/api/invites/${"C".repeat(43)}`),
    ]) {
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });
});

describe("who manages invites", () => {
  it("refuses members (403) and hides a private room's invites from outsiders (404)", async () => {
    const owner = await registerUser(api);
    const member = await registerUser(api);
    const outsider = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    await enrol(api, room, owner, member, "member", invite.token);
    for (const [user, status] of [
      [member, 403],
      [outsider, 404],
    ] as const) {
      const create = await api("POST", `/api/rooms/${room.id}/invites`, {
        token: user.token,
        json: {},
      });
      const list = await api("GET", `/api/rooms/${room.id}/invites`, { token: user.token });
      const revoke = await api("DELETE", `/api/rooms/${room.id}/invites/${invite.id}`, {
        token: user.token,
      });
      expect([create.status, list.status, revoke.status]).toEqual([status, status, status]);
    }
    expect((await api("GET", `/api/invites/${invite.token}`)).body.valid).toBe(true);
  });

  it("stops a room's admin from revoking another room's invite through their own room", async () => {
    const ownerA = await registerUser(api);
    const ownerB = await registerUser(api);
    const roomA = await createRoom(api, ownerA, { isPrivate: true });
    const roomB = await createRoom(api, ownerB, { isPrivate: true });
    const inviteB = await createInvite(api, roomB.id, ownerB);
    const res = await api("DELETE", `/api/rooms/${roomA.id}/invites/${inviteB.id}`, {
      token: ownerA.token,
    });
    expect(res.status).toBe(404);
    expect((await api("GET", `/api/invites/${inviteB.token}`)).body.valid).toBe(true);
  });

  it("keeps a kicked member out once the links they knew are revoked", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const link = await createInvite(api, room.id, owner);
    await enrol(api, room, owner, user, "member", link.token);
    await api("DELETE", `/api/rooms/${room.id}/members/${user.id}`, { token: owner.token });
    await api("DELETE", `/api/rooms/${room.id}/invites/${link.id}`, { token: owner.token });
    const res = await api("POST", `/api/invites/${link.token}/accept`, { token: user.token });
    expect(res.status).toBe(410);
    expect((await api("GET", `/api/rooms/${room.id}`, { token: user.token })).status).toBe(404);
  });
});

describe("racing accepts", () => {
  it("lets exactly 5 of 50 different users in through a 5-use invite", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner, { maxUses: 5 });
    const users = await Promise.all(Array.from({ length: 50 }, () => registerUser(api)));
    const results = await Promise.all(
      users.map((u) => api("POST", `/api/invites/${invite.token}/accept`, { token: u.token })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 410)).toHaveLength(45);
    expect(await memberCount(room.id, owner)).toBe(6);
    expect((await inviteRow(invite.id))?.uses).toBe(5);
    const members = await api("GET", `/api/rooms/${room.id}/members`, { token: owner.token });
    const winners = new Set(users.filter((_, i) => statuses[i] === 201).map((u) => u.id));
    expect(
      new Set(
        members.body.items
          .map((m: { userId: string }) => m.userId)
          .filter((id: string) => id !== owner.id),
      ),
    ).toEqual(winners);
  });

  it("lets one user accepting 20 times at once in once, spending one use", async () => {
    const owner = await registerUser(api);
    const user = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner, { maxUses: 10 });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        api("POST", `/api/invites/${invite.token}/accept`, { token: user.token }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    expect(await memberCount(room.id, owner)).toBe(2);
    expect((await inviteRow(invite.id))?.uses).toBe(1);
  });

  it("lets nobody in through an invite revoked while accepts race it", async () => {
    const owner = await registerUser(api);
    const room = await createRoom(api, owner, { isPrivate: true });
    const invite = await createInvite(api, room.id, owner);
    const users = await Promise.all(Array.from({ length: 10 }, () => registerUser(api)));
    await api("DELETE", `/api/rooms/${room.id}/invites/${invite.id}`, { token: owner.token });
    const results = await Promise.all(
      users.map((u) => api("POST", `/api/invites/${invite.token}/accept`, { token: u.token })),
    );
    expect(results.every((r) => r.status === 410)).toBe(true);
    expect(await memberCount(room.id, owner)).toBe(1);
  });
});

describe("invite accept rate limit", () => {
  it("is applied per address with 429 and Retry-After", async () => {
    const limited = await startService({ AUTH_RATE_LIMIT: "3" });
    try {
      const lapi = apiClient(limited.url);
      // Registration has its own budget per action, so three users fit.
      const owner = await registerUser(lapi);
      const user = await registerUser(lapi);
      const room = await createRoom(lapi, owner, { isPrivate: true });
      const invite = await createInvite(lapi, room.id, owner);
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const res = await lapi("POST", `/api/invites/${invite.token}/accept`, {
          token: user.token,
        });
        statuses.push(res.status);
        retryAfter ??= res.headers.get("retry-after");
      }
      expect(statuses.slice(0, 3)).toEqual([201, 200, 200]);
      expect(statuses.slice(3)).toEqual([429, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
