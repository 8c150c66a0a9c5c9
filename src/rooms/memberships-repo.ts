import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type MembershipRow, memberships, type RoomRow, rooms, users } from "../db/schema";

export async function findMembership(
  db: Db,
  roomId: string,
  userId: string,
): Promise<MembershipRow | undefined> {
  return db
    .select()
    .from(memberships)
    .where(and(eq(memberships.roomId, roomId), eq(memberships.userId, userId)))
    .get();
}

/** A room together with the caller's membership (null when not a member), in one query. */
export async function findRoomWithMembership(
  db: Db,
  roomId: string,
  userId: string,
): Promise<{ room: RoomRow; membership: MembershipRow | null } | undefined> {
  const row = await db
    .select({ room: rooms, membership: memberships })
    .from(rooms)
    .leftJoin(memberships, and(eq(memberships.roomId, rooms.id), eq(memberships.userId, userId)))
    .where(eq(rooms.id, roomId))
    .get();
  return row ? { room: row.room, membership: row.membership } : undefined;
}

export function insertMembershipQuery(db: Db, row: typeof memberships.$inferInsert) {
  return db.insert(memberships).values(row).onConflictDoNothing();
}

export async function deleteMembership(db: Db, roomId: string, userId: string): Promise<boolean> {
  const gone = await db
    .delete(memberships)
    .where(and(eq(memberships.roomId, roomId), eq(memberships.userId, userId)))
    .returning()
    .get();
  return gone !== undefined;
}

export interface MemberRow {
  userId: string;
  displayName: string;
  role: MembershipRow["role"];
  joinedAt: number;
  lastSeenAt: number | null;
}

/** Members of a room with their user fields, oldest first. */
export async function listMembers(db: Db, roomId: string): Promise<MemberRow[]> {
  return db
    .select({
      userId: memberships.userId,
      displayName: users.displayName,
      role: memberships.role,
      joinedAt: memberships.joinedAt,
      lastSeenAt: users.lastSeenAt,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.roomId, roomId))
    .orderBy(memberships.joinedAt, memberships.userId)
    .all();
}

/** Ids of every room the user belongs to (for fan-out of logout / profile changes to room DOs). */
export async function listRoomIdsOfUser(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .select({ roomId: memberships.roomId })
    .from(memberships)
    .where(eq(memberships.userId, userId))
    .all();
  return rows.map((r) => r.roomId);
}
