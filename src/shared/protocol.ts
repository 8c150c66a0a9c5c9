import * as z from "zod";
import { memberSchema, messageSchema, roleSchema, roomSchema } from "./api";
import { errorCodes } from "./errors";

/**
 * The WebSocket protocol of `GET /api/rooms/:id/ws` (DESIGN "WebSocket protocol", docs/protocol.md):
 * every frame is a JSON object with a snake_case `type`, validated with these schemas on both ends.
 * Objects are not strict: unknown fields are ignored, so old and new code can talk during a deploy.
 * This module (and the sibling `api.ts` / `errors.ts` it reuses) imports only zod, so the same
 * schemas run in the browser, Node, Deno and workerd.
 */

// ---------------------------------------------------------------------------------------------
// Limits and close codes
// ---------------------------------------------------------------------------------------------

/** Largest client frame the room accepts, in UTF-8 bytes; bigger frames get `payload_too_large`. */
export const MAX_FRAME_BYTES = 16 * 1024;
/** Longest message content, in Unicode code points, after trimming. */
export const MAX_CONTENT_CHARS = 4000;
/** Longest `clientId` (visible ASCII), enough for a UUID or ULID with a prefix. */
export const MAX_CLIENT_ID_CHARS = 128;
/** Resume replays at most this many timeline events; beyond it `ready.resume` is "truncated". */
export const REPLAY_CAP = 1000;
/** A typing indicator lasts this long on the server unless the typist refreshes it. */
export const TYPING_TTL_MS = 6000;
/** A refreshed typing indicator is re-broadcast at most this often per user. */
export const TYPING_REBROADCAST_MS = 2000;
/** More than this many invalid frames from one socket within BAD_FRAME_WINDOW_MS closes it (4008). */
export const BAD_FRAME_LIMIT = 10;
/** Window over which invalid frames are counted. */
export const BAD_FRAME_WINDOW_MS = 10_000;
/**
 * Presence changes (online, offline) are queued and sent at most this long after the first of
 * them, all in one frame: a crowd joining costs one frame per socket per batch, not per join.
 */
export const PRESENCE_BATCH_MS = 50;
/**
 * The batch window of a big room (more online than READY_ONLINE_LIMIT), where a flush carries only
 * departures and the count: one count frame per socket per second instead of twenty while a
 * crowd arrives.
 */
export const PRESENCE_BIG_ROOM_BATCH_MS = 1000;
/** Most changes in one presence frame (keeps a huge flush far below the 1 MiB frame limit). */
export const PRESENCE_BATCH_MAX = 500;

/** Closed: the session was revoked (logout, refresh-token reuse) or the identity is no longer valid. */
export const CLOSE_UNAUTHORIZED = 4001;
/** Closed: you were removed from the room (kicked, or you left). Don't reconnect automatically. */
export const CLOSE_KICKED = 4003;
/** Closed: the room was deleted. Don't reconnect. */
export const CLOSE_ROOM_DELETED = 4004;
/** Closed: too many invalid frames in a short time. */
export const CLOSE_TOO_MANY_BAD_FRAMES = 4008;

/** The exact heartbeat text the runtime answers with PONG_TEXT without waking the room. */
export const PING_TEXT = '{"type":"ping"}';
/** The runtime's automatic answer to PING_TEXT. */
export const PONG_TEXT = '{"type":"pong"}';

// ---------------------------------------------------------------------------------------------
// Field schemas
// ---------------------------------------------------------------------------------------------

// C0 controls except \t (U+0009) and \n (U+000A), DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Length in code points, so an emoji counts as one character, not two UTF-16 units. */
export function contentLength(s: string): number {
  let n = 0;
  for (const _ of s) {
    n++;
  }
  return n;
}

/**
 * Message content: CRLF and lone CR become LF (so Windows line endings are not rejected as
 * controls), then trimmed; 1..MAX_CONTENT_CHARS code points; no NUL or other control characters
 * except newline and tab; no lone surrogates (they can't be encoded as UTF-8).
 */
export const contentSchema = z
  .string()
  .transform((s) => s.replace(/\r\n?/g, "\n").trim())
  .pipe(
    z
      .string()
      .min(1, "must not be empty")
      .refine(
        (s) => contentLength(s) <= MAX_CONTENT_CHARS,
        `must be at most ${MAX_CONTENT_CHARS} characters`,
      )
      .refine(
        (s) => !FORBIDDEN_CONTROL.test(s),
        "must not contain control characters other than newline and tab",
      )
      .refine((s) => !LONE_SURROGATE.test(s), "must be valid Unicode (no lone surrogates)"),
  );

/** The sender's idempotency key: 1..128 visible ASCII characters (a UUID is a good choice). */
export const clientIdSchema = z
  .string()
  .regex(/^[\x21-\x7e]+$/, "must be visible ASCII")
  .max(MAX_CLIENT_ID_CHARS);

/** A message's creation seq (its address): a positive safe integer. */
export const messageSeqSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
/** A timeline position for receipts: 0 (nothing) or more; values above lastSeq are clamped. */
export const watermarkSeqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Which watermark a receipt moves. */
export const receiptKindSchema = z.enum(["delivered", "read"]);
/** `delivered` or `read`. */
export type ReceiptKind = z.infer<typeof receiptKindSchema>;

// ---------------------------------------------------------------------------------------------
// Client -> server
// ---------------------------------------------------------------------------------------------

/** Send a message; `clientId` makes retries idempotent, `replyTo` names a message seq. */
export const sendMessageFrameSchema = z.object({
  type: z.literal("send_message"),
  content: contentSchema,
  clientId: clientIdSchema,
  replyTo: messageSeqSchema.nullish(),
});
/** Edit your message at creation seq `seq`. */
export const editMessageFrameSchema = z.object({
  type: z.literal("edit_message"),
  seq: messageSeqSchema,
  content: contentSchema,
});
/** Delete (tombstone) the message at `seq`: the author, or an admin/owner. */
export const deleteMessageFrameSchema = z.object({
  type: z.literal("delete_message"),
  seq: messageSeqSchema,
});
/** Start (refresh) or stop your typing indicator. */
export const clientTypingFrameSchema = z.object({
  type: z.literal("typing"),
  isTyping: z.boolean(),
});
/** Move your read watermark (and delivered with it). */
export const readFrameSchema = z.object({ type: z.literal("read"), seq: watermarkSeqSchema });
/** Move your delivered watermark. */
export const deliveredFrameSchema = z.object({
  type: z.literal("delivered"),
  seq: watermarkSeqSchema,
});
/** Heartbeat; the exact PING_TEXT is answered by the runtime without waking the room. */
export const pingFrameSchema = z.object({ type: z.literal("ping") });

/** Every frame a client may send. */
export const clientFrameSchema = z.discriminatedUnion("type", [
  sendMessageFrameSchema,
  editMessageFrameSchema,
  deleteMessageFrameSchema,
  clientTypingFrameSchema,
  readFrameSchema,
  deliveredFrameSchema,
  pingFrameSchema,
]);
/** A validated client frame. */
export type ClientFrame = z.infer<typeof clientFrameSchema>;
/** The frame types a client may send, for quick "unknown type" answers. */
export const clientFrameTypes = [
  "send_message",
  "edit_message",
  "delete_message",
  "typing",
  "read",
  "delivered",
  "ping",
] as const;

// ---------------------------------------------------------------------------------------------
// Server -> client
// ---------------------------------------------------------------------------------------------

/** none: no `since`; ok: missed events follow; truncated: over REPLAY_CAP; reset: other epoch. */
export const resumeKindSchema = z.enum(["none", "ok", "truncated", "reset"]);
/** See resumeKindSchema. */
export type ResumeKind = z.infer<typeof resumeKindSchema>;

/**
 * How many members are online (open socket or grace period, you included), on `ready` and every
 * presence frame. Optional on the wire only for servers older than the field (their `online`
 * lists are complete, so a client falls back to counting them); this server always sends it.
 */
export const onlineCountSchema = z.number().int().min(0).optional();

/**
 * Always the first frame of a socket: the room, you, who is online, and where the timeline is.
 * `online` lists everyone online (you first, then by name) while at most the room's
 * READY_ONLINE_LIMIT are, and only you above that (a big room); `onlineCount` counts all of them,
 * so `onlineCount === online.length` means the list is complete.
 * GET /api/rooms/:id/presence lists everyone.
 */
export const readyFrameSchema = z.object({
  type: z.literal("ready"),
  room: roomSchema,
  you: z.object({ userId: z.string(), displayName: z.string(), role: roleSchema }),
  online: z.array(memberSchema),
  onlineCount: onlineCountSchema,
  lastSeq: z.number().int(),
  readSeq: z.number().int(),
  epoch: z.string(),
  resume: resumeKindSchema,
});
/** A new message (timeline event `seq`). */
export const receiveMessageFrameSchema = z.object({
  type: z.literal("receive_message"),
  seq: z.number().int(),
  message: messageSchema,
});
/** A message was edited or deleted (timeline event `seq`; `message.seq` is its address). */
export const messageUpdatedFrameSchema = z.object({
  type: z.literal("message_updated"),
  seq: z.number().int(),
  message: messageSchema,
});
/** Your send (by clientId) is stored as message `id` at `seq`; sent before its receive_message. */
export const ackFrameSchema = z.object({
  type: z.literal("ack"),
  clientId: z.string(),
  seq: z.number().int(),
  id: z.string(),
});
/** Someone else started or stopped typing. */
export const serverTypingFrameSchema = z.object({
  type: z.literal("typing"),
  userId: z.string(),
  displayName: z.string(),
  isTyping: z.boolean(),
  /** How long the indicator lasts without a refresh (0 when isTyping is false). */
  expiresInMs: z.number().int(),
});
/**
 * One presence change: a member came online (first socket) or went offline (after the grace
 * period, or removed). `user_status` is one change, `user_status_batch` several: one schema, so
 * the two can't drift.
 */
export const presenceChangeSchema = z.object({
  userId: z.string(),
  /** Added beyond DESIGN so a client can show who came online without another request. */
  displayName: z.string().optional(),
  status: z.enum(["online", "offline"]),
  lastSeenAt: z.string().optional(),
});
/** See presenceChangeSchema. */
export type PresenceChange = z.infer<typeof presenceChangeSchema>;
/**
 * A member came online or went offline (the only change of a presence flush); `onlineCount` is
 * the room's count once the flush is applied.
 */
export const userStatusFrameSchema = z.object({
  type: z.literal("user_status"),
  ...presenceChangeSchema.shape,
  onlineCount: onlineCountSchema,
});
/**
 * Several presence changes flushed together (at most one per user, PRESENCE_BATCH_MAX at most):
 * apply them in order, exactly like that many `user_status` frames. `onlineCount` is the room's
 * count once the flush is applied.
 */
export const userStatusBatchFrameSchema = z.object({
  type: z.literal("user_status_batch"),
  changes: z.array(presenceChangeSchema),
  onlineCount: onlineCountSchema,
});
/** A member's delivered or read watermark moved. */
export const receiptFrameSchema = z.object({
  type: z.literal("receipt"),
  userId: z.string(),
  kind: receiptKindSchema,
  seq: z.number().int(),
});
/** A frame was refused; the socket stays open. Codes are the HTTP error codes. */
export const errorFrameSchema = z.object({
  type: z.literal("error"),
  code: z.enum(errorCodes),
  message: z.string(),
  clientId: z.string().optional(),
  retryAfterMs: z.number().int().optional(),
});
/** The heartbeat answer. */
export const pongFrameSchema = z.object({ type: z.literal("pong") });

/** Every frame the server sends. */
export const serverFrameSchema = z.discriminatedUnion("type", [
  readyFrameSchema,
  receiveMessageFrameSchema,
  messageUpdatedFrameSchema,
  ackFrameSchema,
  serverTypingFrameSchema,
  userStatusFrameSchema,
  userStatusBatchFrameSchema,
  receiptFrameSchema,
  errorFrameSchema,
  pongFrameSchema,
]);
/** Any frame the server sends. */
export type ServerFrame = z.infer<typeof serverFrameSchema>;
/** The `ready` frame. */
export type ReadyFrame = z.infer<typeof readyFrameSchema>;
/** The `error` frame. */
export type ErrorFrame = z.infer<typeof errorFrameSchema>;
/** A presence frame: one change (`user_status`) or several (`user_status_batch`). */
export type PresenceFrame =
  | z.infer<typeof userStatusFrameSchema>
  | z.infer<typeof userStatusBatchFrameSchema>;
