import { createRoute } from "@hono/zod-openapi";
import * as z from "zod";
import { requireAuth } from "../auth/require-auth";
import { displayNameSchema } from "../auth/schemas";
import { forEachRoom } from "../chat/room-stub";
import { ApiError } from "../lib/errors";
import { bearerSecurity, errorResponse, jsonBody, jsonContent, newRouter } from "../lib/openapi";
import { listRoomIdsOfUser } from "../rooms/memberships-repo";
import { userSchema } from "../shared/api";
import { toUserDto } from "./dto";
import { findUserById, updateDisplayName } from "./users-repo";

const patchMeBodySchema = z.object({ displayName: displayNameSchema });

// A deleted user's sessions go with it (ON DELETE CASCADE), so requireAuth already refuses
// them; this covers the instant between the two queries.
const gone = () => new ApiError({ code: "unauthorized", message: "User no longer exists" });

export const meRoutes = newRouter();

// Profile data (email) must not sit in shared caches.

meRoutes
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["users"],
      summary: "The signed-in user",
      security: bearerSecurity,
      middleware: [requireAuth] as const,
      responses: {
        200: { description: "Me", ...jsonContent(userSchema) },
        401: errorResponse("Not signed in"),
      },
    }),
    async (c) => {
      const user = await findUserById(c.var.services.db, c.var.user.id);
      if (!user) {
        throw gone();
      }
      return c.json(toUserDto(user), 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/",
      tags: ["users"],
      summary: "Change my display name (live sockets pick it up at once)",
      security: bearerSecurity,
      middleware: [requireAuth] as const,
      request: { body: jsonBody(patchMeBodySchema) },
      responses: {
        200: { description: "Updated", ...jsonContent(userSchema) },
        400: errorResponse("Invalid input"),
        401: errorResponse("Not signed in"),
        413: errorResponse("Body over 64 KiB"),
        415: errorResponse("Body is not application/json"),
      },
    }),
    async (c) => {
      const { db } = c.var.services;
      const { displayName } = c.req.valid("json");
      const user = await updateDisplayName(db, c.var.user.id, displayName);
      if (!user) {
        throw gone();
      }
      await forEachRoom(c.env, await listRoomIdsOfUser(db, user.id), (room) =>
        room.updateUser(user.id, { displayName: user.displayName, isGuest: user.isGuest }),
      );
      return c.json(toUserDto(user), 200);
    },
  );
