import { hasRole } from "../rooms/access";
import { iso, isoOrNull, type Message, type Role } from "../shared/api";
import type { ErrorCode } from "../shared/errors";
import {
  type ClientFrame,
  clientFrameSchema,
  clientFrameTypes,
  type ErrorFrame,
  MAX_CLIENT_ID_CHARS,
  MAX_CONTENT_CHARS,
  MAX_FRAME_BYTES,
  type ServerFrame,
} from "../shared/protocol";
import type { StoredMessage, TimelineEvent } from "./message-store";
import type { RateDecision } from "./rate-limit";

/**
 * Pure decisions of the room (STYLE rule 5): what a frame means and whether an action is allowed.
 * The Durable Object shell gathers the facts from SQLite, calls these, and carries out the answer.
 */

export interface RoomError {
  code: ErrorCode;
  message: string;
  retryAfterMs?: number;
}

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; error: RoomError; clientId?: string };

const encoder = new TextEncoder();

/** UTF-8 size without encoding when the answer is obvious (a UTF-16 unit is 1..3 bytes). */
export function frameBytes(raw: string): number {
  return raw.length * 3 <= MAX_FRAME_BYTES ? raw.length : encoder.encode(raw).length;
}

/**
 * Parses one client frame: size first (before JSON.parse spends anything on it), then JSON, then
 * the zod union. Any failure is an `error` answer, never an exception, and the socket stays open.
 * The clientId of a failed send is echoed when it can be read, so the client can match it.
 */
export function parseClientFrame(raw: string | ArrayBuffer): ParsedFrame {
  if (typeof raw !== "string") {
    return bad("Binary frames are not supported; send JSON text");
  }
  if (frameBytes(raw) > MAX_FRAME_BYTES) {
    return {
      ok: false,
      error: {
        code: "payload_too_large",
        message: `Frames are limited to ${MAX_FRAME_BYTES} bytes`,
      },
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return bad("Frame is not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return bad("Frame must be a JSON object with a type");
  }
  const type = (json as { type?: unknown }).type;
  const rawClientId = (json as { clientId?: unknown }).clientId;
  const clientId =
    typeof rawClientId === "string" && rawClientId.length <= 128 ? rawClientId : undefined;
  if (typeof type !== "string" || !(clientFrameTypes as readonly string[]).includes(type)) {
    return bad(`Unknown frame type; expected one of ${clientFrameTypes.join(", ")}`, clientId);
  }
  const fast = type === "send_message" ? plainSendMessage(json as Record<string, unknown>) : null;
  if (fast) {
    return { ok: true, frame: fast };
  }
  const parsed = clientFrameSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    return bad(`Invalid ${type} frame: ${where}${issue?.message ?? "invalid"}`, clientId);
  }
  return { ok: true, frame: parsed.data };
}

type SendMessageFrame = Extract<ClientFrame, { type: "send_message" }>;

/**
 * The common send_message, accepted without zod: content already normalised (no CR, nothing to
 * trim, no control characters but newline and tab, no surrogates, at most MAX_CONTENT_CHARS
 * UTF-16 units), a visible-ASCII clientId, replyTo absent, null or a positive safe integer.
 * It returns exactly what the schema would (a property test checks that), or null to let the
 * schema decide and word the error. Every message passes here, so it allocates only the frame.
 */
export function plainSendMessage(json: Record<string, unknown>): SendMessageFrame | null {
  const { content, clientId, replyTo } = json;
  if (
    typeof content !== "string" ||
    content.length === 0 ||
    content.length > MAX_CONTENT_CHARS ||
    typeof clientId !== "string" ||
    clientId.length === 0 ||
    clientId.length > MAX_CLIENT_ID_CHARS
  ) {
    return null;
  }
  for (let i = 0; i < clientId.length; i++) {
    const c = clientId.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) {
      return null;
    }
  }
  for (let i = 0; i < content.length; i++) {
    const c = content.charCodeAt(i);
    if (
      (c < 0x20 && c !== 0x09 && c !== 0x0a) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xdfff)
    ) {
      return null;
    }
  }
  if (content.trim() !== content) {
    return null;
  }
  if (replyTo === undefined) {
    return { type: "send_message", content, clientId };
  }
  if (replyTo === null || (Number.isSafeInteger(replyTo) && (replyTo as number) >= 1)) {
    return { type: "send_message", content, clientId, replyTo: replyTo as number | null };
  }
  return null;
}

function bad(message: string, clientId?: string): ParsedFrame {
  return clientId === undefined
    ? { ok: false, error: { code: "validation_failed", message } }
    : { ok: false, error: { code: "validation_failed", message }, clientId };
}

export function errorFrame(error: RoomError, clientId?: string): ErrorFrame {
  const frame: ErrorFrame = { type: "error", code: error.code, message: error.message };
  if (clientId !== undefined) {
    frame.clientId = clientId;
  }
  if (error.retryAfterMs !== undefined) {
    frame.retryAfterMs = error.retryAfterMs;
  }
  return frame;
}

/** The Message DTO (DESIGN "Contract details"). A tombstone has content "" already in storage. */
export function toMessageDto(m: StoredMessage, roomId: string): Message {
  return {
    id: m.id,
    seq: m.seq,
    roomId,
    authorId: m.authorId,
    authorName: m.authorName,
    content: m.content,
    clientId: m.clientId,
    replyTo: m.replyTo,
    createdAt: iso(m.createdAt),
    editedAt: isoOrNull(m.editedAt),
    deletedAt: isoOrNull(m.deletedAt),
  };
}

/** A timeline event as its frame: creations are `receive_message`, the rest `message_updated`. */
export function timelineFrame(ev: TimelineEvent, roomId: string): ServerFrame {
  const message = toMessageDto(ev.message, roomId);
  return ev.kind === "created"
    ? { type: "receive_message", seq: ev.seq, message }
    : { type: "message_updated", seq: ev.seq, message };
}

export type SendDecision =
  | { kind: "duplicate"; message: StoredMessage }
  | { kind: "reject"; error: RoomError }
  | { kind: "store" };

/**
 * A send, given the facts: a message already stored under the same (author, clientId) makes it a
 * retry, acked again with the original id and seq whatever the new content says and whatever the
 * rate limit says (it stores nothing); otherwise replyTo must name a message of this room, then
 * the rate limit must allow it.
 */
export function decideSend(facts: {
  existing: StoredMessage | null;
  replyTo: number | null;
  replyTargetExists: boolean;
  rate: RateDecision;
}): SendDecision {
  if (facts.existing) {
    return { kind: "duplicate", message: facts.existing };
  }
  if (facts.replyTo !== null && !facts.replyTargetExists) {
    return {
      kind: "reject",
      error: {
        code: "validation_failed",
        message: `replyTo ${facts.replyTo} is not a message of this room`,
      },
    };
  }
  if (!facts.rate.allowed) {
    return { kind: "reject", error: rateLimited(facts.rate.retryAfterMs) };
  }
  return { kind: "store" };
}

/** Over MESSAGE_RATE_LIMIT (sends, edits and own deletes share it). */
export function rateLimited(retryAfterMs: number): RoomError {
  return { code: "rate_limited", message: "Too many messages; slow down", retryAfterMs };
}

/**
 * Who the rate limit charges for an edit or a delete: the actor, like a send, except an admin
 * or owner deleting someone else's message (moderation must keep up with a flood, not join it).
 */
export function chargedFor(
  actor: Actor,
  kind: "edited" | "deleted",
  message: StoredMessage,
): string | null {
  return kind === "deleted" && message.authorId !== actor.id ? null : actor.id;
}

export interface Actor {
  id: string;
  role: Role;
}

export type ChangeDecision =
  | { kind: "reject"; error: RoomError }
  /** Nothing to change (same content, or already deleted): answered with the current message. */
  | { kind: "noop"; message: StoredMessage }
  | { kind: "apply" };

const noSuchMessage = (seq: number): ChangeDecision => ({
  kind: "reject",
  error: { code: "not_found", message: `No message with seq ${seq} in this room` },
});

/** Only the author edits; a deleted message can't be edited (410); the same text is a no-op. */
export function decideEdit(
  actor: Actor,
  seq: number,
  message: StoredMessage | null,
  content: string,
): ChangeDecision {
  if (!message) {
    return noSuchMessage(seq);
  }
  if (message.authorId !== actor.id) {
    return {
      kind: "reject",
      error: { code: "forbidden", message: "Only the author can edit a message" },
    };
  }
  if (message.deletedAt !== null) {
    return { kind: "reject", error: { code: "gone", message: "The message was deleted" } };
  }
  return message.content === content ? { kind: "noop", message } : { kind: "apply" };
}

/** The author, or an admin/owner of the room, may delete; deleting twice is a no-op. */
export function decideDelete(
  actor: Actor,
  seq: number,
  message: StoredMessage | null,
): ChangeDecision {
  if (!message) {
    return noSuchMessage(seq);
  }
  if (message.authorId !== actor.id && !hasRole(actor.role, "admin")) {
    return {
      kind: "reject",
      error: { code: "forbidden", message: "Only the author or a room admin can delete a message" },
    };
  }
  return message.deletedAt !== null ? { kind: "noop", message } : { kind: "apply" };
}
