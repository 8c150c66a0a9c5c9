import { and, desc, eq, exists, type SQL, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { invites, memberships, type Role, type RoomRow, rooms } from "../db/schema";
import type { RoomWithCount } from "./dto";
import type { Cursor, Page } from "./schemas";

export async function findRoomById(db: Db, id: string): Promise<RoomRow | undefined> {
  return db.select().from(rooms).where(eq(rooms.id, id)).get();
}

/** Member count as a correlated subquery, so a room and its count come back in one statement. */
export const memberCountSql = sql<number>`(select count(*) from ${memberships} where ${memberships.roomId} = ${rooms.id})`;

/** A room and its member count; a query builder, so it can also ride in a db.batch. */
export function selectRoomWithCount(db: Db, roomId: string) {
  return db
    .select({ room: rooms, memberCount: memberCountSql })
    .from(rooms)
    .where(eq(rooms.id, roomId));
}

export async function findRoomWithCount(
  db: Db,
  roomId: string,
): Promise<RoomWithCount | undefined> {
  return selectRoomWithCount(db, roomId).get();
}

/** The room and its owner's membership in one batch, so a room never exists without its owner. */
export async function insertRoomWithOwner(db: Db, room: RoomRow): Promise<void> {
  await db.batch([
    db.insert(rooms).values(room),
    db
      .insert(memberships)
      .values({ roomId: room.id, userId: room.ownerId, role: "owner", joinedAt: room.createdAt }),
  ]);
}

/** Applies the given fields and reads the room back with its count in the same round trip. */
export async function updateRoom(
  db: Db,
  roomId: string,
  fields: { name?: string | undefined; isPrivate?: boolean | undefined },
): Promise<RoomWithCount | undefined> {
  const set: Partial<Pick<RoomRow, "name" | "isPrivate">> = {};
  if (fields.name !== undefined) {
    set.name = fields.name;
  }
  if (fields.isPrivate !== undefined) {
    set.isPrivate = fields.isPrivate;
  }
  const [, rows] = await db.batch([
    db.update(rooms).set(set).where(eq(rooms.id, roomId)),
    selectRoomWithCount(db, roomId),
  ]);
  return rows[0];
}

/** SQL condition: `ownerId` still owns the room. Every owner-only write repeats it. */
export function isOwnedBy(db: Db, roomId: string, ownerId: string): SQL {
  return exists(
    db
      .select({ one: sql`1` })
      .from(rooms)
      .where(and(eq(rooms.id, roomId), eq(rooms.ownerId, ownerId))),
  );
}

/**
 * Deletes the room with its invites and memberships in one batch, only while `ownerId` still owns
 * it (an ownership transfer racing the delete wins). The foreign keys cascade too, but SQLite
 * enforces them only with `PRAGMA foreign_keys` on, which a connection may not have. Returns
 * false when nothing was deleted.
 */
export async function deleteRoomCascade(db: Db, roomId: string, ownerId: string): Promise<boolean> {
  const owned = isOwnedBy(db, roomId, ownerId);
  const [, , deleted] = await db.batch([
    db.delete(invites).where(and(eq(invites.roomId, roomId), owned)),
    db.delete(memberships).where(and(eq(memberships.roomId, roomId), owned)),
    db
      .delete(rooms)
      .where(and(eq(rooms.id, roomId), eq(rooms.ownerId, ownerId)))
      .returning({ id: rooms.id }),
  ]);
  return deleted.length > 0;
}

/** Rows strictly after cursor `c` in (time desc, id desc) order: keyset pagination. */
export function olderThan(time: AnySQLiteColumn, id: AnySQLiteColumn, c: Cursor): SQL {
  return sql`(${time} < ${c.at} or (${time} = ${c.at} and ${id} < ${c.id}))`;
}

/** Rows strictly after cursor `c` in (time asc, id asc) order. */
export function newerThan(time: AnySQLiteColumn, id: AnySQLiteColumn, c: Cursor): SQL {
  return sql`(${time} > ${c.at} or (${time} = ${c.at} and ${id} > ${c.id}))`;
}

/** `%q%` with LIKE's own metacharacters escaped, so `%`, `_` and `\` match themselves. */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/**
 * Public rooms, newest first, optionally filtered by a name substring. SQLite's LIKE folds ASCII
 * case only, which docs/api-decisions.md states. Fetches limit + 1 rows so the caller can tell
 * whether there is a next page.
 */
export async function listPublicRooms(
  db: Db,
  q: string | undefined,
  page: Page,
): Promise<RoomWithCount[]> {
  const conditions = [eq(rooms.isPrivate, false)];
  if (q) {
    conditions.push(sql`${rooms.name} like ${containsPattern(q)} escape '\\'`);
  }
  if (page.cursor) {
    conditions.push(olderThan(rooms.createdAt, rooms.id, page.cursor));
  }
  return db
    .select({ room: rooms, memberCount: memberCountSql })
    .from(rooms)
    .where(and(...conditions))
    .orderBy(desc(rooms.createdAt), desc(rooms.id))
    .limit(page.limit + 1)
    .all();
}

export interface MyRoomRow extends RoomWithCount {
  role: Role;
  joinedAt: number;
}

/** The user's rooms, most recently joined first (limit + 1 rows, see listPublicRooms). */
export async function listRoomsOfUser(db: Db, userId: string, page: Page): Promise<MyRoomRow[]> {
  const conditions = [eq(memberships.userId, userId)];
  if (page.cursor) {
    conditions.push(olderThan(memberships.joinedAt, memberships.roomId, page.cursor));
  }
  return db
    .select({
      room: rooms,
      memberCount: memberCountSql,
      role: memberships.role,
      joinedAt: memberships.joinedAt,
    })
    .from(memberships)
    .innerJoin(rooms, eq(rooms.id, memberships.roomId))
    .where(and(...conditions))
    .orderBy(desc(memberships.joinedAt), desc(memberships.roomId))
    .limit(page.limit + 1)
    .all();
}
