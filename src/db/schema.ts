import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

// Times are integer milliseconds since the epoch (UTC); DTOs render them as ISO 8601 strings.

export const users = sqliteTable(
  "users",
  {
    id: text().primaryKey(),
    /** Lower-cased; null for guests. */
    email: text(),
    /** bcrypt over an HMAC pre-hash; null for guests. */
    passwordHash: text(),
    displayName: text().notNull(),
    isGuest: integer({ mode: "boolean" }).notNull(),
    createdAt: integer().notNull(),
    lastSeenAt: integer(),
  },
  (t) => [uniqueIndex("users_email_unique").on(t.email)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** SHA-256 of the current refresh token; replaced on every rotation. */
    refreshTokenHash: text().notNull(),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
    revokedAt: integer(),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

export const rooms = sqliteTable(
  "rooms",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    isPrivate: integer({ mode: "boolean" }).notNull(),
    ownerId: text()
      .notNull()
      .references(() => users.id),
    createdAt: integer().notNull(),
  },
  (t) => [index("rooms_public_idx").on(t.isPrivate, t.createdAt)],
);

export const memberships = sqliteTable(
  "memberships",
  {
    roomId: text()
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text({ enum: ["owner", "admin", "member"] }).notNull(),
    joinedAt: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.roomId, t.userId] }),
    index("memberships_user_idx").on(t.userId),
  ],
);

export const invites = sqliteTable(
  "invites",
  {
    id: text().primaryKey(),
    /** SHA-256 of the raw token; the raw token is shown once, at creation. */
    tokenHash: text().notNull(),
    roomId: text()
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    createdBy: text()
      .notNull()
      .references(() => users.id),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
    /** null = unlimited */
    maxUses: integer(),
    uses: integer().notNull().default(0),
    revokedAt: integer(),
  },
  (t) => [
    uniqueIndex("invites_token_hash_unique").on(t.tokenHash),
    index("invites_room_idx").on(t.roomId),
  ],
);

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type RoomRow = typeof rooms.$inferSelect;
export type MembershipRow = typeof memberships.$inferSelect;
export type InviteRow = typeof invites.$inferSelect;
export type Role = MembershipRow["role"];
