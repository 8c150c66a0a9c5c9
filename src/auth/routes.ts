import { createRoute } from "@hono/zod-openapi";
import { forEachRoom } from "../chat/room-stub";
import type { AuthUser } from "../env";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { errorResponse, jsonBody, jsonContent, newRouter } from "../lib/openapi";
import { enforceIpLimit, loginFailures } from "../limits/auth-limits";
import { listRoomIdsOfUser } from "../rooms/memberships-repo";
import { authResultSchema, tokenPairSchema } from "../shared/api";
import { toUserDto } from "../users/dto";
import {
  findUserByEmail,
  insertUserQuery,
  updatePasswordHash,
  upgradeGuest,
} from "../users/users-repo";
import { hashPassword, needsRehash, verifyPassword } from "./password";
import { optionalAuth } from "./require-auth";
import { guestBodySchema, loginBodySchema, refreshBodySchema, registerBodySchema } from "./schemas";
import { issueSession } from "./session-issuer";
import { findSession, replaceRefreshToken, revokeSession, rotateSession } from "./sessions-repo";
import {
  hashRefreshToken,
  newRefreshToken,
  REFRESH_TOKEN_TTL_MS,
  sessionIdOfRefreshToken,
  signAccessToken,
} from "./tokens";

const limited = errorResponse("Too many requests (Retry-After says when to retry)");

const invalidCredentials = () =>
  new ApiError({ code: "unauthorized", message: "Invalid email or password" });
const invalidRefresh = () =>
  new ApiError({ code: "unauthorized", message: "Invalid or expired refresh token" });

/** A unique-constraint failure from libSQL (Turso reports the base code, SQLITE_CONSTRAINT). */
function isUniqueViolation(e: unknown): boolean {
  for (let cur: unknown = e; cur instanceof Error; cur = cur.cause) {
    if (
      /SQLITE_CONSTRAINT|UNIQUE constraint/i.test(
        `${(cur as { code?: string }).code} ${cur.message}`,
      )
    ) {
      return true;
    }
  }
  return false;
}

export const authRoutes = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/register",
      tags: ["auth"],
      summary: "Register with email and password (with a guest's token: upgrades that guest)",
      middleware: [optionalAuth] as const,
      request: { body: jsonBody(registerBodySchema) },
      responses: {
        201: { description: "Registered", ...jsonContent(authResultSchema) },
        400: errorResponse("Invalid input"),
        409: errorResponse("Email already registered, or the token's user is not a guest"),
        429: limited,
      },
    }),
    async (c) => {
      await enforceIpLimit(c, "register");
      const { db, config, now } = c.var.services;
      const input = c.req.valid("json");
      const passwordHash = await hashPassword(
        input.password,
        config.passwordPepper,
        config.bcryptCost,
      );
      const t = now();
      const guest = c.get("user") as AuthUser | undefined;
      try {
        if (guest) {
          if (!guest.isGuest) {
            throw new ApiError({ code: "conflict", message: "Already registered" });
          }
          const user = await upgradeGuest(db, guest.id, { ...input, passwordHash });
          if (!user) {
            throw new ApiError({ code: "conflict", message: "Already registered" });
          }
          // Same id, same rooms, same session (its open sockets stay valid); only the refresh
          // token is rotated, since the credentials behind the session changed.
          const refreshToken = newRefreshToken(guest.sessionId);
          await replaceRefreshToken(
            db,
            guest.sessionId,
            await hashRefreshToken(refreshToken),
            t + REFRESH_TOKEN_TTL_MS,
          );
          const token = await signAccessToken(
            { userId: user.id, sessionId: guest.sessionId },
            config.jwtSecret,
            t,
          );
          await forEachRoom(c.env, await listRoomIdsOfUser(db, user.id), (room) =>
            room.updateUser(user.id, { displayName: user.displayName, isGuest: false }),
          );
          return c.json({ token, refreshToken, user: toUserDto(user) }, 201);
        }
        const id = newId("usr");
        const row = { id, ...input, passwordHash, isGuest: false, createdAt: t, lastSeenAt: null };
        const s = await issueSession(db, id, config.jwtSecret, t);
        await db.batch([insertUserQuery(db, row), s.insert]);
        return c.json({ token: s.token, refreshToken: s.refreshToken, user: toUserDto(row) }, 201);
      } catch (e) {
        if (isUniqueViolation(e)) {
          throw new ApiError({ code: "conflict", message: "Email already registered" });
        }
        throw e;
      }
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/login",
      tags: ["auth"],
      summary: "Sign in with email and password",
      request: { body: jsonBody(loginBodySchema) },
      responses: {
        200: { description: "Signed in", ...jsonContent(authResultSchema) },
        400: errorResponse("Invalid input"),
        401: errorResponse("Invalid email or password (one generic answer)"),
        429: limited,
      },
    }),
    async (c) => {
      await enforceIpLimit(c, "login");
      const { db, config, now } = c.var.services;
      const { email, password } = c.req.valid("json");
      const failures = loginFailures(c, email);
      await failures.gate();
      const user = await findUserByEmail(db, email);
      const hash = user?.passwordHash ?? null;
      const ok = await verifyPassword(password, hash, config.passwordPepper, config.bcryptCost);
      if (!user || !ok || hash === null) {
        await failures.fail();
        throw invalidCredentials();
      }
      await failures.succeed();
      if (needsRehash(hash, config.bcryptCost)) {
        await updatePasswordHash(
          db,
          user.id,
          await hashPassword(password, config.passwordPepper, config.bcryptCost),
        );
      }
      const s = await issueSession(db, user.id, config.jwtSecret, now());
      await s.insert;
      return c.json({ token: s.token, refreshToken: s.refreshToken, user: toUserDto(user) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/guest",
      tags: ["auth"],
      summary: "Continue as a guest (no email or password; can be upgraded by register)",
      request: { body: { required: false, ...jsonContent(guestBodySchema) } },
      responses: {
        201: { description: "Guest session", ...jsonContent(authResultSchema) },
        400: errorResponse("Invalid input"),
        429: limited,
      },
    }),
    async (c) => {
      await enforceIpLimit(c, "guest");
      const { db, config, now } = c.var.services;
      const { displayName } = c.req.valid("json");
      const id = newId("usr");
      const t = now();
      const row = {
        id,
        email: null,
        passwordHash: null,
        displayName: displayName ?? `Guest ${id.slice(-4)}`,
        isGuest: true,
        createdAt: t,
        lastSeenAt: null,
      };
      const s = await issueSession(db, id, config.jwtSecret, t);
      await db.batch([insertUserQuery(db, row), s.insert]);
      return c.json({ token: s.token, refreshToken: s.refreshToken, user: toUserDto(row) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/refresh",
      tags: ["auth"],
      summary: "Trade a refresh token for a new access token and a new refresh token (rotation)",
      description:
        "Each refresh token works once. Presenting one that was already rotated revokes the whole session.",
      request: { body: jsonBody(refreshBodySchema) },
      responses: {
        200: { description: "New token pair", ...jsonContent(tokenPairSchema) },
        400: errorResponse("Invalid input"),
        401: errorResponse("Invalid, expired, revoked or reused refresh token"),
        429: limited,
      },
    }),
    async (c) => {
      await enforceIpLimit(c, "refresh");
      const { db, config, now } = c.var.services;
      const { refreshToken } = c.req.valid("json");
      const sessionId = sessionIdOfRefreshToken(refreshToken);
      if (!sessionId) {
        throw invalidRefresh();
      }
      const t = now();
      const next = newRefreshToken(sessionId);
      const rotated = await rotateSession(
        db,
        sessionId,
        await hashRefreshToken(refreshToken),
        await hashRefreshToken(next),
        t,
        t + REFRESH_TOKEN_TTL_MS,
      );
      if (!rotated) {
        // Not the current token of a live session. If the session exists and is live, this is a
        // replay of a rotated token: someone else may hold the newer one, so end the session.
        const session = await findSession(db, sessionId);
        if (session && session.revokedAt === null && session.expiresAt > t) {
          await revokeAndCloseSockets(c.env, db, session.id, session.userId, t);
        }
        throw invalidRefresh();
      }
      const token = await signAccessToken(
        { userId: rotated.userId, sessionId },
        config.jwtSecret,
        t,
      );
      return c.json({ token, refreshToken: next }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/logout",
      tags: ["auth"],
      summary: "End the session of this refresh token (its sockets close with 4001)",
      request: { body: jsonBody(refreshBodySchema) },
      responses: {
        204: { description: "Logged out (also when the token was already invalid)" },
        400: errorResponse("Invalid input"),
      },
    }),
    async (c) => {
      const { db, now } = c.var.services;
      const { refreshToken } = c.req.valid("json");
      const sessionId = sessionIdOfRefreshToken(refreshToken);
      const session = sessionId ? await findSession(db, sessionId) : undefined;
      // Only the holder of the session's current refresh token can end it.
      if (session && session.refreshTokenHash === (await hashRefreshToken(refreshToken))) {
        await revokeAndCloseSockets(c.env, db, session.id, session.userId, now());
      }
      return c.body(null, 204);
    },
  );

async function revokeAndCloseSockets(
  env: Parameters<typeof forEachRoom>[0],
  db: Parameters<typeof revokeSession>[0],
  sessionId: string,
  userId: string,
  t: number,
): Promise<void> {
  await revokeSession(db, sessionId, t);
  await forEachRoom(env, await listRoomIdsOfUser(db, userId), (room) =>
    room.revokeSession(sessionId),
  );
}
