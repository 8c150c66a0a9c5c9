import type { Client, Row } from "@libsql/client/web";
import type { MembershipRow, Role, RoomRow, UserRow } from "../db/schema";

// Every WebSocket upgrade runs these two reads, so they skip drizzle's query builder: building
// and mapping them through drizzle allocated ~60 KiB of JavaScript per connect (sampling heap
// profile of 1,000 upgrades). Fixed SQL, rows mapped by column index to the schema's row types;
// test/unit/upgrade-read.test.ts checks the results equal the drizzle queries' on a real libSQL.

/**
 * The session's user while the session is live: only what a socket's identity needs (no email or
 * password hash on every connect). Args: session id, user id, now (ms).
 */
const LIVE_SESSION_USER_SQL =
  "SELECT u.id, u.display_name, u.is_guest " +
  "FROM sessions s INNER JOIN users u ON u.id = s.user_id " +
  "WHERE s.id = ? AND s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > ?";

/**
 * The room, its member count and the caller's membership (NULL columns when not a member).
 * Args: user id (join condition), room id.
 */
const ROOM_COUNT_MEMBERSHIP_SQL =
  "SELECT r.id, r.name, r.is_private, r.owner_id, r.created_at, " +
  "(SELECT count(*) FROM memberships c WHERE c.room_id = r.id), " +
  "m.room_id, m.user_id, m.role, m.joined_at " +
  "FROM rooms r LEFT JOIN memberships m ON m.room_id = r.id AND m.user_id = ? " +
  "WHERE r.id = ?";

export interface UpgradeRead {
  /** Undefined when the session is unknown, another user's, revoked or expired. */
  session: { user: UpgradeUser } | undefined;
  /** Undefined when the room doesn't exist; membership is null when the user isn't a member. */
  found: { room: RoomRow; memberCount: number; membership: MembershipRow | null } | undefined;
}

// Integer booleans read as drizzle's integer({ mode: "boolean" }) reads them.
const bool = (v: unknown) => Number(v) === 1;

export type UpgradeUser = Pick<UserRow, "id" | "displayName" | "isGuest">;

function toUser(r: Row): UpgradeUser {
  return { id: r[0] as string, displayName: r[1] as string, isGuest: bool(r[2]) };
}

function toFound(r: Row): NonNullable<UpgradeRead["found"]> {
  return {
    room: {
      id: r[0] as string,
      name: r[1] as string,
      isPrivate: bool(r[2]),
      ownerId: r[3] as string,
      createdAt: r[4] as number,
    },
    memberCount: r[5] as number,
    // memberships.room_id is NOT NULL, so NULL here means the LEFT JOIN found no row.
    membership:
      r[6] === null
        ? null
        : {
            roomId: r[6] as string,
            userId: r[7] as string,
            role: r[8] as Role,
            joinedAt: r[9] as number,
          },
  };
}

/** The live session's user and the room with its count and the caller's membership, in one round trip. */
export async function readUpgradeAccess(
  client: Client,
  q: { sessionId: string; userId: string; roomId: string; now: number },
): Promise<UpgradeRead> {
  const [sessionRs, roomRs] = await client.batch(
    [
      { sql: LIVE_SESSION_USER_SQL, args: [q.sessionId, q.userId, q.now] },
      { sql: ROOM_COUNT_MEMBERSHIP_SQL, args: [q.userId, q.roomId] },
    ],
    "read",
  );
  const userRow = sessionRs?.rows[0];
  const roomRow = roomRs?.rows[0];
  return {
    session: userRow ? { user: toUser(userRow) } : undefined,
    found: roomRow ? toFound(roomRow) : undefined,
  };
}
