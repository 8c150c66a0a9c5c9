import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { and, eq } from "drizzle-orm";
import { migrate } from "drizzle-orm/libsql/migrator";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LibsqlServer } from "../../scripts/libsql/hrana-server.ts";
import { startLibsqlServer } from "../../scripts/libsql/hrana-server.ts";
import { selectLiveSessionUser } from "../../src/auth/sessions-repo";
import { readUpgradeAccess } from "../../src/chat/upgrade-read";
import { createDb, type Db } from "../../src/db/client";
import { memberships, type Role, rooms, sessions, users } from "../../src/db/schema";
import { memberCountSql } from "../../src/rooms/rooms-repo";

// readUpgradeAccess runs fixed SQL instead of drizzle; these tests hold it to the drizzle batch
// authorizeUpgrade ran before, on the production driver (@libsql/client/web via createDb, Hrana
// over HTTP) against the project's libSQL server migrated with the real migrations.

/** The room query authorizeUpgrade used to batch (memberships-repo's former builder). */
function selectRoomCountAndMembership(db: Db, roomId: string, userId: string) {
  return db
    .select({ room: rooms, memberCount: memberCountSql, membership: memberships })
    .from(rooms)
    .leftJoin(memberships, and(eq(memberships.roomId, rooms.id), eq(memberships.userId, userId)))
    .where(eq(rooms.id, roomId));
}

interface Query {
  sessionId: string;
  userId: string;
  roomId: string;
  now: number;
}

async function viaDrizzle(q: Query) {
  const [[session], [found]] = await db.batch([
    selectLiveSessionUser(db, q.sessionId, q.userId, q.now),
    selectRoomCountAndMembership(db, q.roomId, q.userId),
  ]);
  // The upgrade reads only the identity fields of the user.
  const user = session && {
    id: session.user.id,
    displayName: session.user.displayName,
    isGuest: session.user.isGuest,
  };
  return { session: user && { user }, found };
}

/** Both paths on the same query; asserts they agree and returns the (shared) answer. */
async function compare(q: Query) {
  const mine = await readUpgradeAccess(db.$client, q);
  expect(mine).toStrictEqual(await viaDrizzle(q));
  return mine;
}

let dir: string;
let server: LibsqlServer;
let db: Db;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "upgrade-read-"));
  server = await startLibsqlServer({ file: join(dir, "test.db"), port: 0 });
  db = createDb(server.url);
  await migrate(db, { migrationsFolder: resolve(import.meta.dirname, "../../migrations") });
});

afterAll(async () => {
  db?.$client.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const NOW = 1_750_000_000_000;

describe("readUpgradeAccess (fixed cases)", () => {
  beforeAll(async () => {
    await db.insert(users).values([
      {
        id: "alice",
        email: "alice@example.com",
        passwordHash: "hash-a",
        displayName: "Alice",
        isGuest: false,
        createdAt: NOW - 10_000,
        lastSeenAt: NOW - 5,
      },
      {
        id: "bob",
        email: null,
        passwordHash: null,
        displayName: "Bob (guest)",
        isGuest: true,
        createdAt: NOW - 9_000,
        lastSeenAt: null,
      },
      { id: "carol", displayName: "Carol", isGuest: false, createdAt: NOW - 8_000 },
      { id: "dave", displayName: "Dave", isGuest: true, createdAt: NOW - 7_000 },
    ]);
    const session = (id: string, userId: string, expiresAt: number, revokedAt: number | null) => ({
      id,
      userId,
      refreshTokenHash: `rt-${id}`,
      createdAt: NOW - 1_000,
      expiresAt,
      revokedAt,
    });
    await db
      .insert(sessions)
      .values([
        session("s-alice", "alice", NOW + 60_000, null),
        session("s-bob", "bob", NOW + 1, null),
        session("s-revoked", "alice", NOW + 60_000, NOW - 100),
        session("s-expired", "alice", NOW - 1, null),
        session("s-expires-now", "alice", NOW, null),
      ]);
    await db.insert(rooms).values([
      { id: "public", name: "Lobby", isPrivate: false, ownerId: "alice", createdAt: NOW - 500 },
      { id: "private", name: "Secret", isPrivate: true, ownerId: "carol", createdAt: NOW - 400 },
      { id: "empty", name: "Empty", isPrivate: false, ownerId: "dave", createdAt: NOW - 300 },
    ]);
    await db.insert(memberships).values([
      { roomId: "public", userId: "alice", role: "owner", joinedAt: NOW - 500 },
      { roomId: "public", userId: "carol", role: "admin", joinedAt: NOW - 450 },
      { roomId: "public", userId: "dave", role: "member", joinedAt: NOW - 440 },
      { roomId: "private", userId: "carol", role: "owner", joinedAt: NOW - 400 },
      { roomId: "private", userId: "bob", role: "member", joinedAt: NOW - 390 },
    ]);
  });

  it("live session, member of a public room with several members", async () => {
    const r = await compare({ sessionId: "s-alice", userId: "alice", roomId: "public", now: NOW });
    expect(r.session?.user).toMatchObject({ id: "alice", displayName: "Alice", isGuest: false });
    expect(r.found).toStrictEqual({
      room: {
        id: "public",
        name: "Lobby",
        isPrivate: false,
        ownerId: "alice",
        createdAt: NOW - 500,
      },
      memberCount: 3,
      membership: { roomId: "public", userId: "alice", role: "owner", joinedAt: NOW - 500 },
    });
  });

  it("guest, member of a private room", async () => {
    const r = await compare({ sessionId: "s-bob", userId: "bob", roomId: "private", now: NOW });
    expect(r.session?.user).toStrictEqual({ id: "bob", displayName: "Bob (guest)", isGuest: true });
    expect(r.found?.room.isPrivate).toBe(true);
    expect(r.found?.memberCount).toBe(2);
    expect(r.found?.membership?.role).toBe("member");
  });

  it("not a member: public room and private room", async () => {
    const pub = await compare({ sessionId: "s-bob", userId: "bob", roomId: "public", now: NOW });
    expect(pub.found?.membership).toBeNull();
    expect(pub.found?.memberCount).toBe(3);
    const priv = await compare({
      sessionId: "s-alice",
      userId: "alice",
      roomId: "private",
      now: NOW,
    });
    expect(priv.session).toBeDefined();
    expect(priv.found?.membership).toBeNull();
    expect(priv.found?.room.isPrivate).toBe(true);
  });

  it("room without members counts 0", async () => {
    const r = await compare({ sessionId: "s-alice", userId: "alice", roomId: "empty", now: NOW });
    expect(r.found?.memberCount).toBe(0);
    expect(r.found?.membership).toBeNull();
  });

  it("dead sessions: revoked, expired, expiring exactly now, another user's, unknown", async () => {
    for (const [sessionId, userId] of [
      ["s-revoked", "alice"],
      ["s-expired", "alice"],
      ["s-expires-now", "alice"],
      ["s-bob", "alice"],
      ["s-alice", "bob"],
      ["nope", "alice"],
    ] as const) {
      const r = await compare({ sessionId, userId, roomId: "public", now: NOW });
      expect(r.session, sessionId).toBeUndefined();
      expect(r.found?.room.id).toBe("public");
    }
    // s-bob is live one millisecond before it expires, not at it.
    expect(
      (await compare({ sessionId: "s-bob", userId: "bob", roomId: "empty", now: NOW + 1 })).session,
    ).toBeUndefined();
  });

  it("unknown room", async () => {
    const r = await compare({ sessionId: "s-alice", userId: "alice", roomId: "nope", now: NOW });
    expect(r.session).toBeDefined();
    expect(r.found).toBeUndefined();
  });
});

describe("readUpgradeAccess (random fixtures)", () => {
  const roleArb = fc.constantFrom<Role>("owner", "admin", "member");
  const worldArb = fc.record({
    users: fc.array(
      fc.record({
        guest: fc.boolean(),
        email: fc.option(fc.string({ maxLength: 12 }), { nil: null }),
        lastSeen: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: null }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    sessions: fc.array(
      fc.record({
        user: fc.nat(),
        expiresIn: fc.integer({ min: -3, max: 3 }),
        revoked: fc.boolean(),
      }),
      { maxLength: 5 },
    ),
    rooms: fc.array(fc.record({ owner: fc.nat(), isPrivate: fc.boolean() }), { maxLength: 3 }),
    members: fc.array(fc.record({ room: fc.nat(), user: fc.nat(), role: roleArb }), {
      maxLength: 8,
    }),
  });

  let run = 0;
  it("matches drizzle on every (session, user, room) of a random world", async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (w) => {
        const p = `w${run++}-`;
        const userIds = w.users.map((_, i) => `${p}u${i}`);
        const pick = <T>(xs: T[], n: number) => xs[n % xs.length] as T;
        await db.insert(users).values(
          w.users.map((u, i) => ({
            id: pick(userIds, i),
            // Emails are unique; the prefix and index keep them so.
            email: u.email === null ? null : `${p}${i}-${u.email}`,
            passwordHash: u.email === null ? null : "h",
            displayName: `${p}name${i}`,
            isGuest: u.guest,
            createdAt: i,
            lastSeenAt: u.lastSeen,
          })),
        );
        const sessionIds = w.sessions.map((_, i) => `${p}s${i}`);
        if (w.sessions.length > 0) {
          await db.insert(sessions).values(
            w.sessions.map((s, i) => ({
              id: pick(sessionIds, i),
              userId: pick(userIds, s.user),
              refreshTokenHash: "rt",
              createdAt: NOW - 10,
              expiresAt: NOW + s.expiresIn,
              revokedAt: s.revoked ? NOW - 1 : null,
            })),
          );
        }
        const roomIds = w.rooms.map((_, i) => `${p}r${i}`);
        if (w.rooms.length > 0) {
          await db.insert(rooms).values(
            w.rooms.map((r, i) => ({
              id: pick(roomIds, i),
              name: `room ${i}`,
              isPrivate: r.isPrivate,
              ownerId: pick(userIds, r.owner),
              createdAt: NOW - i,
            })),
          );
          await Promise.all(
            w.members.map((m, i) =>
              db
                .insert(memberships)
                .values({
                  roomId: pick(roomIds, m.room),
                  userId: pick(userIds, m.user),
                  role: m.role,
                  joinedAt: NOW + i,
                })
                .onConflictDoNothing(),
            ),
          );
        }
        for (const sessionId of [...sessionIds, `${p}missing`]) {
          for (const userId of userIds) {
            for (const roomId of [...roomIds, `${p}missing`]) {
              await compare({ sessionId, userId, roomId, now: NOW });
            }
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});
