import type { Client, Row } from "@libsql/client/web";
import type { MembershipRow, Role, RoomRow, UserRow } from "../db/schema";

// Every WebSocket upgrade runs this read, so it skips drizzle's query builder: building and
// mapping it through drizzle allocated ~60 KiB of JavaScript per connect (sampling heap profile
// of 1,000 upgrades). One fixed statement, so one `execute` (a read batch of two added its
// transaction steps to the request); rows mapped by column index to the schema's row types.
// test/unit/upgrade-read.test.ts checks the results equal the drizzle queries' on a real libSQL.

/**
 * One row, always: the session's user while the session is live (only what a socket's identity
 * needs: no email or password hash on every connect), then the room, its member count and the
 * caller's membership. Each part is NULL when missing. One statement reads one snapshot.
 * Args: session id, user id, now (ms), room id, user id.
 */
const UPGRADE_ACCESS_SQL =
  "SELECT u.id, u.display_name, u.is_guest, " +
  "r.id, r.name, r.is_private, r.owner_id, r.created_at, " +
  "(SELECT count(*) FROM memberships c WHERE c.room_id = r.id), " +
  "m.room_id, m.user_id, m.role, m.joined_at " +
  "FROM (SELECT 1) " +
  "LEFT JOIN sessions s ON s.id = ? AND s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > ? " +
  "LEFT JOIN users u ON u.id = s.user_id " +
  "LEFT JOIN rooms r ON r.id = ? " +
  "LEFT JOIN memberships m ON m.room_id = r.id AND m.user_id = ?";

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
      id: r[3] as string,
      name: r[4] as string,
      isPrivate: bool(r[5]),
      ownerId: r[6] as string,
      createdAt: r[7] as number,
    },
    memberCount: r[8] as number,
    // memberships.room_id is NOT NULL, so NULL here means the LEFT JOIN found no row.
    membership:
      r[9] === null
        ? null
        : {
            roomId: r[9] as string,
            userId: r[10] as string,
            role: r[11] as Role,
            joinedAt: r[12] as number,
          },
  };
}

/** The live session's user and the room with its count and the caller's membership, in one round trip. */
export async function readUpgradeAccess(
  client: Client,
  q: { sessionId: string; userId: string; roomId: string; now: number },
): Promise<UpgradeRead> {
  const rs = await client.execute({
    sql: UPGRADE_ACCESS_SQL,
    args: [q.sessionId, q.userId, q.now, q.roomId, q.userId],
  });
  const row = rs.rows[0];
  // users.id and rooms.id are NOT NULL: NULL means that part of the LEFT JOINs found nothing.
  return {
    session: row && row[0] !== null ? { user: toUser(row) } : undefined,
    found: row && row[3] !== null ? toFound(row) : undefined,
  };
}
