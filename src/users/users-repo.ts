import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type UserRow, users } from "../db/schema";

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.email, email)).get();
}

/**
 * True for the unique-index violation on users.email. libSQL reports it as SQLITE_CONSTRAINT
 * (Turso gives the base code, not SQLITE_CONSTRAINT_UNIQUE) with SQLite's "UNIQUE constraint
 * failed: users.email" message; drizzle wraps it, so the cause chain is searched.
 */
export function isEmailTaken(err: unknown): boolean {
  for (let cur: unknown = err; cur instanceof Error; cur = cur.cause) {
    const code = (cur as { code?: unknown }).code;
    if (
      typeof code === "string" &&
      code.startsWith("SQLITE_CONSTRAINT") &&
      cur.message.includes("users.email")
    ) {
      return true;
    }
  }
  return false;
}

export function insertUserQuery(db: Db, row: typeof users.$inferInsert) {
  return db.insert(users).values(row);
}

/**
 * Turns a guest into an email account in one conditional statement: only a row that is still a
 * guest changes, so two racing upgrades can't both win. Returns the row, or undefined if the
 * user is no longer a guest. A taken email surfaces as a unique-constraint error.
 */
export async function upgradeGuest(
  db: Db,
  id: string,
  fields: { email: string; passwordHash: string; displayName: string },
): Promise<UserRow | undefined> {
  return db
    .update(users)
    .set({ ...fields, isGuest: false })
    .where(and(eq(users.id, id), eq(users.isGuest, true), isNull(users.email)))
    .returning()
    .get();
}

export async function updateDisplayName(
  db: Db,
  id: string,
  displayName: string,
): Promise<UserRow | undefined> {
  return db.update(users).set({ displayName }).where(eq(users.id, id)).returning().get();
}

export async function updatePasswordHash(db: Db, id: string, passwordHash: string): Promise<void> {
  await db.update(users).set({ passwordHash }).where(eq(users.id, id));
}

/**
 * Records when the user was last seen. Several rooms write this independently (each on its own
 * last disconnect), so it only moves forward: a late write from one room can't undo a newer one.
 */
export async function touchLastSeen(db: Db, id: string, at: number): Promise<void> {
  await db
    .update(users)
    .set({ lastSeenAt: sql`max(coalesce(${users.lastSeenAt}, 0), ${at})` })
    .where(eq(users.id, id));
}
