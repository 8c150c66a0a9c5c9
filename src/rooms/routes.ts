import type { Context } from "hono";
import { forEachRoom, roomStub } from "../chat/room-stub";
import type { AppEnv } from "../env";
import { acceptInviteToken } from "../invites/accept";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import {
  authedRoutes,
  errorResponse,
  hiddenRoom,
  jsonBody,
  jsonContent,
  newRouter,
} from "../lib/openapi";
import { listOf, type Membership, membershipSchema, myRoomSchema, roomSchema } from "../shared/api";
import { loadVisibleRoom } from "./access";
import { toMembershipDto, toRoomDto } from "./dto";
import { loadRoomAs } from "./guards";
import { countMembers, joinPublicRoom } from "./memberships-repo";
import { canDeleteRoom, canEditRoom } from "./permissions";
import {
  deleteRoomCascade,
  insertRoomWithOwner,
  listPublicRooms,
  listRoomsOfUser,
  updateRoom,
} from "./rooms-repo";
import {
  createRoomBodySchema,
  joinBodySchema,
  myRoomsQuerySchema,
  type Page,
  patchRoomBodySchema,
  publicRoomsQuerySchema,
  roomParamsSchema,
  toPage,
} from "./schemas";
import { summaryOrEmpty } from "./summaries";

export const roomsRoute = authedRoutes(["rooms"]);

export const refused = errorResponse(
  "Not a member of this public room, or your role can't do this",
);
export const noContent = { description: "Done" };

const roomNotFound = () => new ApiError({ code: "not_found", message: "Room not found" });

/** GET /api/rooms and its alias /mine: my rooms with role, unread count and last message. */
async function myRooms(c: Context<AppEnv>, page: Page) {
  const userId = c.var.user.id;
  const { rows, nextCursor } = toPage(
    await listRoomsOfUser(c.var.services.db, userId, page),
    page.limit,
    (r) => ({ at: r.joinedAt, id: r.room.id }),
  );
  const items = await Promise.all(
    rows.map(async (r) => ({
      room: toRoomDto(r),
      role: r.role,
      ...(await summaryOrEmpty(() => roomStub(c.env, r.room.id).roomSummary(userId), r.room.id)),
    })),
  );
  return { items, nextCursor };
}

/**
 * Joins a public room in one round trip. A private room answers as if absent unless the caller
 * is already in it; a member gets 200 and nothing changes.
 */
async function joinRoom(
  c: Context<AppEnv>,
  roomId: string,
): Promise<{ status: 200 | 201; membership: Membership }> {
  const { db, now } = c.var.services;
  const result = await joinPublicRoom(db, roomId, c.var.user.id, now());
  if (!result.membership || !result.room) {
    throw roomNotFound();
  }
  return {
    status: result.joined ? 201 : 200,
    membership: toMembershipDto(result.room, result.membership),
  };
}

const myRoomsRoute = (path: "/" | "/mine") =>
  roomsRoute({
    method: "get",
    path,
    summary:
      path === "/"
        ? "My rooms, with my role, unread count and last message"
        : "Alias of GET /api/rooms",
    request: { query: myRoomsQuerySchema },
    responses: {
      200: {
        description: "My rooms, most recently joined first",
        ...jsonContent(listOf(myRoomSchema)),
      },
    },
  });

const joinResponses = {
  200: { description: "Already a member: nothing changed", ...jsonContent(membershipSchema) },
  201: { description: "Joined", ...jsonContent(membershipSchema) },
  404: hiddenRoom,
};

export const roomsRoutes = newRouter()
  .openapi(
    roomsRoute({
      method: "post",
      path: "/",
      summary: "Create a room; the creator is its owner",
      request: { body: jsonBody(createRoomBodySchema) },
      responses: {
        201: { description: "Created", ...jsonContent(roomSchema) },
      },
    }),
    async (c) => {
      const { db, now } = c.var.services;
      const { name, isPrivate } = c.req.valid("json");
      const room = { id: newId("room"), name, isPrivate, ownerId: c.var.user.id, createdAt: now() };
      await insertRoomWithOwner(db, room);
      return c.json(toRoomDto({ room, memberCount: 1 }), 201);
    },
  )
  // Static paths before "/{roomId}", which would otherwise read "mine" and "public" as ids.
  .openapi(myRoomsRoute("/"), async (c) => c.json(await myRooms(c, c.req.valid("query")), 200))
  .openapi(myRoomsRoute("/mine"), async (c) => c.json(await myRooms(c, c.req.valid("query")), 200))
  .openapi(
    roomsRoute({
      method: "get",
      path: "/public",
      summary: "Discover public rooms, newest first, optionally by a name substring",
      request: { query: publicRoomsQuerySchema },
      responses: {
        200: { description: "Public rooms", ...jsonContent(listOf(roomSchema)) },
      },
    }),
    async (c) => {
      const { q, ...page } = c.req.valid("query");
      const { rows, nextCursor } = toPage(
        await listPublicRooms(c.var.services.db, q, page),
        page.limit,
        (r) => ({ at: r.room.createdAt, id: r.room.id }),
      );
      return c.json({ items: rows.map(toRoomDto), nextCursor }, 200);
    },
  )
  .openapi(
    roomsRoute({
      method: "post",
      path: "/join",
      summary: "Join with an invite code or a public room's id (exactly one)",
      request: { body: jsonBody(joinBodySchema) },
      responses: {
        ...joinResponses,
        404: errorResponse("Unknown invite, no such room, or a private room"),
        410: errorResponse("The invite was revoked, has expired or is used up"),
        429: errorResponse("Too many invite accepts from this address"),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      if (body.inviteCode !== undefined) {
        const { status, membership } = await acceptInviteToken(c, body.inviteCode);
        return c.json(membership, status);
      }
      if (body.roomId !== undefined) {
        const { status, membership } = await joinRoom(c, body.roomId);
        return c.json(membership, status);
      }
      // joinBodySchema already demands exactly one of the two.
      throw new ApiError({ code: "validation_failed", message: "Give inviteCode or roomId" });
    },
  )
  .openapi(
    roomsRoute({
      method: "get",
      path: "/{roomId}",
      summary: "A room (public rooms: anyone signed in; private rooms: members)",
      request: { params: roomParamsSchema },
      responses: {
        200: { description: "The room", ...jsonContent(roomSchema) },
        404: hiddenRoom,
      },
    }),
    async (c) => {
      const { db } = c.var.services;
      const { roomId } = c.req.valid("param");
      const [{ room }, memberCount] = await Promise.all([
        loadVisibleRoom(db, roomId, c.var.user.id),
        countMembers(db, roomId),
      ]);
      return c.json(toRoomDto({ room, memberCount }), 200);
    },
  )
  .openapi(
    roomsRoute({
      method: "patch",
      path: "/{roomId}",
      summary: "Rename a room or change its privacy (owner and admins)",
      request: { params: roomParamsSchema, body: jsonBody(patchRoomBodySchema) },
      responses: {
        200: { description: "Updated", ...jsonContent(roomSchema) },
        403: refused,
        404: hiddenRoom,
      },
    }),
    async (c) => {
      const { db } = c.var.services;
      const { roomId } = c.req.valid("param");
      await loadRoomAs(db, roomId, c.var.user.id, canEditRoom, "Only owner and admins edit a room");
      const updated = await updateRoom(db, roomId, c.req.valid("json"));
      if (!updated) {
        throw roomNotFound();
      }
      return c.json(toRoomDto(updated), 200);
    },
  )
  .openapi(
    roomsRoute({
      method: "delete",
      path: "/{roomId}",
      summary: "Delete a room with its memberships and invites (owner); closes its sockets",
      request: { params: roomParamsSchema },
      responses: {
        204: noContent,
        403: refused,
        404: hiddenRoom,
        409: errorResponse("Ownership changed meanwhile"),
      },
    }),
    async (c) => {
      const { db } = c.var.services;
      const { roomId } = c.req.valid("param");
      const userId = c.var.user.id;
      await loadRoomAs(db, roomId, userId, canDeleteRoom, "Only the owner deletes a room");
      if (!(await deleteRoomCascade(db, roomId, userId))) {
        throw new ApiError({ code: "conflict", message: "The room changed hands meanwhile" });
      }
      await forEachRoom(c.env, [roomId], (room) => room.deleteRoom());
      return c.body(null, 204);
    },
  )
  .openapi(
    roomsRoute({
      method: "post",
      path: "/{roomId}/join",
      summary: "Join a public room (members: 200, nothing changes)",
      request: { params: roomParamsSchema },
      responses: joinResponses,
    }),
    async (c) => {
      const { status, membership } = await joinRoom(c, c.req.valid("param").roomId);
      return c.json(membership, status);
    },
  );
