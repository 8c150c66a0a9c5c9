import type { Message } from "../shared/api";
import type { RoomError } from "./room-logic";

/**
 * Shapes of the room object's RPC methods that the Worker's routes call (chat-room.ts). Kept
 * apart from the class so code that only talks to a room doesn't pull in `cloudflare:workers`.
 */

export interface MessageInput {
  content: string;
  clientId: string | null;
  replyTo: number | null;
}

export type SendOutcome =
  | { ok: true; message: Message; duplicate: boolean }
  | { ok: false; error: RoomError };

export type ChangeOutcome = { ok: true; message: Message } | { ok: false; error: RoomError };

export interface HistoryQuery {
  before: number | null;
  after: number | null;
  limit: number;
}

export interface HistoryResult {
  messages: Message[];
  nextCursor: number | null;
  latestSeq: number;
  epoch: string;
}

export interface TicketClaim {
  userId: string;
  sessionId: string;
}
