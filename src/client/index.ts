/**
 * The chat SDK: typed HTTP calls for every route and live rooms over partysocket.
 * Web-standard APIs only (fetch, WebSocket, URL, TextEncoder), so it runs in browsers, Node 22+,
 * Deno and React Native. Reference: docs/client.md.
 *
 * @example
 * const client = createChatClient({ baseUrl: "http://127.0.0.1:8787" });
 * await client.auth.guest({ displayName: "Ada" });
 * const { id } = await client.rooms.create({ name: "General", isPrivate: false });
 * const room = client.room(id);
 * room.on("message", (m) => console.log(`${m.authorName}: ${m.content}`));
 * await room.send("Hello!");
 */
import { type Presence, tokenPairSchema } from "../shared/api";
import {
  type AuthApi,
  createApis,
  type InvitesApi,
  type MeApi,
  type MessagesApi,
  type ReceiptsApi,
  type RoomsApi,
} from "./api";
import { type RefreshLock, TokenSession, type Tokens } from "./auth";
import { type FetchLike, HttpClient } from "./http";
import { RoomConnection } from "./room-connection";
import type { RoomOptions } from "./room-types";

export type {
  AuthResult,
  CreatedInvite,
  HistoryPage,
  Invite,
  InvitePreview,
  Member,
  Membership,
  Message,
  MyRoom,
  Presence,
  ReceiptState,
  Role,
  Room,
  TokenPair,
  User,
  WsTicket,
} from "../shared/api";
export type { ReceiptKind, ResumeKind } from "../shared/protocol";
export type {
  AuthApi,
  HistoryQuery,
  InvitesApi,
  MeApi,
  MessagesApi,
  Page,
  PageQuery,
  ReceiptsApi,
  RoomsApi,
} from "./api";
export type { RefreshLock, Tokens, TokensListener } from "./auth";
export type { Unsubscribe } from "./emitter";
export { ChatApiError, type ErrorCode, isChatApiError } from "./errors";
export type { FetchLike } from "./http";
export type { PendingMessage } from "./outbox";
export { RoomConnection } from "./room-connection";
export type {
  CloseReason,
  CloseReasonKind,
  CursorStore,
  OnlineUser,
  ReadyInfo,
  RoomEvents,
  RoomOptions,
  RoomStatus,
  SendPromise,
  TypingUser,
  Watermarks,
} from "./room-types";
export { type Cursor, Timeline, type TimelineChange, type TimelineFrame } from "./timeline";

/** A WebSocket constructor: the global one, or e.g. the `ws` package's in older runtimes. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown;

/** Options of createChatClient. */
export interface ChatClientOptions {
  /** The backend's origin, e.g. "https://chat.example.com" (a path prefix is kept). */
  baseUrl: string;
  /** Tokens from an earlier session (e.g. from localStorage). */
  tokens?: Tokens | null;
  /** Called with the tokens after every sign-in and rotation, and null when they are cleared: persist them here. */
  onTokens?: (tokens: Tokens | null) => void;
  /**
   * For tokens shared with other contexts (browser tabs over localStorage): runs `fn` holding a
   * lock they all share, e.g. `(fn) => navigator.locks.request("chat.tokens", fn)`. Refreshes
   * then take turns, and each re-reads the stored pair (`loadTokens`) before rotating, so no two
   * contexts ever present the same single-use refresh token.
   */
  refreshLock?: RefreshLock;
  /**
   * Reads the stored tokens as they are now (the pair `onTokens` persisted, maybe from another
   * context). Before rotating, inside `refreshLock`, a stored pair with a different refresh token
   * is adopted (and passed to onTokens) instead of refreshing; null lets the refresh go on.
   */
  loadTokens?: () => Tokens | null;
  /** A fetch to use instead of the global one. */
  fetch?: FetchLike;
  /**
   * Gives up on an HTTP call that has no answer after this long (default 30000), with a
   * ChatApiError `unavailable` (status 0), as for any network error.
   */
  requestTimeoutMs?: number;
  /** A WebSocket class to use instead of the global one. */
  WebSocket?: WebSocketConstructor;
  /** Makes clientIds for sends (default crypto.randomUUID, with a fallback where it is missing). */
  generateId?: () => string;
}

/** The SDK's entry point: everything the API offers, grouped by resource. */
export interface ChatClient {
  /** Sign-up, sign-in, guest, sign-out. */
  readonly auth: AuthApi;
  /** The signed-in user. */
  readonly me: MeApi;
  /** Rooms, membership, members. */
  readonly rooms: RoomsApi;
  /** Invite links and QR codes. */
  readonly invites: InvitesApi;
  /** History and messages over HTTP. */
  readonly messages: MessagesApi;
  /** Delivered/read watermarks over HTTP. */
  readonly receipts: ReceiptsApi;
  /** Who is online in a room, and when the others were last seen. */
  presence(roomId: string): Promise<Presence>;
  /**
   * Opens a live room: loads the newest page (or resumes from a cursor), connects, and keeps
   * the timeline, presence, typing and receipts up to date until `room.close()`.
   */
  room(roomId: string, options?: RoomOptions): RoomConnection;
  /** The current tokens (null when signed out). */
  readonly tokens: Tokens | null;
  /** Replaces the tokens (e.g. signed in elsewhere); calls onTokens. */
  setTokens(tokens: Tokens | null): void;
  /** The backend origin the client talks to. */
  readonly baseUrl: string;
  /** Closes every room this client opened. */
  close(): void;
}

/**
 * Creates a client. Signed-in calls carry the access token; a 401 rotates the refresh token
 * once (concurrent calls share that one refresh) and retries; a failed refresh clears the
 * tokens (onTokens(null)) and rejects with `unauthorized`. Every error is a ChatApiError.
 *
 * @example
 * const client = createChatClient({
 *   baseUrl: location.origin,
 *   tokens: JSON.parse(localStorage.getItem("tokens") ?? "null"),
 *   onTokens: (t) => localStorage.setItem("tokens", JSON.stringify(t)),
 * });
 */
export function createChatClient(options: ChatClientOptions): ChatClient {
  let http: HttpClient | null = null;
  const session = new TokenSession(
    options.tokens ?? null,
    options.onTokens,
    (refreshToken) => {
      if (!http) {
        throw new Error("HTTP client not ready");
      }
      return http.request({
        method: "POST",
        path: "/auth/refresh",
        json: { refreshToken },
        auth: false,
        schema: tokenPairSchema,
      });
    },
    { refreshLock: options.refreshLock, loadTokens: options.loadTokens },
  );
  http = new HttpClient(options.baseUrl, options.fetch, session, options.requestTimeoutMs);
  const apis = createApis(http, session);
  const socketBase = http.baseUrl.replace(/^http/, "ws");
  const newId = options.generateId ?? randomId;
  const rooms = new Set<RoomConnection>();

  return {
    ...apis,
    baseUrl: http.baseUrl,
    get tokens() {
      return session.tokens;
    },
    setTokens: (tokens) => session.set(tokens),
    room(roomId, roomOptions) {
      const room = new RoomConnection(
        roomId,
        {
          listMessages: apis.messages.list,
          editMessage: apis.messages.edit,
          removeMessage: apis.messages.remove,
          wsTicket: apis.rooms.wsTicket,
          presence: apis.presence,
          // The ticket rides in the URL because browsers can't set headers on a WebSocket; it
          // is single use and short-lived. The access token never goes in a URL.
          socketUrl: (id, q) =>
            `${socketBase}/api/rooms/${encodeURIComponent(id)}/ws?${new URLSearchParams({
              ticket: q.ticket,
              since: String(q.since),
              epoch: q.epoch,
            })}`,
          WebSocket: options.WebSocket,
          newId,
        },
        roomOptions,
      );
      rooms.add(room);
      room.on("status", ({ status }) => {
        if (status === "closed") {
          rooms.delete(room);
        }
      });
      return room;
    },
    close() {
      for (const room of [...rooms]) {
        room.close();
      }
    },
  };
}

/**
 * The invite token in what a user pasted or opened: a join link (`https://host/join#<token>`),
 * a URL with `?invite=`/`?token=`, or the bare token. Null when there is none.
 */
export function parseInviteToken(input: string): string | null {
  const text = input.trim();
  if (text === "") {
    return null;
  }
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // Not a URL: maybe "#token" or a bare token.
  }
  if (url) {
    const fromHash = decodeURIComponent(url.hash.replace(/^#/, ""));
    const fromQuery = url.searchParams.get("invite") ?? url.searchParams.get("token");
    return fromHash || fromQuery || null;
  }
  const bare = text.replace(/^#/, "");
  return /^[A-Za-z0-9_-]+$/.test(bare) ? bare : null;
}

/** A v4 UUID: crypto.randomUUID where it exists (not React Native), else from getRandomValues. */
function randomId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === "function") {
    return c.randomUUID();
  }
  const bytes = new Uint8Array(16);
  if (c && typeof c.getRandomValues === "function") {
    c.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = Math.floor(Math.random() * 256);
    }
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
