import {
  type AuthResult,
  authResultSchema,
  type CreatedInvite,
  createdInviteSchema,
  type HistoryPage,
  historyPageSchema,
  type Invite,
  type InvitePreview,
  invitePreviewSchema,
  inviteSchema,
  listOf,
  type Member,
  type Membership,
  type Message,
  type MyRoom,
  memberSchema,
  membershipSchema,
  messageSchema,
  myRoomSchema,
  type Presence,
  presenceSchema,
  type ReceiptState,
  type Role,
  type Room,
  receiptStateSchema,
  roomSchema,
  type TokenPair,
  type User,
  userSchema,
  type WsTicket,
  wsTicketSchema,
} from "../shared/api";
import type { ReceiptKind } from "../shared/protocol";
import type { TokenSession } from "./auth";
import { ChatApiError } from "./errors";
import type { HttpClient } from "./http";

/** One page of a list: pass `nextCursor` back as `cursor` for the next page (null: the end). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** `cursor` from a previous page's `nextCursor`; `limit` within the route's bounds. */
export interface PageQuery {
  cursor?: string;
  limit?: number;
}

/**
 * Which history page: nothing for the newest, `before` a creation seq to walk back, `after` one
 * to walk forward. Never both.
 */
export type HistoryQuery =
  | { before?: undefined; after?: undefined; limit?: number }
  | { before: number; after?: undefined; limit?: number }
  | { after: number; before?: undefined; limit?: number };

const myRoomsPage = listOf(myRoomSchema);
const roomsPage = listOf(roomSchema);
const membersPage = listOf(memberSchema);
const invitesPage = listOf(inviteSchema);

const enc = encodeURIComponent;

/** Sign-up, sign-in and sign-out. Each success stores the new tokens (and calls onTokens). */
export interface AuthApi {
  /** Creates an email account and signs in as it. */
  register(body: { email: string; password: string; displayName: string }): Promise<AuthResult>;
  /**
   * Turns the signed-in guest into an email account in place: same user id, same rooms, same
   * session (its tokens are rotated).
   */
  upgradeGuest(body: { email: string; password: string; displayName: string }): Promise<AuthResult>;
  /** Signs in with email and password. */
  login(body: { email: string; password: string }): Promise<AuthResult>;
  /** Signs in as a new guest (no email or password). */
  guest(body?: { displayName?: string }): Promise<AuthResult>;
  /** Rotates the tokens now. Calls do this by themselves on a 401; you rarely need it. */
  refresh(): Promise<TokenPair>;
  /**
   * Forgets the tokens at once (onTokens(null)), then ends the session on the server, which
   * closes its sockets. Rejects if the server couldn't be told; the tokens are gone either way.
   */
  logout(): Promise<void>;
}

/** The signed-in user. */
export interface MeApi {
  get(): Promise<User>;
  update(body: { displayName: string }): Promise<User>;
}

/** Rooms, membership and members. */
export interface RoomsApi {
  /** Creates a room; you are its owner. */
  create(body: { name: string; isPrivate: boolean }): Promise<Room>;
  /** Your rooms with your role, unread count and last message, most recently joined first. */
  mine(query?: PageQuery): Promise<Page<MyRoom>>;
  /** Public rooms, newest first; `q` filters by a name substring. */
  discover(query?: PageQuery & { q?: string }): Promise<Page<Room>>;
  get(roomId: string): Promise<Room>;
  /** Renames a room or changes its privacy (owner and admins). */
  update(roomId: string, body: { name?: string; isPrivate?: boolean }): Promise<Room>;
  /** Deletes the room (owner); everyone's sockets close with "room_deleted". */
  remove(roomId: string): Promise<void>;
  /** Joins a public room (already a member: nothing changes). */
  join(roomId: string): Promise<Membership>;
  /** Joins the room of an invite token (see parseInviteToken for links). */
  joinWithInvite(token: string): Promise<Membership>;
  /** Leaves a room (an owner must hand the room over or delete it first). */
  leave(roomId: string): Promise<void>;
  /** Members, oldest first (members only). */
  members(roomId: string, query?: PageQuery): Promise<Page<Member>>;
  /** Changes a member's role (owner); "owner" hands the room over. */
  setRole(roomId: string, userId: string, role: Role): Promise<Member>;
  /** Removes a member (owner: admins and members; admins: members); their sockets close. */
  kick(roomId: string, userId: string): Promise<void>;
  /** A single-use, 60-second ticket to open the room's WebSocket (client.room does this). */
  wsTicket(roomId: string): Promise<WsTicket>;
}

/** Invite links and QR codes. */
export interface InvitesApi {
  /** Creates an invite (owner and admins). The token is in the answer only this once. */
  create(
    roomId: string,
    body?: { expiresInHours?: number; maxUses?: number | null },
  ): Promise<CreatedInvite>;
  /** A room's invites (owner and admins): metadata, never tokens. */
  list(roomId: string, query?: PageQuery): Promise<Page<Invite>>;
  revoke(roomId: string, inviteId: string): Promise<void>;
  /** What an invite opens, without signing in: room name, member count, still valid? */
  preview(token: string): Promise<InvitePreview>;
  /** URL of the invite's QR code (SVG), for an `<img src>`; needs no token. */
  qrCodeUrl(token: string): string;
  /** Joins the invite's room (already a member: 200, no use spent). */
  accept(token: string): Promise<Membership>;
}

/** Messages over HTTP (a live room sends over its socket instead: see RoomConnection). */
export interface MessagesApi {
  /** A history page, ascending by seq, with `nextCursor`, `latestSeq` and `epoch`. */
  list(roomId: string, query?: HistoryQuery): Promise<HistoryPage>;
  /** Sends a message; a retry with the same clientId is stored once. */
  send(
    roomId: string,
    body: { content: string; clientId?: string; replyTo?: number | null },
  ): Promise<Message>;
  /** Edits your message. */
  edit(roomId: string, seq: number, content: string): Promise<Message>;
  /** Deletes a message (author, admins, owner); it stays as a tombstone. */
  remove(roomId: string, seq: number): Promise<Message>;
}

/** Delivered/read watermarks. */
export interface ReceiptsApi {
  /** Moves your watermark up to `seq` (never down; clamped to the room's last seq). */
  mark(roomId: string, kind: ReceiptKind, seq: number): Promise<ReceiptState>;
}

/** Builds the typed HTTP surface over one HttpClient and its token session. */
export function createApis(http: HttpClient, session: TokenSession) {
  const signIn = async (p: Promise<AuthResult>): Promise<AuthResult> => {
    const result = await p;
    session.set({ token: result.token, refreshToken: result.refreshToken });
    return result;
  };

  const auth: AuthApi = {
    register: (body) =>
      signIn(
        http.request({
          method: "POST",
          path: "/auth/register",
          json: body,
          auth: false,
          schema: authResultSchema,
        }),
      ),
    upgradeGuest: (body) =>
      signIn(
        http.request({
          method: "POST",
          path: "/auth/register",
          json: body,
          schema: authResultSchema,
        }),
      ),
    login: (body) =>
      signIn(
        http.request({
          method: "POST",
          path: "/auth/login",
          json: body,
          auth: false,
          schema: authResultSchema,
        }),
      ),
    guest: (body = {}) =>
      signIn(
        http.request({
          method: "POST",
          path: "/auth/guest",
          json: body,
          auth: false,
          schema: authResultSchema,
        }),
      ),
    refresh: async () => {
      await session.freshTokenAfter(null);
      const t = session.tokens;
      if (!t) {
        throw new ChatApiError({ status: 401, code: "unauthorized", message: "Signed out" });
      }
      return t;
    },
    logout: async () => {
      const refreshToken = session.tokens?.refreshToken;
      session.set(null);
      if (refreshToken) {
        await http.request({
          method: "POST",
          path: "/auth/logout",
          json: { refreshToken },
          auth: false,
        });
      }
    },
  };

  const me: MeApi = {
    get: () => http.request({ method: "GET", path: "/me", schema: userSchema }),
    update: (body) =>
      http.request({ method: "PATCH", path: "/me", json: body, schema: userSchema }),
  };

  const rooms: RoomsApi = {
    create: (body) =>
      http.request({ method: "POST", path: "/rooms", json: body, schema: roomSchema }),
    mine: (query = {}) =>
      http.request({ method: "GET", path: "/rooms", query: { ...query }, schema: myRoomsPage }),
    discover: (query = {}) =>
      http.request({
        method: "GET",
        path: "/rooms/public",
        query: { ...query },
        schema: roomsPage,
      }),
    get: (roomId) =>
      http.request({ method: "GET", path: `/rooms/${enc(roomId)}`, schema: roomSchema }),
    update: (roomId, body) =>
      http.request({
        method: "PATCH",
        path: `/rooms/${enc(roomId)}`,
        json: body,
        schema: roomSchema,
      }),
    remove: (roomId) => http.request({ method: "DELETE", path: `/rooms/${enc(roomId)}` }),
    join: (roomId) =>
      http.request({
        method: "POST",
        path: `/rooms/${enc(roomId)}/join`,
        schema: membershipSchema,
      }),
    joinWithInvite: (token) =>
      http.request({
        method: "POST",
        path: "/rooms/join",
        json: { inviteCode: token },
        schema: membershipSchema,
      }),
    leave: (roomId) => http.request({ method: "POST", path: `/rooms/${enc(roomId)}/leave` }),
    members: (roomId, query = {}) =>
      http.request({
        method: "GET",
        path: `/rooms/${enc(roomId)}/members`,
        query: { ...query },
        schema: membersPage,
      }),
    setRole: (roomId, userId, role) =>
      http.request({
        method: "PATCH",
        path: `/rooms/${enc(roomId)}/members/${enc(userId)}`,
        json: { role },
        schema: memberSchema,
      }),
    kick: (roomId, userId) =>
      http.request({ method: "DELETE", path: `/rooms/${enc(roomId)}/members/${enc(userId)}` }),
    wsTicket: (roomId) =>
      http.request({
        method: "POST",
        path: `/rooms/${enc(roomId)}/ws-ticket`,
        schema: wsTicketSchema,
      }),
  };

  const invites: InvitesApi = {
    create: (roomId, body = {}) =>
      http.request({
        method: "POST",
        path: `/rooms/${enc(roomId)}/invites`,
        json: body,
        schema: createdInviteSchema,
      }),
    list: (roomId, query = {}) =>
      http.request({
        method: "GET",
        path: `/rooms/${enc(roomId)}/invites`,
        query: { ...query },
        schema: invitesPage,
      }),
    revoke: (roomId, inviteId) =>
      http.request({ method: "DELETE", path: `/rooms/${enc(roomId)}/invites/${enc(inviteId)}` }),
    preview: (token) =>
      http.request({
        method: "GET",
        path: `/invites/${enc(token)}`,
        auth: false,
        schema: invitePreviewSchema,
      }),
    qrCodeUrl: (token) => http.url(`/invites/${enc(token)}/qr.svg`),
    accept: (token) =>
      http.request({
        method: "POST",
        path: `/invites/${enc(token)}/accept`,
        schema: membershipSchema,
      }),
  };

  const messages: MessagesApi = {
    list: (roomId, query = {}) =>
      http.request({
        method: "GET",
        path: `/rooms/${enc(roomId)}/messages`,
        query: { ...query },
        schema: historyPageSchema,
      }),
    send: (roomId, body) =>
      http.request({
        method: "POST",
        path: `/rooms/${enc(roomId)}/messages`,
        json: body,
        schema: messageSchema,
      }),
    edit: (roomId, seq, content) =>
      http.request({
        method: "PATCH",
        path: `/rooms/${enc(roomId)}/messages/${seq}`,
        json: { content },
        schema: messageSchema,
      }),
    remove: (roomId, seq) =>
      http.request({
        method: "DELETE",
        path: `/rooms/${enc(roomId)}/messages/${seq}`,
        schema: messageSchema,
      }),
  };

  const receipts: ReceiptsApi = {
    mark: (roomId, kind, seq) =>
      http.request({
        method: "POST",
        path: `/rooms/${enc(roomId)}/receipts`,
        json: { kind, seq },
        schema: receiptStateSchema,
      }),
  };

  const presence = (roomId: string): Promise<Presence> =>
    http.request({ method: "GET", path: `/rooms/${enc(roomId)}/presence`, schema: presenceSchema });

  return { auth, me, rooms, invites, messages, receipts, presence };
}
