import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { findLiveSessionUser } from "./sessions-repo";
import { verifyAccessToken } from "./tokens";

const unauthorized = () =>
  new ApiError({ code: "unauthorized", message: "Missing, invalid or expired access token" });

/**
 * Reads the Bearer token from an Authorization header value (the scheme is case-insensitive,
 * RFC 9110 §11.1); null when absent or malformed.
 */
export function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i);
  return match?.[1] ?? null;
}

/**
 * Verifies the access JWT, then checks that its session is still live (one query), so logout and
 * refresh-token reuse take effect on the next request rather than after the 15-minute TTL.
 */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) {
    throw unauthorized();
  }
  const { config, db, now } = c.var.services;
  const claims = await verifyAccessToken(token, config.jwtSecret);
  if (!claims) {
    throw unauthorized();
  }
  const user = await findLiveSessionUser(db, claims.sessionId, claims.userId, now());
  if (!user) {
    throw unauthorized();
  }
  c.set("user", {
    id: user.id,
    sessionId: claims.sessionId,
    email: user.email,
    displayName: user.displayName,
    isGuest: user.isGuest,
  });
  await next();
});

/**
 * For routes that treat a token as optional (register upgrading a guest): no Authorization
 * header means anonymous, but a header that is sent must hold a valid token (401 otherwise), so
 * a client that meant to upgrade its guest never silently creates a second account.
 */
export const optionalAuth = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.header("authorization") === undefined) {
    await next();
    return;
  }
  return requireAuth(c, next);
});
