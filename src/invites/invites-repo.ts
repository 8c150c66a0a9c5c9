import { and, desc, eq, gt, isNull, lt, notExists, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type InviteRow, invites, memberships, type Role, rooms } from "../db/schema";
import type { RoomWithCount } from "../rooms/dto";
import { memberCountSql, olderThan } from "../rooms/rooms-repo";
import type { Page } from "../rooms/schemas";

export async function insertInvite(db: Db, row: InviteRow): Promise<void> {
  await db.insert(invites).values(row);
}

/** A room's invites, newest first, revoked and expired ones included (limit + 1 rows). */
export async function listInvitesPage(db: Db, roomId: string, page: Page): Promise<InviteRow[]> {
  const conditions = [eq(invites.roomId, roomId)];
  if (page.cursor) {
    conditions.push(olderThan(invites.createdAt, invites.id, page.cursor));
  }
  return db
    .select()
    .from(invites)
    .where(and(...conditions))
    .orderBy(desc(invites.createdAt), desc(invites.id))
    .limit(page.limit + 1)
    .all();
}

/**
 * Revokes an invite of this room. Idempotent: an invite revoked earlier keeps its first
 * revocation time. Returns false when the room has no such invite.
 */
export async function revokeInvite(
  db: Db,
  roomId: string,
  inviteId: string,
  now: number,
): Promise<boolean> {
  const rows = await db
    .update(invites)
    .set({ revokedAt: sql`coalesce(${invites.revokedAt}, ${now})` })
    .where(and(eq(invites.id, inviteId), eq(invites.roomId, roomId)))
    .returning({ id: invites.id });
  return rows.length > 0;
}

export interface InviteWithRoom extends RoomWithCount {
  invite: InviteRow;
}

export async function findInviteByTokenHash(
  db: Db,
  tokenHash: string,
): Promise<InviteWithRoom | undefined> {
  return db
    .select({ invite: invites, room: rooms, memberCount: memberCountSql })
    .from(invites)
    .innerJoin(rooms, eq(rooms.id, invites.roomId))
    .where(eq(invites.tokenHash, tokenHash))
    .get();
}

export interface AcceptResult {
  /** True when this call spent a use and created the membership. */
  joined: boolean;
  /** The caller's membership afterwards (new or existing), with the room and its count. */
  membership: (RoomWithCount & { role: Role; joinedAt: number }) | undefined;
  /** The invite as it stands after the batch; undefined for an unknown token. */
  invite: InviteRow | undefined;
}

/**
 * Accepts an invite in one batch (one transaction, one round trip), DESIGN "Data":
 * 1. one conditional UPDATE spends a use only if the invite is unrevoked, unexpired, has a use
 *    left, and the caller is not already in the room; SQLite runs it as a single step, so racing
 *    accepts can never push `uses` past `max_uses`;
 * 2. the membership is inserted only if step 1 changed a row (`changes()` reports the previous
 *    statement on this connection, and a batch runs on one connection);
 * 3. and 4. read back the caller's membership and the invite, so the route can tell "joined",
 *    "already a member" (no use spent), "unknown token" and "expired/revoked/used up" apart.
 */
export async function acceptInvite(
  db: Db,
  tokenHash: string,
  userId: string,
  now: number,
): Promise<AcceptResult> {
  const byToken = eq(invites.tokenHash, tokenHash);
  const [spent, , membership, invite] = await db.batch([
    db
      .update(invites)
      .set({ uses: sql`${invites.uses} + 1` })
      .where(
        and(
          byToken,
          isNull(invites.revokedAt),
          gt(invites.expiresAt, now),
          or(isNull(invites.maxUses), lt(invites.uses, invites.maxUses)),
          notExists(
            db
              .select({ one: sql`1` })
              .from(memberships)
              .where(and(eq(memberships.roomId, invites.roomId), eq(memberships.userId, userId))),
          ),
        ),
      )
      .returning({ id: invites.id }),
    db
      .insert(memberships)
      .select(
        db
          .select({
            roomId: invites.roomId,
            userId: sql`${userId}`.as("user_id"),
            role: sql`'member'`.as("role"),
            joinedAt: sql`${now}`.as("joined_at"),
          })
          .from(invites)
          .where(and(byToken, sql`changes() = 1`)),
      )
      .onConflictDoNothing(),
    db
      .select({
        room: rooms,
        memberCount: memberCountSql,
        role: memberships.role,
        joinedAt: memberships.joinedAt,
      })
      .from(invites)
      .innerJoin(rooms, eq(rooms.id, invites.roomId))
      .innerJoin(
        memberships,
        and(eq(memberships.roomId, invites.roomId), eq(memberships.userId, userId)),
      )
      .where(byToken),
    db.select().from(invites).where(byToken),
  ]);
  return { joined: spent.length > 0, membership: membership[0], invite: invite[0] };
}
