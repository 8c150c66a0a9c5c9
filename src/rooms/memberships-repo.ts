import { and, eq, exists, ne, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import {
  type MembershipRow,
  memberships,
  type Role,
  type RoomRow,
  rooms,
  users,
} from "../db/schema";
import type { RoomWithCount } from "./dto";
import { isOwnedBy, newerThan, selectRoomWithCount } from "./rooms-repo";
import type { Page } from "./schemas";

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

const memberFields = {
  userId: memberships.userId,
  displayName: users.displayName,
  role: memberships.role,
  joinedAt: memberships.joinedAt,
  lastSeenAt: users.lastSeenAt,
};

/** Members of a room with their user fields, oldest first. */
export async function listMembers(db: Db, roomId: string): Promise<MemberRow[]> {
  return db
    .select(memberFields)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.roomId, roomId))
    .orderBy(memberships.joinedAt, memberships.userId)
    .all();
}

/** One page of a room's members, oldest first (limit + 1 rows, so the caller sees a next page). */
export async function listMembersPage(db: Db, roomId: string, page: Page): Promise<MemberRow[]> {
  const conditions = [eq(memberships.roomId, roomId)];
  if (page.cursor) {
    conditions.push(newerThan(memberships.joinedAt, memberships.userId, page.cursor));
  }
  return db
    .select(memberFields)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(...conditions))
    .orderBy(memberships.joinedAt, memberships.userId)
    .limit(page.limit + 1)
    .all();
}

/** One member with user fields; a query builder so it can ride in a batch after a change. */
function selectMember(db: Db, roomId: string, userId: string) {
  return db
    .select(memberFields)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.roomId, roomId), eq(memberships.userId, userId)));
}

export async function findMember(
  db: Db,
  roomId: string,
  userId: string,
): Promise<MemberRow | undefined> {
  return selectMember(db, roomId, userId).get();
}

export async function countMembers(db: Db, roomId: string): Promise<number> {
  const row = await db
    .select({ n: sql<number>`count(*)` })
    .from(memberships)
    .where(eq(memberships.roomId, roomId))
    .get();
  return row?.n ?? 0;
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

export interface JoinResult {
  /** True when this call created the membership. */
  joined: boolean;
  membership: MembershipRow | undefined;
  room: RoomWithCount | undefined;
}

/**
 * Joins a public room. The insert selects from the room itself with `is_private = 0`, so a room
 * made private between the caller's check and this statement can't be joined; an existing
 * membership is left as it is. The membership and the room (with its new count) come back in the
 * same round trip.
 */
export async function joinPublicRoom(
  db: Db,
  roomId: string,
  userId: string,
  now: number,
): Promise<JoinResult> {
  const [inserted, membership, room] = await db.batch([
    db
      .insert(memberships)
      .select(
        db
          .select({
            roomId: rooms.id,
            userId: sql`${userId}`.as("user_id"),
            role: sql`'member'`.as("role"),
            joinedAt: sql`${now}`.as("joined_at"),
          })
          .from(rooms)
          .where(and(eq(rooms.id, roomId), eq(rooms.isPrivate, false))),
      )
      .onConflictDoNothing()
      .returning({ roomId: memberships.roomId }),
    db
      .select()
      .from(memberships)
      .where(and(eq(memberships.roomId, roomId), eq(memberships.userId, userId))),
    selectRoomWithCount(db, roomId),
  ]);
  return { joined: inserted.length > 0, membership: membership[0], room: room[0] };
}

/**
 * Leaves a room. The owner's membership is never deleted here (permissions.decideLeave), and the
 * condition repeats that rule so a concurrent ownership transfer can't slip past the check.
 */
export async function deleteMembershipUnlessOwner(
  db: Db,
  roomId: string,
  userId: string,
): Promise<boolean> {
  const gone = await db
    .delete(memberships)
    .where(
      and(
        eq(memberships.roomId, roomId),
        eq(memberships.userId, userId),
        ne(memberships.role, "owner"),
      ),
    )
    .returning({ userId: memberships.userId });
  return gone.length > 0;
}

const actor = alias(memberships, "actor");

/**
 * Kicks `targetId` only if both roles are still the ones the decision was made on
 * (permissions.decideKick): a target promoted, or an actor demoted, in the meantime makes this a
 * no-op (false) instead of a kick nobody was allowed to make.
 */
export async function kickMember(
  db: Db,
  roomId: string,
  target: { userId: string; role: Role },
  by: { userId: string; role: Role },
): Promise<boolean> {
  const gone = await db
    .delete(memberships)
    .where(
      and(
        eq(memberships.roomId, roomId),
        eq(memberships.userId, target.userId),
        eq(memberships.role, target.role),
        exists(
          db
            .select({ one: sql`1` })
            .from(actor)
            .where(
              and(eq(actor.roomId, roomId), eq(actor.userId, by.userId), eq(actor.role, by.role)),
            ),
        ),
      ),
    )
    .returning({ userId: memberships.userId });
  return gone.length > 0;
}

/**
 * Sets an admin/member role, only while `ownerId` still owns the room and never on the owner's
 * own row (ownership moves only through transferOwnership). Returns the member afterwards, or
 * undefined when the condition failed or the target is not a member.
 */
export async function setMemberRole(
  db: Db,
  roomId: string,
  ownerId: string,
  targetId: string,
  role: Exclude<Role, "owner">,
): Promise<{ changed: boolean; member: MemberRow | undefined }> {
  const [updated, member] = await db.batch([
    db
      .update(memberships)
      .set({ role })
      .where(
        and(
          eq(memberships.roomId, roomId),
          eq(memberships.userId, targetId),
          ne(memberships.role, "owner"),
          isOwnedBy(db, roomId, ownerId),
        ),
      )
      .returning({ userId: memberships.userId }),
    selectMember(db, roomId, targetId),
  ]);
  return { changed: updated.length > 0, member: member[0] };
}

/**
 * Hands the room from `fromId` to `toId` in one batch (one transaction): rooms.owner_id moves
 * first, and only if `fromId` still owns the room and `toId` is a member; the two role updates
 * then apply only if that move happened. Two racing transfers therefore can't leave two owners,
 * and a room always has exactly one.
 */
export async function transferOwnership(
  db: Db,
  roomId: string,
  fromId: string,
  toId: string,
): Promise<{ changed: boolean; member: MemberRow | undefined }> {
  const ownedByTarget = isOwnedBy(db, roomId, toId);
  const [moved, , , member] = await db.batch([
    db
      .update(rooms)
      .set({ ownerId: toId })
      .where(
        and(
          eq(rooms.id, roomId),
          eq(rooms.ownerId, fromId),
          exists(
            db
              .select({ one: sql`1` })
              .from(memberships)
              .where(and(eq(memberships.roomId, roomId), eq(memberships.userId, toId))),
          ),
        ),
      )
      .returning({ id: rooms.id }),
    db
      .update(memberships)
      .set({ role: "owner" })
      .where(and(eq(memberships.roomId, roomId), eq(memberships.userId, toId), ownedByTarget)),
    db
      .update(memberships)
      .set({ role: "admin" })
      .where(and(eq(memberships.roomId, roomId), eq(memberships.userId, fromId), ownedByTarget)),
    selectMember(db, roomId, toId),
  ]);
  return { changed: moved.length > 0, member: member[0] };
}
