import * as z from "zod";
import { roleSchema } from "../shared/api";
import { BAD_FRAME_LIMIT, BAD_FRAME_WINDOW_MS } from "../shared/protocol";

/**
 * Everything the room knows about one socket, stored with `serializeAttachment` so it survives
 * hibernation (the in-memory map is only a cache of these). Kept small: well under 2 KiB.
 */
export const attachmentSchema = z.object({
  v: z.literal(1),
  userId: z.string().max(64),
  displayName: z.string().max(256),
  isGuest: z.boolean(),
  role: roleSchema,
  sessionId: z.string().max(64),
  /** Membership start (ms) the Worker saw; a removal at or after it makes this socket stale. */
  joinedAt: z.number(),
  connectedAt: z.number(),
  /** Invalid frames counted in the current window (see noteBadFrame). */
  badFrames: z.number().int(),
  badFramesSince: z.number(),
  /** Set when the server closes the socket, so its close event isn't handled twice. */
  closing: z.boolean(),
});
export type Attachment = z.infer<typeof attachmentSchema>;

/**
 * Checks what `deserializeAttachment()` returned; null when it is missing or not ours (the room
 * closes such a socket rather than guess who it belongs to).
 */
export function parseAttachment(raw: unknown): Attachment | null {
  const parsed = attachmentSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/**
 * Counts one invalid frame. The count restarts after BAD_FRAME_WINDOW_MS; going over
 * BAD_FRAME_LIMIT inside one window means the socket should be closed (4008).
 */
export function noteBadFrame(att: Attachment, now: number): { next: Attachment; close: boolean } {
  const fresh = now - att.badFramesSince >= BAD_FRAME_WINDOW_MS;
  const badFrames = fresh ? 1 : att.badFrames + 1;
  const next = { ...att, badFrames, badFramesSince: fresh ? now : att.badFramesSince };
  return { next, close: badFrames > BAD_FRAME_LIMIT };
}

/** The attachment of a socket just accepted, from the identity the Worker verified. */
export function newAttachment(
  who: {
    user: { id: string; displayName: string; isGuest: boolean; sessionId: string };
    role: Attachment["role"];
    joinedAt: number;
  },
  now: number,
): Attachment {
  return {
    v: 1,
    userId: who.user.id,
    displayName: who.user.displayName,
    isGuest: who.user.isGuest,
    role: who.role,
    sessionId: who.user.sessionId,
    joinedAt: who.joinedAt,
    connectedAt: now,
    badFrames: 0,
    badFramesSince: now,
    closing: false,
  };
}
