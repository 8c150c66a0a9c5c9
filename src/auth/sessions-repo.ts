import { and, eq, gt, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { type SessionRow, sessions, type UserRow, users } from "../db/schema";

export function insertSessionQuery(db: Db, row: typeof sessions.$inferInsert) {
  return db.insert(sessions).values(row);
}

/** The session's user while the session is live (not revoked, not expired); a query builder. */
export function selectLiveSessionUser(db: Db, sessionId: string, userId: string, now: number) {
  return db
    .select({ user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sessionId),
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now),
      ),
    );
}

/** The session's user, if the session is live. One query per request. */
export async function findLiveSessionUser(
  db: Db,
  sessionId: string,
  userId: string,
  now: number,
): Promise<UserRow | undefined> {
  const row = await selectLiveSessionUser(db, sessionId, userId, now).get();
  return row?.user;
}

/**
 * Rotates in one conditional UPDATE: it only matches while `oldHash` is still the current token
 * of a live session, so of N racing refreshes with the same token exactly one wins.
 */
export async function rotateSession(
  db: Db,
  sessionId: string,
  oldHash: string,
  newHash: string,
  now: number,
  expiresAt: number,
): Promise<SessionRow | undefined> {
  return db
    .update(sessions)
    .set({ refreshTokenHash: newHash, expiresAt })
    .where(
      and(
        eq(sessions.id, sessionId),
        eq(sessions.refreshTokenHash, oldHash),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now),
      ),
    )
    .returning()
    .get();
}

/**
 * Revokes a session that isn't revoked yet (optionally only while `refreshTokenHash` is its
 * current token). Returns the row when this call revoked it, so fan-out happens once.
 */
export async function revokeSession(
  db: Db,
  sessionId: string,
  now: number,
  refreshTokenHash?: string,
): Promise<SessionRow | undefined> {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(
      and(
        eq(sessions.id, sessionId),
        isNull(sessions.revokedAt),
        refreshTokenHash === undefined
          ? undefined
          : eq(sessions.refreshTokenHash, refreshTokenHash),
      ),
    )
    .returning()
    .get();
}

/**
 * Sets a live session's refresh token (guest upgrade), invalidating the previous one. False when
 * the session was revoked or expired in the meantime.
 */
export async function replaceRefreshToken(
  db: Db,
  sessionId: string,
  refreshTokenHash: string,
  now: number,
  expiresAt: number,
): Promise<boolean> {
  const row = await db
    .update(sessions)
    .set({ refreshTokenHash, expiresAt })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .returning({ id: sessions.id })
    .get();
  return row !== undefined;
}
