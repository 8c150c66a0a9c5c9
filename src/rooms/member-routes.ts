import { forEachRoom } from "../chat/room-stub";
import { ApiError } from "../lib/errors";
import { errorResponse, hiddenRoom, jsonBody, jsonContent, newRouter } from "../lib/openapi";
import { listOf, memberSchema } from "../shared/api";
import { loadMemberRoom } from "./access";
import { toMemberDto } from "./dto";
import { enforce, loadRoomAs } from "./guards";
import {
  deleteMembershipUnlessOwner,
  findMember,
  findMembership,
  kickMember,
  listMembersPage,
  setMemberRole,
  transferOwnership,
} from "./memberships-repo";
import { canChangeRoles, decideKick, decideLeave, decideRoleChange } from "./permissions";
import { noContent, refused, roomsRoute } from "./routes";
import {
  memberParamsSchema,
  membersQuerySchema,
  patchMemberBodySchema,
  roomParamsSchema,
  toPage,
} from "./schemas";

const notAMember = () => new ApiError({ code: "not_found", message: "Not a member of this room" });
const rolesChanged = () =>
  new ApiError({ code: "conflict", message: "Roles changed meanwhile; reload and retry" });

/**
 * Membership of one room: leave, the member list, role changes and kicks. Mounted after
 * roomsRoutes under /api/rooms. Each change is committed in libSQL first, then reaches the room's
 * live sockets through the room object (forEachRoom).
 */
export const memberRoutes = newRouter()
  .openapi(
    roomsRoute({
      method: "post",
      path: "/{roomId}/leave",
      summary: "Leave a room (the owner must transfer ownership or delete the room first)",
      request: { params: roomParamsSchema },
      responses: {
        204: noContent,
        403: refused,
        404: hiddenRoom,
        409: errorResponse("The owner can't leave"),
      },
    }),
    async (c) => {
      const { db } = c.var.services;
      const { roomId } = c.req.valid("param");
      const userId = c.var.user.id;
      const { membership } = await loadMemberRoom(db, roomId, userId);
      enforce(decideLeave(membership.role));
      if (!(await deleteMembershipUnlessOwner(db, roomId, userId))) {
        // Gone already (a racing leave or kick) is fine; became owner meanwhile is not.
        const current = await findMembership(db, roomId, userId);
        if (current) {
          enforce(decideLeave(current.role));
        }
      }
      await forEachRoom(c.env, [roomId], (room) => room.removeMember(userId, "left"));
      return c.body(null, 204);
    },
  )
  .openapi(
    roomsRoute({
      method: "get",
      path: "/{roomId}/members",
      summary: "Members of a room (members only), oldest first",
      request: { params: roomParamsSchema, query: membersQuerySchema },
      responses: {
        200: { description: "Members", ...jsonContent(listOf(memberSchema)) },
        403: refused,
        404: hiddenRoom,
      },
    }),
    async (c) => {
      const { db } = c.var.services;
      const { roomId } = c.req.valid("param");
      const page = c.req.valid("query");
      await loadMemberRoom(db, roomId, c.var.user.id);
      const { rows, nextCursor } = toPage(
        await listMembersPage(db, roomId, page),
        page.limit,
        (m) => ({ at: m.joinedAt, id: m.userId }),
      );
      return c.json({ items: rows.map(toMemberDto), nextCursor }, 200);
    },
  )
  .openapi(
    roomsRoute({
      method: "patch",
      path: "/{roomId}/members/{userId}",
      summary: "Change a member's role (owner); role owner transfers ownership",
      description:
        "Giving someone the owner role makes them the owner and the previous owner an admin, " +
        "in one transaction, so a room always has exactly one owner.",
      request: { params: memberParamsSchema, body: jsonBody(patchMemberBodySchema) },
      responses: {
        200: { description: "The member after the change", ...jsonContent(memberSchema) },
        403: refused,
        404: errorResponse("No such room (or private and not yours), or no such member"),
        409: errorResponse("The owner can't step down this way, or roles changed meanwhile"),
      },
    }),
    async (c) => {
      const { db } = c.var.services;
      const { roomId, userId } = c.req.valid("param");
      const { role } = c.req.valid("json");
      const ownerId = c.var.user.id;
      const { membership: me } = await loadRoomAs(
        db,
        roomId,
        ownerId,
        canChangeRoles,
        "Only the owner changes roles",
      );
      const target = await findMember(db, roomId, userId);
      if (!target) {
        throw notAMember();
      }
      const change = decideRoleChange(me.role, target.role, role, userId === ownerId);
      enforce(change);
      if (change.kind === "noop") {
        return c.json(toMemberDto(target), 200);
      }
      const { changed, member } =
        change.kind === "transfer"
          ? await transferOwnership(db, roomId, ownerId, userId)
          : await setMemberRole(db, roomId, ownerId, userId, change.role);
      if (!changed || !member) {
        throw rolesChanged();
      }
      await forEachRoom(c.env, [roomId], async (room) => {
        await room.setMemberRole(userId, role);
        if (change.kind === "transfer") {
          await room.setMemberRole(ownerId, "admin");
        }
      });
      return c.json(toMemberDto(member), 200);
    },
  )
  .openapi(
    roomsRoute({
      method: "delete",
      path: "/{roomId}/members/{userId}",
      summary: "Kick a member (owner: admins and members; admins: members); closes their sockets",
      request: { params: memberParamsSchema },
      responses: {
        204: noContent,
        403: refused,
        404: errorResponse("No such room (or private and not yours), or no such member"),
        409: errorResponse("Kicking yourself (use leave), or roles changed meanwhile"),
      },
    }),
    async (c) => {
      const { db } = c.var.services;
      const { roomId, userId } = c.req.valid("param");
      const { membership: me } = await loadMemberRoom(db, roomId, c.var.user.id);
      const self = userId === me.userId;
      const target = self ? me : await findMembership(db, roomId, userId);
      if (!target) {
        throw notAMember();
      }
      enforce(decideKick(me.role, target.role, self));
      if (!(await kickMember(db, roomId, target, me))) {
        throw rolesChanged();
      }
      await forEachRoom(c.env, [roomId], (room) => room.removeMember(userId, "kicked"));
      return c.body(null, 204);
    },
  );
