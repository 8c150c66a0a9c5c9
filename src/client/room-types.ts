import type { HistoryPage, Message, Presence, Role, Room, WsTicket } from "../shared/api";
import type { ReceiptKind, ResumeKind } from "../shared/protocol";
import type { HistoryQuery } from "./api";
import type { ChatApiError } from "./errors";
import type { Cursor } from "./timeline";

// The public types of a live room (RoomConnection), apart from the class so docs and apps can
// read them in one place.

/**
 * "connecting": the first attempt; "open": `ready` received; "reconnecting": lost or failing,
 * retrying with backoff; "closed": for good (see `closeReason`).
 */
export type RoomStatus = "connecting" | "open" | "reconnecting" | "closed";

/**
 * Why a room closed for good: the app closed it; you were removed (4003); the room was deleted
 * (4004); the session ended (4001, or a refresh failed); the room is gone or hidden from you
 * (404); or the server refused in another final way.
 */
export type CloseReasonKind =
  | "closed"
  | "kicked"
  | "room_deleted"
  | "unauthorized"
  | "not_found"
  | "refused";

/** Why and how a room closed for good (`room.closeReason`, the final `status` event). */
export interface CloseReason {
  kind: CloseReasonKind;
  message: string;
  /** The WebSocket close code, when a close frame said it. */
  closeCode: number | null;
}

/** A member shown online (an open socket, or gone for less than the grace period). */
export interface OnlineUser {
  userId: string;
  displayName: string;
}

/** Someone typing in the room (never you). */
export interface TypingUser {
  userId: string;
  displayName: string;
}

/** A user's delivered/read watermarks as this room has seen them. */
export interface Watermarks {
  deliveredSeq: number;
  readSeq: number;
}

/** Where the room keeps its cursor between sessions (e.g. over localStorage). */
export interface CursorStore {
  load(): Cursor | null;
  save(cursor: Cursor): void;
}

/** Options of `client.room(roomId, options)`. */
export interface RoomOptions {
  /** Resume from this cursor instead of loading the newest page (overrides `store`). */
  resume?: Cursor;
  /** Messages the app kept along with `resume`, current as of `resume.since`: shown at once. */
  messages?: readonly Message[];
  /** Loads the cursor at start (when `resume` is absent) and saves it on every change. */
  store?: CursorStore;
  /** Messages in the first page and in each `loadOlder` page by default (50). */
  historyLimit?: number;
  /** Reconnect backoff: the first delay is this, randomised ±50% per room (1000). */
  minReconnectDelayMs?: number;
  /** Reconnect backoff cap (10000). */
  maxReconnectDelayMs?: number;
  /** A sent message without an ack after this long means a dead socket: reconnect (10000). */
  ackTimeoutMs?: number;
  /** Ping this often while open, and reconnect when no frame comes back within `ackTimeoutMs` (25000; 0: off). */
  heartbeatMs?: number;
}

/**
 * What `room.send()` returns: the promise of the stored message (see `send`), carrying the
 * clientId the message was queued under, so the app can tie its `pending` entry, and a later
 * error for it, to this send at once.
 */
export type SendPromise = Promise<Message> & { readonly clientId: string };

/** What a room's `ready` tells: the room, who you are in it, and how the resume went. */
export interface ReadyInfo {
  room: Room;
  you: { userId: string; displayName: string; role: Role };
  /** "ok": missed events were replayed; "reset"/"truncated": the timeline was reloaded over HTTP. */
  resume: ResumeKind;
}

/** Every event of a RoomConnection and its payload. */
export interface RoomEvents {
  /** A new message, live or replayed after a reconnect (not ones paged in over HTTP). */
  message: Message;
  /** An edit or a deletion (a tombstone: content "", deletedAt set) of a message in the timeline. */
  message_updated: Message;
  /** The timeline or the pending sends changed: re-render from `room.timeline` / `room.pending`. */
  timeline: readonly Message[];
  /** The timeline was replaced or refreshed wholesale: the room's history was reset, or too much was missed. */
  reset: { reason: "reset" | "truncated" };
  /** Someone started or stopped typing. */
  typing: TypingUser & { isTyping: boolean };
  /** Someone came online or went offline (after the grace period). */
  presence: OnlineUser & { status: "online" | "offline"; lastSeenAt: string | null };
  /**
   * `room.onlineCount` changed with a presence frame. In a big room (more online than the
   * server's READY_ONLINE_LIMIT) arrivals come only as this, without a `presence` event.
   */
  online_count: number;
  /** Someone's delivered/read watermark moved (yours too, from another device). */
  receipt: { userId: string; kind: ReceiptKind; seq: number };
  /** `room.unread` changed. */
  unread: number;
  /** The connection status changed; `reason` is set once it is "closed". */
  status: { status: RoomStatus; reason: CloseReason | null };
  /**
   * A socket is ready (each (re)connect): `room.online` (partial in a big room),
   * `room.onlineCount` and `room.info` were refreshed.
   */
  ready: ReadyInfo;
  /** An error not tied to a `send` (those reject its promise instead). */
  error: ChatApiError;
}

/** What a room needs from the client: HTTP calls and how to build its socket. */
export interface RoomTransport {
  listMessages(roomId: string, query: HistoryQuery): Promise<HistoryPage>;
  editMessage(roomId: string, seq: number, content: string): Promise<Message>;
  removeMessage(roomId: string, seq: number): Promise<Message>;
  wsTicket(roomId: string): Promise<WsTicket>;
  presence(roomId: string): Promise<Presence>;
  socketUrl(roomId: string, query: { ticket: string; since: number; epoch: string }): string;
  WebSocket: unknown;
  newId(): string;
}
