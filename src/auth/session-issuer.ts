import type { Db } from "../db/client";
import { newId } from "../lib/ids";
import { insertSessionQuery } from "./sessions-repo";
import { hashRefreshToken, newRefreshToken, REFRESH_TOKEN_TTL_MS, signAccessToken } from "./tokens";

export interface IssuedSession {
  sessionId: string;
  token: string;
  refreshToken: string;
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
  const refreshToken = newRefreshToken(sessionId);
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
