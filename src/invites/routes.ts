import { createRoute } from "@hono/zod-openapi";
import * as z from "zod";
import { ApiError } from "../lib/errors";
import { newId, newSecretToken, sha256Hex } from "../lib/ids";
import {
  authedRoutes,
  errorResponse,
  hiddenRoom,
  invalidInput,
  jsonBody,
  jsonContent,
  newRouter,
} from "../lib/openapi";
import { loadRoomAs } from "../rooms/guards";
import { canManageInvites } from "../rooms/permissions";
import { roomParamsSchema, toPage } from "../rooms/schemas";
import {
  createdInviteSchema,
  invitePreviewSchema,
  inviteSchema,
  listOf,
  membershipSchema,
} from "../shared/api";
import { acceptInviteToken, inviteNotFound } from "./accept";
import { toCreatedInviteDto, toInviteDto, toInvitePreviewDto } from "./dto";
import { inviteExpiresAt, inviteState, joinUrl, unusableMessage } from "./invite-rules";
import { findInviteByTokenHash, insertInvite, listInvitesPage, revokeInvite } from "./invites-repo";
import { renderQrSvg } from "./qr";
import {
  createInviteBodySchema,
  invitesQuerySchema,
  roomInviteParamsSchema,
  tokenParamsSchema,
} from "./schemas";

const tags = ["invites"];
const invitesRoute = authedRoutes(tags);

const managersOnly = "Only the room's owner and admins manage invites";
const refused = errorResponse(managersOnly);
const unknownInvite = errorResponse("No invite with this token");
const gone = errorResponse("The invite was revoked, has expired or is used up");

/** /api/rooms/{roomId}/invites: managing a room's invites (owner and admins). */
export const roomInvitesRoutes = newRouter()
  .openapi(
    invitesRoute({
      method: "post",
      path: "/{roomId}/invites",
      summary: "Create an invite link (owner and admins); the token is shown only here",
      description:
        "The raw token is returned once; only its SHA-256 is stored. `url` is the web app's " +
        "`/join#<token>` on PUBLIC_URL (or this request's origin): the token rides in the fragment.",
      request: { params: roomParamsSchema, body: jsonBody(createInviteBodySchema) },
      responses: {
        201: { description: "Created", ...jsonContent(createdInviteSchema) },
        403: refused,
        404: hiddenRoom,
      },
    }),
    async (c) => {
      const { db, config, now } = c.var.services;
      const { roomId } = c.req.valid("param");
      const { expiresInHours, maxUses } = c.req.valid("json");
      const userId = c.var.user.id;
      await loadRoomAs(db, roomId, userId, canManageInvites, managersOnly);
      const token = newSecretToken();
      const at = now();
      const row = {
        id: newId("inv"),
        tokenHash: await sha256Hex(token),
        roomId,
        createdBy: userId,
        createdAt: at,
        expiresAt: inviteExpiresAt(at, expiresInHours),
        maxUses,
        uses: 0,
        revokedAt: null,
      };
      await insertInvite(db, row);
      const url = joinUrl(config.publicUrl, c.req.url, token);
      return c.json(toCreatedInviteDto(row, token, url), 201);
    },
  )
  .openapi(
    invitesRoute({
      method: "get",
      path: "/{roomId}/invites",
      summary: "A room's invites, newest first (owner and admins; metadata, never tokens)",
      request: { params: roomParamsSchema, query: invitesQuerySchema },
      responses: {
        200: { description: "Invites", ...jsonContent(listOf(inviteSchema)) },
        403: refused,
        404: hiddenRoom,
      },
    }),
    async (c) => {
      const { db } = c.var.services;
      const { roomId } = c.req.valid("param");
      const page = c.req.valid("query");
      await loadRoomAs(db, roomId, c.var.user.id, canManageInvites, managersOnly);
      const { rows, nextCursor } = toPage(
        await listInvitesPage(db, roomId, page),
        page.limit,
        (i) => ({ at: i.createdAt, id: i.id }),
      );
      return c.json({ items: rows.map(toInviteDto), nextCursor }, 200);
    },
  )
  .openapi(
    invitesRoute({
      method: "delete",
      path: "/{roomId}/invites/{inviteId}",
      summary: "Revoke an invite (owner and admins; revoking twice is fine)",
      request: { params: roomInviteParamsSchema },
      responses: {
        204: { description: "Revoked" },
        403: refused,
        404: errorResponse("No such room (or private and not yours), or no such invite in it"),
      },
    }),
    async (c) => {
      const { db, now } = c.var.services;
      const { roomId, inviteId } = c.req.valid("param");
      await loadRoomAs(db, roomId, c.var.user.id, canManageInvites, managersOnly);
      if (!(await revokeInvite(db, roomId, inviteId, now()))) {
        throw new ApiError({ code: "not_found", message: "Invite not found" });
      }
      return c.body(null, 204);
    },
  );

/** /api/invites/{token}: what an invite link opens (preview and QR need no token). */
export const invitesRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/{token}",
      tags,
      summary: "Preview an invite: the room, its size, and whether the invite still works",
      request: { params: tokenParamsSchema },
      responses: {
        200: { description: "Preview", ...jsonContent(invitePreviewSchema) },
        400: invalidInput,
        404: unknownInvite,
      },
    }),
    async (c) => {
      const { db, now } = c.var.services;
      const found = await findInviteByTokenHash(db, await sha256Hex(c.req.valid("param").token));
      if (!found) {
        throw inviteNotFound();
      }
      return c.json(toInvitePreviewDto(found.invite, found, now()), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{token}/qr.svg",
      tags,
      summary: "QR code (SVG) of the invite's join URL",
      description:
        "Encodes `<PUBLIC_URL or this origin>/join#<token>`. Only for invites that still work: " +
        "a revoked, expired or used-up invite answers 410 rather than a code that can't be used.",
      request: { params: tokenParamsSchema },
      responses: {
        200: {
          description: "The QR code",
          content: { "image/svg+xml": { schema: z.string() } },
        },
        400: invalidInput,
        404: unknownInvite,
        410: gone,
      },
    }),
    async (c) => {
      const { db, config, now } = c.var.services;
      const { token } = c.req.valid("param");
      const found = await findInviteByTokenHash(db, await sha256Hex(token));
      if (!found) {
        throw inviteNotFound();
      }
      const state = inviteState(found.invite, now());
      if (state !== "usable") {
        throw new ApiError({
          code: "gone",
          message: unusableMessage(state),
          details: { reason: state },
        });
      }
      const svg = renderQrSvg(joinUrl(config.publicUrl, c.req.url, token));
      return c.body(svg, 200, { "Content-Type": "image/svg+xml; charset=utf-8" });
    },
  )
  .openapi(
    invitesRoute({
      method: "post",
      path: "/{token}/accept",
      summary: "Accept an invite: join its room (already a member: 200, no use spent)",
      request: { params: tokenParamsSchema },
      responses: {
        200: { description: "Already a member; nothing spent", ...jsonContent(membershipSchema) },
        201: { description: "Joined", ...jsonContent(membershipSchema) },
        404: unknownInvite,
        410: gone,
        429: errorResponse("Too many invite accepts from this address"),
      },
    }),
    async (c) => {
      const { status, membership } = await acceptInviteToken(c, c.req.valid("param").token);
      return c.json(membership, status);
    },
  );
