import * as z from "zod";
import { errorCodes } from "./errors";

/**
 * HTTP response shapes (DESIGN "Contract details"), shared by the Worker (for /openapi.json) and
 * the client SDK. camelCase JSON, ids are strings, times are ISO 8601 strings. Imports only zod.
 */

export const roleSchema = z.enum(["owner", "admin", "member"]);
export type Role = z.infer<typeof roleSchema>;

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.enum(errorCodes),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: "Error" });
export type ErrorResponse = z.infer<typeof errorResponseSchema>;

export const userSchema = z
  .object({
    id: z.string(),
    email: z.string().nullable(),
    displayName: z.string(),
    isGuest: z.boolean(),
    createdAt: z.string(),
    lastSeenAt: z.string().nullable(),
  })
  .meta({ id: "User" });
export type User = z.infer<typeof userSchema>;

export const authResultSchema = z
  .object({ token: z.string(), refreshToken: z.string(), user: userSchema })
  .meta({ id: "AuthResult" });
export type AuthResult = z.infer<typeof authResultSchema>;

export const tokenPairSchema = z
  .object({ token: z.string(), refreshToken: z.string() })
  .meta({ id: "TokenPair" });
export type TokenPair = z.infer<typeof tokenPairSchema>;

export const roomSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    isPrivate: z.boolean(),
    ownerId: z.string(),
    createdAt: z.string(),
    memberCount: z.number().int(),
  })
  .meta({ id: "Room" });
export type Room = z.infer<typeof roomSchema>;

export const memberSchema = z
  .object({
    userId: z.string(),
    displayName: z.string(),
    role: roleSchema,
    joinedAt: z.string(),
  })
  .meta({ id: "Member" });
export type Member = z.infer<typeof memberSchema>;

export const messageSchema = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    roomId: z.string(),
    authorId: z.string(),
    authorName: z.string(),
    content: z.string(),
    clientId: z.string().nullable(),
    replyTo: z.number().int().nullable(),
    createdAt: z.string(),
    editedAt: z.string().nullable(),
    deletedAt: z.string().nullable(),
  })
  .meta({ id: "Message" });
export type Message = z.infer<typeof messageSchema>;

export const myRoomSchema = z
  .object({
    room: roomSchema,
    role: roleSchema,
    unreadCount: z.number().int(),
    lastMessage: messageSchema.nullable(),
  })
  .meta({ id: "MyRoom" });
export type MyRoom = z.infer<typeof myRoomSchema>;

export const membershipSchema = z
  .object({ room: roomSchema, role: roleSchema, joinedAt: z.string() })
  .meta({ id: "Membership" });
export type Membership = z.infer<typeof membershipSchema>;

export const inviteSchema = z
  .object({
    id: z.string(),
    roomId: z.string(),
    createdBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
    maxUses: z.number().int().nullable(),
    uses: z.number().int(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: "Invite" });
export type Invite = z.infer<typeof inviteSchema>;

/** Returned once, at creation: the only time the raw token is visible. */
export const createdInviteSchema = z
  .object({
    id: z.string(),
    token: z.string(),
    url: z.string(),
    expiresAt: z.string(),
    maxUses: z.number().int().nullable(),
    uses: z.number().int(),
  })
  .meta({ id: "CreatedInvite" });
export type CreatedInvite = z.infer<typeof createdInviteSchema>;

export const invitePreviewSchema = z
  .object({
    room: z.object({ id: z.string(), name: z.string(), memberCount: z.number().int() }),
    expiresAt: z.string(),
    valid: z.boolean(),
  })
  .meta({ id: "InvitePreview" });
export type InvitePreview = z.infer<typeof invitePreviewSchema>;

export const historyPageSchema = z
  .object({
    messages: z.array(messageSchema),
    nextCursor: z.number().int().nullable(),
    latestSeq: z.number().int(),
    epoch: z.string(),
  })
  .meta({ id: "HistoryPage" });
export type HistoryPage = z.infer<typeof historyPageSchema>;

export const presenceSchema = z
  .object({
    online: z.array(memberSchema),
    offline: z.array(memberSchema.extend({ lastSeenAt: z.string().nullable() })),
  })
  .meta({ id: "Presence" });
export type Presence = z.infer<typeof presenceSchema>;

/** Your delivered/read watermarks in a room, after a receipt moved them (or didn't). */
export const receiptStateSchema = z
  .object({ deliveredSeq: z.number().int(), readSeq: z.number().int() })
  .meta({ id: "Receipts" });
export type ReceiptState = z.infer<typeof receiptStateSchema>;

export const wsTicketSchema = z
  .object({ ticket: z.string(), expiresAt: z.string() })
  .meta({ id: "WsTicket" });
export type WsTicket = z.infer<typeof wsTicketSchema>;

/** `{items, nextCursor}`: every list endpoint. */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : iso(ms);
