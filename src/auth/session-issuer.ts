import { forEachRoom } from "../chat/room-stub";
import type { Db } from "../db/client";
import type { Bindings } from "../env";
import { newId } from "../lib/ids";
import { listRoomIdsOfUser } from "../rooms/memberships-repo";
import {
  insertSessionQuery,
  replaceRefreshToken,
  revokeSession,
  rotateSession,
} from "./sessions-repo";
import {
  hashRefreshToken,
  newRefreshToken,
  parseRefreshToken,
  REFRESH_TOKEN_TTL_MS,
  signAccessToken,
} from "./tokens";

export interface TokenPair {
  token: string;
  refreshToken: string;
}

export interface IssuedSession extends TokenPair {
  sessionId: string;
  /** The session insert, to run in the same db.batch as the user write it belongs to. */
  insert: ReturnType<typeof insertSessionQuery>;
}

/** Mints a new session (refresh token stored hashed) and its first access token. */
export async function issueSession(
  db: Db,
  userId: string,
  jwtSecret: string,
  now: number,
): Promise<IssuedSession> {
  const sessionId = newId("ses");
  const refreshToken = await newRefreshToken(sessionId, jwtSecret);
  const insert = insertSessionQuery(db, {
    id: sessionId,
    userId,
    refreshTokenHash: await hashRefreshToken(refreshToken),
    createdAt: now,
    expiresAt: now + REFRESH_TOKEN_TTL_MS,
  });
  const token = await signAccessToken({ userId, sessionId }, jwtSecret, now);
  return { sessionId, token, refreshToken, insert };
}

/**
 * A new pair for a live session whose credentials changed (guest upgrade): the old refresh
 * token stops working. Null when the session ended in the meantime.
 */
export async function reissueSession(
  db: Db,
  userId: string,
  sessionId: string,
  jwtSecret: string,
  now: number,
): Promise<TokenPair | null> {
  const refreshToken = await newRefreshToken(sessionId, jwtSecret);
  const hash = await hashRefreshToken(refreshToken);
  if (!(await replaceRefreshToken(db, sessionId, hash, now, now + REFRESH_TOKEN_TTL_MS))) {
    return null;
  }
  return { token: await signAccessToken({ userId, sessionId }, jwtSecret, now), refreshToken };
}

/**
 * Trades a refresh token for a new pair, or null. The conditional UPDATE in rotateSession lets
 * exactly one of any number of racing refreshes with the same token win. A token this server
 * issued that is no longer current is a replay of a rotated token (or the loser of such a
 * race): someone else may hold the newer one, so the whole session ends (RFC 9700 §4.14.2).
 */
export async function refreshSession(
  env: Bindings,
  db: Db,
  presented: string,
  jwtSecret: string,
  now: number,
): Promise<TokenPair | null> {
  const parsed = await parseRefreshToken(presented, jwtSecret);
  if (!parsed) {
    return null;
  }
  const { sessionId } = parsed;
  const refreshToken = await newRefreshToken(sessionId, jwtSecret);
  const rotated = await rotateSession(
    db,
    sessionId,
    await hashRefreshToken(presented),
    await hashRefreshToken(refreshToken),
    now,
    now + REFRESH_TOKEN_TTL_MS,
  );
  if (rotated) {
    const token = await signAccessToken({ userId: rotated.userId, sessionId }, jwtSecret, now);
    return { token, refreshToken };
  }
  if (parsed.issuedByUs) {
    console.warn(JSON.stringify({ level: "warn", message: "refresh token reuse", sessionId }));
    await endSession(env, db, sessionId, now);
  }
  return null;
}

/**
 * Logout: ends the session of a refresh token this server issued, whether it is the current one
 * or an older one (its holder could end the session through reuse detection anyway). When the
 * tag doesn't verify (JWT_SECRET was rotated since), only the session's current token counts.
 */
export async function logoutSession(
  env: Bindings,
  db: Db,
  presented: string,
  jwtSecret: string,
  now: number,
): Promise<void> {
  const parsed = await parseRefreshToken(presented, jwtSecret);
  if (!parsed) {
    return;
  }
  const onlyIfCurrent = parsed.issuedByUs ? undefined : await hashRefreshToken(presented);
  await endSession(env, db, parsed.sessionId, now, onlyIfCurrent);
}

/**
 * Revokes a session in libSQL (requireAuth checks that on every request, so its access tokens
 * stop working at once), then tells the user's rooms so their sockets of this session close
 * with 4001.
 */
async function endSession(
  env: Bindings,
  db: Db,
  sessionId: string,
  now: number,
  onlyIfRefreshTokenHash?: string,
): Promise<void> {
  const revoked = await revokeSession(db, sessionId, now, onlyIfRefreshTokenHash);
  if (!revoked) {
    return;
  }
  await forEachRoom(env, await listRoomIdsOfUser(db, revoked.userId), (room) =>
    room.revokeSession(sessionId),
  );
}
