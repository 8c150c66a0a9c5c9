import { createRoute } from "@hono/zod-openapi";
import * as z from "zod";
import { requireAuth } from "../auth/require-auth";
import { ApiError } from "../lib/errors";
import { newSecretToken, sha256Hex } from "../lib/ids";
import {
  bearerSecurity,
  errorResponse,
  hiddenRoom as hidden,
  invalidInput as invalid,
  jsonBody,
  jsonContent,
  newRouter,
  unauthorized,
} from "../lib/openapi";
import { isOriginAllowed } from "../lib/origins";
import { loadMemberRoom, loadVisibleRoom } from "../rooms/access";
import { toMemberDto } from "../rooms/dto";
import { listMembers, type MemberRow } from "../rooms/memberships-repo";
import { idSchema } from "../rooms/schemas";
import {
  historyPageSchema,
  iso,
  isoOrNull,
  messageSchema,
  presenceSchema,
  receiptStateSchema,
  wsTicketSchema,
} from "../shared/api";
import {
  clientIdSchema,
  contentSchema,
  messageSeqSchema,
  receiptKindSchema,
  watermarkSeqSchema,
} from "../shared/protocol";
import { parseSeqParam } from "./resume";
import { buildUpgradeRequest, roomStub, type UpgradeContext } from "./room-stub";
import type { ChangeOutcome } from "./rpc-types";
import { authorizeUpgrade } from "./upgrade-access";

/** A ws ticket lives this long and works once (DESIGN "WebSocket protocol"). */
export const WS_TICKET_TTL_MS = 60_000;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 200;

const tags = ["messages"];
const authed = { security: bearerSecurity, middleware: [requireAuth] };

const notMember = errorResponse("Not a member of this public room (join it first)");

/** A seq in a query string: digits only, a safe integer; "1e3", "-1", " 1" are refused. */
const seqQuery = z
  .string()
  .transform((s, ctx) => {
    const n = parseSeqParam(s);
    if (n === null) {
      ctx.addIssue({ code: "custom", message: "must be a non-negative integer" });
      return z.NEVER;
    }
    return n;
  })
  .meta({ type: "string", example: "42" });

const roomParams = z.object({ roomId: idSchema });
const messageParams = z.object({ roomId: idSchema, seq: seqQuery });

const wsQuerySchema = z.object({
  since: seqQuery.optional().meta({ description: "Resume after this timeline seq (0..lastSeq)" }),
  epoch: z.string().min(1).max(64).optional().meta({ description: "The epoch `since` belongs to" }),
  ticket: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .meta({ description: "Single-use ticket from POST /ws-ticket (browsers)" }),
});

const historyQuerySchema = z
  .object({
    before: seqQuery.optional(),
    after: seqQuery.optional(),
    limit: seqQuery
      .pipe(z.number().int().min(1).max(HISTORY_MAX_LIMIT))
      .optional()
      .meta({ description: `1..${HISTORY_MAX_LIMIT}, default ${HISTORY_DEFAULT_LIMIT}` }),
  })
  .refine((q) => q.before === undefined || q.after === undefined, {
    message: "Pass before or after, not both",
  });

const postMessageBodySchema = z
  .object({
    content: contentSchema,
    clientId: clientIdSchema.optional(),
    replyTo: messageSeqSchema.nullish(),
  })
  .meta({ id: "PostMessageBody" });
const patchMessageBodySchema = z
  .object({ content: contentSchema })
  .meta({ id: "PatchMessageBody" });
const receiptBodySchema = z
  .object({ kind: receiptKindSchema, seq: watermarkSeqSchema })
  .meta({ id: "ReceiptBody" });

function unwrap(out: ChangeOutcome) {
  if (!out.ok) {
    throw new ApiError(out.error);
  }
  return out.message;
}

export const chatRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/{roomId}/ws",
      tags: ["live"],
      summary: "Open the room's WebSocket (protocol: docs/protocol.md)",
      description:
        "Authenticate with `Authorization: Bearer` or `?ticket=` from POST /ws-ticket (never an " +
        "access token in the URL). `?since=&epoch=` resumes. A public room you are not in is " +
        "joined by connecting. A browser Origin must be same-origin or in ALLOWED_ORIGINS.",
      security: [...bearerSecurity, {}],
      request: { params: roomParams, query: wsQuerySchema },
      responses: {
        101: { description: "Switching Protocols: the first frame is `ready`" },
        400: errorResponse("Not a WebSocket upgrade, or a bad since/epoch"),
        401: errorResponse("Missing, invalid or expired token or ticket, or a revoked session"),
        403: errorResponse("Origin not allowed"),
        404: hidden,
      },
    }),
    async (c) => {
      const { roomId } = c.req.valid("param");
      const query = c.req.valid("query");
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new ApiError({ code: "validation_failed", message: "Expected a WebSocket upgrade" });
      }
      const origin = c.req.header("origin");
      if (origin !== undefined && !isOriginAllowed(origin, c.req.url, c.env.ALLOWED_ORIGINS)) {
        throw new ApiError({ code: "forbidden", message: "Origin not allowed" });
      }
      const grant = await authorizeUpgrade(c, roomId, query.ticket);
      const context: UpgradeContext = {
        ...grant,
        since: query.since ?? null,
        epoch: query.epoch ?? null,
      };
      return roomStub(c.env, roomId).fetch(buildUpgradeRequest(c.req.raw, context));
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{roomId}/ws-ticket",
      tags: ["live"],
      summary: "Mint a single-use, 60-second ticket to open this room's WebSocket from a browser",
      ...authed,
      request: { params: roomParams },
      responses: {
        201: { description: "Created", ...jsonContent(wsTicketSchema) },
        400: invalid,
        401: unauthorized,
        404: hidden,
      },
    }),
    async (c) => {
      const { roomId } = c.req.valid("param");
      const { db, now } = c.var.services;
      await loadVisibleRoom(db, roomId, c.var.user.id);
      const ticket = newSecretToken(32);
      const expiresAt = now() + WS_TICKET_TTL_MS;
      await roomStub(c.env, roomId).issueTicket({
        hash: await sha256Hex(ticket),
        userId: c.var.user.id,
        sessionId: c.var.user.sessionId,
        expiresAt,
      });
      return c.json({ ticket, expiresAt: iso(expiresAt) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{roomId}/messages",
      tags,
      summary: "A page of history, ascending by seq",
      description:
        "No cursor: the newest `limit`. `before=S`: the `limit` messages just below creation " +
        "seq S. `after=S`: those just above. `nextCursor` is the seq to pass again in the same " +
        "direction (null at the end). Deleted messages keep their place as tombstones.",
      ...authed,
      request: { params: roomParams, query: historyQuerySchema },
      responses: {
        200: { description: "A page", ...jsonContent(historyPageSchema) },
        400: invalid,
        401: unauthorized,
        404: hidden,
      },
    }),
    async (c) => {
      const { roomId } = c.req.valid("param");
      const q = c.req.valid("query");
      await loadVisibleRoom(c.var.services.db, roomId, c.var.user.id);
      const page = await roomStub(c.env, roomId).history({
        before: q.before ?? null,
        after: q.after ?? null,
        limit: q.limit ?? HISTORY_DEFAULT_LIMIT,
      });
      return c.json(page, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{roomId}/messages",
      tags,
      summary: "Send a message (stored, then broadcast live); a retried clientId is stored once",
      ...authed,
      request: { params: roomParams, body: jsonBody(postMessageBodySchema) },
      responses: {
        200: {
          description: "A retry: the message first stored under this clientId",
          ...jsonContent(messageSchema),
        },
        201: { description: "Stored and broadcast", ...jsonContent(messageSchema) },
        400: invalid,
        401: unauthorized,
        403: notMember,
        404: hidden,
        429: errorResponse("Over MESSAGE_RATE_LIMIT; see Retry-After"),
      },
    }),
    async (c) => {
      const { roomId } = c.req.valid("param");
      const body = c.req.valid("json");
      const user = c.var.user;
      await loadMemberRoom(c.var.services.db, roomId, user.id);
      const out = await roomStub(c.env, roomId).postMessage(
        { id: user.id, displayName: user.displayName },
        { content: body.content, clientId: body.clientId ?? null, replyTo: body.replyTo ?? null },
      );
      if (!out.ok) {
        throw new ApiError(out.error);
      }
      return c.json(out.message, out.duplicate ? 200 : 201);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{roomId}/messages/{seq}",
      tags,
      summary: "Edit your message (a new timeline event, broadcast as message_updated)",
      ...authed,
      request: { params: messageParams, body: jsonBody(patchMessageBodySchema) },
      responses: {
        200: { description: "The edited message", ...jsonContent(messageSchema) },
        400: invalid,
        401: unauthorized,
        403: errorResponse("Not the author, or not a member"),
        404: errorResponse("No such room or message"),
        410: errorResponse("The message was deleted"),
        429: errorResponse("Over MESSAGE_RATE_LIMIT (edits count); see Retry-After"),
      },
    }),
    async (c) => {
      const { roomId, seq } = c.req.valid("param");
      const { content } = c.req.valid("json");
      const { membership } = await loadMemberRoom(c.var.services.db, roomId, c.var.user.id);
      const actor = { id: c.var.user.id, role: membership.role };
      return c.json(unwrap(await roomStub(c.env, roomId).editMessage(actor, seq, content)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{roomId}/messages/{seq}",
      tags,
      summary: "Delete a message (author, admin or owner): it stays as a tombstone",
      ...authed,
      request: { params: messageParams },
      responses: {
        200: {
          description: 'The tombstone (content "", deletedAt set)',
          ...jsonContent(messageSchema),
        },
        400: invalid,
        401: unauthorized,
        403: errorResponse("Not the author nor an admin, or not a member"),
        404: errorResponse("No such room or message"),
        429: errorResponse("Over MESSAGE_RATE_LIMIT (own deletes count); see Retry-After"),
      },
    }),
    async (c) => {
      const { roomId, seq } = c.req.valid("param");
      const { membership } = await loadMemberRoom(c.var.services.db, roomId, c.var.user.id);
      const actor = { id: c.var.user.id, role: membership.role };
      return c.json(unwrap(await roomStub(c.env, roomId).deleteMessage(actor, seq)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{roomId}/receipts",
      tags,
      summary: "Move your delivered/read watermark (only up; clamped to the last seq)",
      ...authed,
      request: { params: roomParams, body: jsonBody(receiptBodySchema) },
      responses: {
        200: { description: "Your watermarks now", ...jsonContent(receiptStateSchema) },
        400: invalid,
        401: unauthorized,
        403: notMember,
        404: hidden,
      },
    }),
    async (c) => {
      const { roomId } = c.req.valid("param");
      const { kind, seq } = c.req.valid("json");
      await loadMemberRoom(c.var.services.db, roomId, c.var.user.id);
      return c.json(await roomStub(c.env, roomId).markReceipt(c.var.user.id, kind, seq), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{roomId}/presence",
      tags: ["live"],
      summary:
        "Members online now (open socket, or within the grace period) and the others' lastSeenAt",
      ...authed,
      request: { params: roomParams },
      responses: {
        200: { description: "Presence", ...jsonContent(presenceSchema) },
        400: invalid,
        401: unauthorized,
        403: errorResponse("Members only: it lists every member, like GET /members"),
        404: hidden,
      },
    }),
    async (c) => {
      const { roomId } = c.req.valid("param");
      const { db } = c.var.services;
      // Members only, even in a public room: the answer is the full member list, which
      // GET /members also keeps from outsiders (docs/api-decisions.md).
      await loadMemberRoom(db, roomId, c.var.user.id);
      const [members, onlineIds]: [MemberRow[], string[]] = await Promise.all([
        listMembers(db, roomId),
        roomStub(c.env, roomId).onlineUserIds(),
      ]);
      const online = new Set(onlineIds);
      return c.json(
        {
          online: members.filter((m) => online.has(m.userId)).map(toMemberDto),
          offline: members
            .filter((m) => !online.has(m.userId))
            .map((m) => ({
              ...toMemberDto(m),
              lastSeenAt: isoOrNull(m.lastSeenAt),
            })),
        },
        200,
      );
    },
  );
