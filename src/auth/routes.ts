import { createRoute } from "@hono/zod-openapi";
import { forEachRoom } from "../chat/room-stub";
import type { AuthUser } from "../env";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { errorResponse, jsonBody, jsonContent, newRouter } from "../lib/openapi";
import { enforceIpLimit, loginAttempts } from "../limits/auth-limits";
import { listRoomIdsOfUser } from "../rooms/memberships-repo";
import { authResultSchema, tokenPairSchema } from "../shared/api";
import { toUserDto } from "../users/dto";
import {
  findUserByEmail,
  insertUserQuery,
  isEmailTaken,
  updatePasswordHash,
  upgradeGuest,
} from "../users/users-repo";
import { hashPassword, needsRehash, verifyPassword } from "./password";
import { optionalAuth } from "./require-auth";
import { guestBodySchema, loginBodySchema, refreshBodySchema, registerBodySchema } from "./schemas";
import { issueSession, logoutSession, refreshSession, reissueSession } from "./session-issuer";

const limited = errorResponse("Too many requests (Retry-After says when to retry)");

const emailTaken = () => new ApiError({ code: "conflict", message: "Email already registered" });
const alreadyRegistered = () =>
  new ApiError({ code: "conflict", message: "This account is already registered" });

export const authRoutes = newRouter();

// Tokens must never sit in a browser or proxy cache.

authRoutes
  .openapi(
    createRoute({
      method: "post",
      path: "/register",
      tags: ["auth"],
      summary: "Register with email and password (with a guest's token: upgrades that guest)",
      description:
        "Sent with a guest's Bearer token, the guest becomes this account in place: same user id, " +
        "same rooms, same session (its refresh token is rotated). Unknown fields are ignored.",
      middleware: [optionalAuth] as const,
      request: { body: jsonBody(registerBodySchema) },
      responses: {
        201: { description: "Registered", ...jsonContent(authResultSchema) },
        400: errorResponse("Invalid input"),
        401: errorResponse("A token was sent but it is not a valid access token"),
        409: errorResponse("Email already registered, or the token's user is not a guest"),
        413: errorResponse("Body over 64 KiB"),
        415: errorResponse("Body is not application/json"),
        429: limited,
      },
    }),
    async (c) => {
      await enforceIpLimit(c, "register");
      const { db, config, now } = c.var.services;
      const { password, ...profile } = c.req.valid("json");
      // optionalAuth sets `user` only when a token was sent.
      const caller = c.get("user") as AuthUser | undefined;
      if (caller && !caller.isGuest) {
        throw alreadyRegistered();
      }
      const passwordHash = await hashPassword(password, config.passwordPepper, config.bcryptCost);
      const t = now();
      if (caller) {
        const user = await upgradeGuest(db, caller.id, { ...profile, passwordHash }).catch((e) => {
          throw isEmailTaken(e) ? emailTaken() : e;
        });
        if (!user) {
          throw alreadyRegistered(); // a concurrent upgrade of the same guest won
        }
        // Same session, so the guest's open sockets stay; its refresh token is rotated because
        // the credentials behind the session changed.
        const pair = await reissueSession(db, user.id, caller.sessionId, config.jwtSecret, t);
        if (!pair) {
          throw new ApiError({ code: "unauthorized", message: "Session ended; sign in again" });
        }
        await forEachRoom(c.env, await listRoomIdsOfUser(db, user.id), (room) =>
          room.updateUser(user.id, { displayName: user.displayName, isGuest: false }),
        );
        return c.json({ ...pair, user: toUserDto(user) }, 201);
      }
      const row = {
        id: newId("usr"),
        ...profile,
        passwordHash,
        isGuest: false,
        createdAt: t,
        lastSeenAt: null,
      };
      const s = await issueSession(db, row.id, config.jwtSecret, t);
      await db.batch([insertUserQuery(db, row), s.insert]).catch((e) => {
        throw isEmailTaken(e) ? emailTaken() : e;
      });
      return c.json({ token: s.token, refreshToken: s.refreshToken, user: toUserDto(row) }, 201);
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
        413: errorResponse("Body over 64 KiB"),
        415: errorResponse("Body is not application/json"),
        429: limited,
      },
    }),
    async (c) => {
      await enforceIpLimit(c, "login");
      const { db, config, now } = c.var.services;
      const { email, password } = c.req.valid("json");
      const attempts = loginAttempts(c, email);
      await attempts.begin(); // before bcrypt: a locked-out account costs no CPU
      const user = await findUserByEmail(db, email);
      const hash = user?.passwordHash ?? null;
      // An unknown email still runs one bcrypt compare, so timing doesn't tell which exist.
      const ok = await verifyPassword(password, hash, config.passwordPepper, config.bcryptCost);
      if (!user || hash === null || !ok) {
        throw new ApiError({ code: "unauthorized", message: "Invalid email or password" });
      }
      await attempts.succeeded();
      if (needsRehash(hash, config.bcryptCost)) {
        const rehashed = await hashPassword(password, config.passwordPepper, config.bcryptCost);
        await updatePasswordHash(db, user.id, rehashed);
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
      description: "The body is optional; without a displayName the guest is named `Guest xxxx`.",
      request: { body: { required: false, ...jsonContent(guestBodySchema) } },
      responses: {
        201: { description: "Guest session", ...jsonContent(authResultSchema) },
        400: errorResponse("Invalid input"),
        413: errorResponse("Body over 64 KiB"),
        415: errorResponse("Body is not application/json"),
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
        "Each refresh token works once. Presenting one that was already rotated revokes the " +
        "whole session, so clients must not refresh concurrently with the same token.",
      request: { body: jsonBody(refreshBodySchema) },
      responses: {
        200: { description: "New token pair", ...jsonContent(tokenPairSchema) },
        400: errorResponse("Invalid input"),
        401: errorResponse("Invalid, expired, revoked or reused refresh token"),
        413: errorResponse("Body over 64 KiB"),
        415: errorResponse("Body is not application/json"),
        429: limited,
      },
    }),
    async (c) => {
      await enforceIpLimit(c, "refresh");
      const { db, config, now } = c.var.services;
      const { refreshToken } = c.req.valid("json");
      const pair = await refreshSession(c.env, db, refreshToken, config.jwtSecret, now());
      if (!pair) {
        throw new ApiError({ code: "unauthorized", message: "Invalid or expired refresh token" });
      }
      return c.json(pair, 200);
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
        204: { description: "Logged out (also when the token was unknown or already ended)" },
        400: errorResponse("Invalid input"),
        413: errorResponse("Body over 64 KiB"),
        415: errorResponse("Body is not application/json"),
      },
    }),
    async (c) => {
      const { db, config, now } = c.var.services;
      const { refreshToken } = c.req.valid("json");
      await logoutSession(c.env, db, refreshToken, config.jwtSecret, now());
      return c.body(null, 204);
    },
  );
