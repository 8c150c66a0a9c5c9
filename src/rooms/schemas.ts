import * as z from "zod";
import { nameSchema } from "../lib/text";
import { roleSchema } from "../shared/api";

export const ROOM_NAME_MAX = 100;

/**
 * Ids are prefixed base62 (src/lib/ids.ts). Anything outside this alphabet or longer than any id
 * we mint is malformed: 400 before a query runs. A well-formed id that names nothing the caller
 * may see is 404, the same answer as a private room they are not in.
 */
export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be an id");

export const roomParamsSchema = z.object({ roomId: idSchema });
export const memberParamsSchema = z.object({ roomId: idSchema, userId: idSchema });

/**
 * Invite tokens in paths are checked only for size: an unknown or garbled token gets the same 404
 * as a well-formed unknown one, so probing learns nothing from the status.
 */
export const inviteTokenSchema = z.string().min(1).max(256);

export const roomNameSchema = nameSchema(ROOM_NAME_MAX).meta({
  description: `1..${ROOM_NAME_MAX} characters after NFC normalisation and trimming; no control, bidi or invisible-only text`,
  example: "Design review",
});

export const createRoomBodySchema = z
  .object({
    name: roomNameSchema,
    // Required, not defaulted: a client that forgot it must not get a public room by accident.
    isPrivate: z.boolean(),
  })
  .meta({ id: "CreateRoomBody" });
export type CreateRoomBody = z.infer<typeof createRoomBodySchema>;

export const patchRoomBodySchema = z
  .object({ name: roomNameSchema.optional(), isPrivate: z.boolean().optional() })
  .refine((b) => b.name !== undefined || b.isPrivate !== undefined, {
    message: "give name, isPrivate or both",
  })
  .meta({ id: "PatchRoomBody" });
export type PatchRoomBody = z.infer<typeof patchRoomBodySchema>;

export const joinBodySchema = z
  .object({ inviteCode: inviteTokenSchema.optional(), roomId: idSchema.optional() })
  .refine((b) => (b.inviteCode === undefined) !== (b.roomId === undefined), {
    message: "give exactly one of inviteCode and roomId",
  })
  .meta({ id: "JoinBody" });
export type JoinBody = z.infer<typeof joinBodySchema>;

export const patchMemberBodySchema = z.object({ role: roleSchema }).meta({ id: "PatchMemberBody" });

/** Keyset position in a list: the sort time and the row id that breaks ties. */
export interface Cursor {
  at: number;
  id: string;
}

/** Opaque to clients (base64url of `<ms>.<id>`); only ever produced by encodeCursor. */
export function encodeCursor(c: Cursor): string {
  return btoa(`${c.at}.${c.id}`).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(s: string): Cursor | null {
  let plain: string;
  try {
    plain = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{1,64})$/.exec(plain);
  if (!match?.[1] || !match[2]) {
    return null;
  }
  return { at: Number(match[1]), id: match[2] };
}

const cursorSchema = z
  .string()
  .max(200)
  .transform((s, ctx) => {
    const cursor = decodeCursor(s);
    if (!cursor) {
      ctx.addIssue({ code: "custom", message: "not a cursor from this API" });
      return z.NEVER;
    }
    return cursor;
  })
  .meta({ description: "nextCursor from the previous page" });

/**
 * `?cursor=&limit=` for every list. Out-of-range limits are refused (400), not clamped, so a
 * client bug shows up at once instead of as a silently short page.
 */
export function pageQuerySchema(defaultLimit: number, maxLimit: number) {
  return z.object({
    cursor: cursorSchema.optional(),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(maxLimit)
      .default(defaultLimit)
      .meta({ description: `1..${maxLimit}, default ${defaultLimit}` }),
  });
}

export const myRoomsQuerySchema = pageQuerySchema(50, 100);
export const membersQuerySchema = pageQuerySchema(100, 100);
export const publicRoomsQuerySchema = pageQuerySchema(20, 100).extend({
  q: z
    .string()
    .trim()
    .max(ROOM_NAME_MAX)
    .optional()
    .meta({ description: "Case-insensitive (ASCII) substring of the room name" }),
});

export interface Page {
  cursor?: Cursor | undefined;
  limit: number;
}

/** Repos fetch limit + 1 rows; this cuts the extra one off and turns it into the next cursor. */
export function toPage<T>(
  rows: T[],
  limit: number,
  position: (row: T) => Cursor,
): { rows: T[]; nextCursor: string | null } {
  if (rows.length <= limit) {
    return { rows, nextCursor: null };
  }
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1];
  return { rows: kept, nextCursor: last === undefined ? null : encodeCursor(position(last)) };
}
