import { DurableObject } from "cloudflare:workers";
import * as z from "zod";
import { configSchema } from "../config";
import type { Bindings } from "../env";
import { errorBody, statusOfCode } from "../lib/errors";
import { newId } from "../lib/ids";
import type { Message, Role } from "../shared/api";
import {
  CLOSE_KICKED,
  CLOSE_ROOM_DELETED,
  CLOSE_TOO_MANY_BAD_FRAMES,
  CLOSE_UNAUTHORIZED,
  type ClientFrame,
  PING_TEXT,
  PONG_TEXT,
  REPLAY_CAP,
  type ReceiptKind,
} from "../shared/protocol";
import { type Attachment, newAttachment, noteBadFrame } from "./attachment";
import { LastSeenWriter } from "./last-seen-writer";
import { MessageStore, type StoredMessage } from "./message-store";
import { nextAlarmAt } from "./presence";
import { PresenceStore } from "./presence-store";
import { checkRate, type RatePolicy, RecentActions } from "./rate-limit";
import { advanceWatermarks, type Watermarks } from "./receipts";
import { decideResume, type ResumeDecision } from "./resume";
import {
  type Actor,
  chargedFor,
  decideDelete,
  decideEdit,
  decideSend,
  errorFrame,
  parseClientFrame,
  type RoomError,
  rateLimited,
  timelineFrame,
  toMessageDto,
} from "./room-logic";
import { RoomPresence } from "./room-presence";
import { readUpgradeContext, type UpgradeContext } from "./room-stub";
import type {
  ChangeOutcome,
  HistoryQuery,
  HistoryResult,
  MessageInput,
  SendOutcome,
  TicketClaim,
} from "./rpc-types";
import { RoomSockets, send } from "./sockets";

/** The room reads only these vars; secrets like JWT_SECRET never reach it. */
const roomConfigSchema = configSchema
  .pick({
    MESSAGE_RATE_LIMIT: true,
    MESSAGE_RATE_WINDOW_MS: true,
    PRESENCE_GRACE_MS: true,
    READY_ONLINE_LIMIT: true,
  })
  .extend({ TURSO_DATABASE_URL: z.string().optional(), TURSO_AUTH_TOKEN: z.string().optional() });

type Change = { kind: "edited"; content: string } | { kind: "deleted" };
type SendResult =
  | { kind: "stored" | "duplicate"; message: StoredMessage }
  | { kind: "reject"; error: RoomError };

/**
 * One per room (STYLE rule 5): a thin shell that accepts hibernatable sockets (RoomSockets),
 * runs the pure decisions of room-logic / presence / receipts / rate-limit / resume over the
 * room's SQLite (MessageStore), and carries out the answers. Every handler reads and writes
 * synchronously in one turn, so the output gate sends nothing before the write it depends on is
 * durable; the only await between a read and a write is the libSQL call in alarm().
 */
export class ChatRoom extends DurableObject<Bindings> {
  private readonly store: MessageStore;
  private readonly presence: RoomPresence;
  private readonly sockets: RoomSockets;
  private readonly policy: RatePolicy;
  /** Each sender's recent send times, rebuilt from the messages table after a wake-up. */
  private readonly recentActions: RecentActions;
  private readonly lastSeen: LastSeenWriter;
  /** The alarm time this instance set; null when unknown (after a wake-up) or after it fired. */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    const cfg = roomConfigSchema.parse(env);
    this.policy = { limit: cfg.MESSAGE_RATE_LIMIT, windowMs: cfg.MESSAGE_RATE_WINDOW_MS };
    this.store = new MessageStore(ctx.storage);
    const presenceStore = new PresenceStore(ctx.storage);
    this.lastSeen = new LastSeenWriter(
      presenceStore,
      { url: cfg.TURSO_DATABASE_URL, authToken: cfg.TURSO_AUTH_TOKEN || undefined },
      () => this.roomId,
    );
    this.recentActions = new RecentActions(this.policy, (userId, from, n) =>
      this.store.newestActionTimes(userId, from, n),
    );
    this.sockets = new RoomSockets(ctx);
    this.presence = new RoomPresence(presenceStore, this.sockets, {
      graceMs: cfg.PRESENCE_GRACE_MS,
      readyOnlineLimit: cfg.READY_ONLINE_LIMIT,
      schedule: (now) => this.scheduleAlarm(now),
    });
    void ctx.blockConcurrencyWhile(async () => this.store.migrate(newEpoch));
    // Heartbeats are answered by the runtime without waking the object, so idle rooms hibernate.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_TEXT, PONG_TEXT));
  }

  /** The room id: the object's name (roomStub uses getByName). */
  private get roomId(): string {
    return this.ctx.id.name ?? "";
  }

  /** After deleteRoom() wiped storage, a later call (a race the Worker lost) starts afresh. */
  private ensureStore(): MessageStore {
    if (!this.store.isReady) {
      this.store.migrate(newEpoch);
    }
    return this.store;
  }

  // ---- WebSocket lifecycle -----------------------------------------------------------------

  /** The upgrade the Worker forwarded (room-stub.buildUpgradeRequest); everything in one turn. */
  override async fetch(req: Request): Promise<Response> {
    const up = readUpgradeContext(req);
    if (!up || req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return httpError({ code: "validation_failed", message: "Expected a WebSocket upgrade" });
    }
    const store = this.ensureStore();
    const refusal = this.refuseUpgrade(up);
    if (refusal) {
      return httpError(refusal);
    }
    const resume = decideResume(up, { lastSeq: store.lastSeq, epoch: store.epoch });
    if (resume.kind === "invalid") {
      return httpError({ code: "validation_failed", message: resume.message });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.open(server, newAttachment(up, Date.now()), up, resume);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A socket was removed or its session revoked while the Worker was approving the upgrade. */
  private refuseUpgrade(up: UpgradeContext): RoomError | null {
    const removedAt = this.store.removedAt(up.user.id);
    if (removedAt !== null && up.joinedAt <= removedAt) {
      return { code: "not_found", message: "Room not found" };
    }
    if (this.store.isSessionRevoked(up.user.sessionId)) {
      return { code: "unauthorized", message: "Session revoked" };
    }
    return null;
  }

  /**
   * Accept, ready, replay, announce: in the same turn as the accept, so no live frame can slip
   * in between the replay and the first live event. Replay then live is gap-free by construction.
   * The announcement is queued, not broadcast (see presence.QueuedPresence): `ready.onlineCount`
   * is exact already, and the alarm tells everyone else in one batched frame.
   */
  private open(
    ws: WebSocket,
    att: Attachment,
    up: UpgradeContext,
    resume: Exclude<ResumeDecision, { kind: "invalid" }>,
  ): void {
    const store = this.store;
    const announceOnline = this.presence.opening(att.userId);
    this.sockets.accept(ws, att);
    send(ws, {
      type: "ready",
      room: up.room,
      you: { userId: att.userId, displayName: att.displayName, role: att.role },
      ...this.presence.ready(att.userId),
      lastSeq: store.lastSeq,
      readSeq: store.watermarks(att.userId).readSeq,
      epoch: store.epoch,
      resume: resume.kind,
    });
    if (resume.kind === "ok") {
      for (const ev of store.eventsAfter(resume.after, REPLAY_CAP)) {
        send(ws, timelineFrame(ev, this.roomId));
      }
    }
    if (announceOnline) {
      this.presence.announceOnline(att);
    }
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const att = this.sockets.get(ws);
    if (!att || att.closing) {
      return;
    }
    this.ensureStore();
    const parsed = parseClientFrame(raw);
    if (!parsed.ok) {
      send(ws, errorFrame(parsed.error, parsed.clientId));
      this.countBadFrame(ws, att);
      return;
    }
    this.dispatch(ws, att, parsed.frame);
  }

  private dispatch(ws: WebSocket, att: Attachment, frame: ClientFrame): void {
    switch (frame.type) {
      case "send_message":
        this.onSendFrame(ws, att, frame.clientId, {
          content: frame.content,
          clientId: frame.clientId,
          replyTo: frame.replyTo ?? null,
        });
        return;
      case "edit_message":
      case "delete_message": {
        const change: Change =
          frame.type === "edit_message"
            ? { kind: "edited", content: frame.content }
            : { kind: "deleted" };
        const out = this.change({ id: att.userId, role: att.role }, frame.seq, change);
        if (!out.ok) {
          send(ws, errorFrame(out.error));
        }
        return;
      }
      case "typing":
        this.presence.typing(att, frame.isTyping);
        return;
      case "read":
      case "delivered":
        this.receipt(att.userId, frame.type, frame.seq);
        return;
      case "ping":
        // Pings that aren't the exact auto-response text (extra fields, spaces) land here.
        send(ws, { type: "pong" });
        return;
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const att = this.sockets.depart(ws);
    if (att) {
      try {
        // Reciprocate the client's close; 1005/1006 are reserved and can't be sent.
        ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
      } catch {
        // Already closed.
      }
      this.ensureStore();
      this.presence.socketGone(att);
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    const att = this.sockets.depart(ws);
    if (att) {
      this.ensureStore();
      this.presence.socketGone(att);
    }
  }

  /** Invalid frames keep the socket open, until there are too many of them in a short time. */
  private countBadFrame(ws: WebSocket, att: Attachment): void {
    const { next, close } = noteBadFrame(att, Date.now());
    this.sockets.set(ws, next);
    if (close) {
      this.sockets.close([ws], CLOSE_TOO_MANY_BAD_FRAMES, "too many invalid frames");
      this.presence.socketGone(next);
    }
  }

  // ---- messages ----------------------------------------------------------------------------

  private onSendFrame(ws: WebSocket, att: Attachment, clientId: string, input: MessageInput): void {
    const result = this.send({ id: att.userId, displayName: att.displayName }, input);
    if (result.kind === "reject") {
      send(ws, errorFrame(result.error, clientId));
      return;
    }
    // A retry is acked again with the original id and seq, and not broadcast again.
    send(ws, { type: "ack", clientId, seq: result.message.seq, id: result.message.id });
    if (result.kind === "stored") {
      this.announceNewMessage(result.message);
    }
  }

  /**
   * The one send path for WS and HTTP: dedupe, validate replyTo, rate-limit, store. With nothing
   * to refuse, the INSERT is also the dedupe check (it stores nothing when the clientId is
   * taken), so a new message costs one SQL statement. A retry, or a send to refuse, then looks
   * up the stored original: a retry is acked again even over the rate limit (decideSend).
   */
  private send(author: { id: string; displayName: string }, input: MessageInput): SendResult {
    const store = this.store;
    const now = Date.now();
    const facts = {
      replyTo: input.replyTo,
      replyTargetExists: input.replyTo !== null && store.findBySeq(input.replyTo) !== null,
      rate: checkRate(this.recentActions.blocking(author.id, now), now, this.policy),
    };
    if (decideSend({ existing: null, ...facts }).kind === "store") {
      const message = store.insertMessage({
        id: newId("msg"),
        authorId: author.id,
        authorName: author.displayName,
        content: input.content,
        clientId: input.clientId,
        replyTo: input.replyTo,
        createdAt: now,
      });
      if (message) {
        this.recentActions.record(author.id, now);
        return { kind: "stored", message };
      }
    }
    const existing =
      input.clientId === null ? null : store.findByClientId(author.id, input.clientId);
    const decision = decideSend({ existing, ...facts });
    if (decision.kind === "store") {
      throw new Error("the insert found a conflict, but no message holds that clientId");
    }
    return decision;
  }

  private announceNewMessage(message: StoredMessage): void {
    const dto = toMessageDto(message, this.roomId);
    this.sockets.broadcast({ type: "receive_message", seq: message.seq, message: dto });
    this.presence.stopTyping(message.authorId);
  }

  private change(actor: Actor, seq: number, change: Change): ChangeOutcome {
    const message = this.store.findBySeq(seq);
    const decision =
      change.kind === "edited"
        ? decideEdit(actor, seq, message, change.content)
        : decideDelete(actor, seq, message);
    if (decision.kind === "reject") {
      return { ok: false, error: decision.error };
    }
    if (decision.kind === "noop") {
      return { ok: true, message: toMessageDto(decision.message, this.roomId) };
    }
    if (!message) {
      throw new Error(`an ${change.kind} of seq ${seq} was allowed without a message`);
    }
    const now = Date.now();
    const charged = chargedFor(actor, change.kind, message);
    if (charged !== null) {
      const rate = checkRate(this.recentActions.blocking(charged, now), now, this.policy);
      if (!rate.allowed) {
        return { ok: false, error: rateLimited(rate.retryAfterMs) };
      }
    }
    const ev = this.store.applyChange(seq, change, now, charged);
    if (charged !== null) {
      this.recentActions.record(charged, now);
    }
    this.sockets.broadcast(timelineFrame(ev, this.roomId));
    return { ok: true, message: toMessageDto(ev.message, this.roomId) };
  }

  private receipt(userId: string, kind: ReceiptKind, seq: number): Watermarks {
    const store = this.store;
    const { next, moves } = advanceWatermarks(store.watermarks(userId), kind, seq, store.lastSeq);
    if (moves.length > 0) {
      store.saveWatermarks(userId, next);
      for (const m of moves) {
        this.sockets.broadcast({ type: "receipt", userId, kind: m.kind, seq: m.seq });
      }
    }
    return next;
  }

  // ---- the alarm ---------------------------------------------------------------------------

  /**
   * The one alarm: typing expiry, the end of grace periods, the presence flush, and last-seen
   * writes to libSQL.
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.ensureStore();
    const now = Date.now();
    this.presence.onAlarm(now);
    // Everything above is settled before the libSQL write lets other events in (input gate).
    this.scheduleAlarm(now);
    await this.lastSeen.flush();
    this.scheduleAlarm(Date.now());
  }

  /** Arms the single alarm for the earliest deadline, if it's earlier than the one set. */
  private scheduleAlarm(now: number): void {
    const at = nextAlarmAt({
      ...this.presence.deadlines(),
      now,
      retryMs: this.lastSeen.retryMs(),
    });
    if (at !== null && (this.alarmAt === null || at < this.alarmAt)) {
      this.alarmAt = at;
      void this.ctx.storage.setAlarm(at);
    }
  }

  // ---- RPC for the Worker's routes ---------------------------------------------------------

  /** Stores a WebSocket ticket (only its SHA-256) for this room. */
  async issueTicket(t: {
    hash: string;
    userId: string;
    sessionId: string;
    expiresAt: number;
  }): Promise<void> {
    this.ensureStore().insertTicket(t, Date.now());
  }

  /** Consumes a ticket: single use, whether valid or expired. Null when unknown or expired. */
  async consumeTicket(hash: string): Promise<TicketClaim | null> {
    return this.ensureStore().consumeTicket(hash, Date.now());
  }

  /** POST /messages: the WS send path; a retried clientId is answered but not re-broadcast. */
  async postMessage(
    author: { id: string; displayName: string },
    input: MessageInput,
  ): Promise<SendOutcome> {
    this.ensureStore();
    const result = this.send(author, input);
    if (result.kind === "reject") {
      return { ok: false, error: result.error };
    }
    if (result.kind === "stored") {
      this.announceNewMessage(result.message);
    }
    const message = toMessageDto(result.message, this.roomId);
    return { ok: true, message, duplicate: result.kind === "duplicate" };
  }

  async editMessage(actor: Actor, seq: number, content: string): Promise<ChangeOutcome> {
    this.ensureStore();
    return this.change(actor, seq, { kind: "edited", content });
  }

  async deleteMessage(actor: Actor, seq: number): Promise<ChangeOutcome> {
    this.ensureStore();
    return this.change(actor, seq, { kind: "deleted" });
  }

  /** One history page; see MessageStore.page for the cursor rules. */
  async history(q: HistoryQuery): Promise<HistoryResult> {
    const store = this.ensureStore();
    const cursor =
      q.after !== null ? { after: q.after } : { before: q.before ?? Number.MAX_SAFE_INTEGER };
    const { messages, more } = store.page(cursor, q.limit);
    const edge = "after" in cursor ? messages.at(-1) : messages[0];
    return {
      messages: messages.map((m) => toMessageDto(m, this.roomId)),
      nextCursor: more && edge ? edge.seq : null,
      latestSeq: store.lastSeq,
      epoch: store.epoch,
    };
  }

  async markReceipt(userId: string, kind: ReceiptKind, seq: number): Promise<Watermarks> {
    this.ensureStore();
    return this.receipt(userId, kind, seq);
  }

  /** Users shown online: an open socket, or gone for less than the grace period. */
  async onlineUserIds(): Promise<string[]> {
    this.ensureStore();
    return this.presence.onlineUserIds();
  }

  // ---- RPC CONTRACT used by other features (rooms, auth, users). Idempotent. ---------------

  /** Unread count (others' live messages above the read watermark, capped) and newest message. */
  async roomSummary(userId: string): Promise<{ unreadCount: number; lastMessage: Message | null }> {
    const store = this.ensureStore();
    const last = store.latestMessage();
    return {
      unreadCount: store.unreadCount(userId),
      lastMessage: last ? toMessageDto(last, this.roomId) : null,
    };
  }

  /** Membership ended (kick or leave): close that user's sockets (4003) and forget its presence. */
  async removeMember(userId: string, reason: "kicked" | "left"): Promise<void> {
    this.ensureStore().markRemoved(userId, Date.now());
    const closed = this.sockets.closeTagged(`user:${userId}`, CLOSE_KICKED, reason);
    this.presence.memberRemoved(userId, closed.length);
  }

  /** A member's role changed: live sockets pick up the new role at once. */
  async setMemberRole(userId: string, role: Role): Promise<void> {
    this.ensureStore();
    this.presence.updateIdentity(userId, { role });
    this.sockets.update(userId, { role });
  }

  /** A session was revoked (logout, refresh-token reuse): close its sockets with 4001. */
  async revokeSession(sessionId: string): Promise<void> {
    this.ensureStore().markSessionRevoked(sessionId, Date.now());
    const tag = `session:${sessionId}`;
    for (const att of this.sockets.closeTagged(tag, CLOSE_UNAUTHORIZED, "session revoked")) {
      this.presence.socketGone(att);
    }
  }

  /** Profile changed (display name, guest upgraded): update live sockets' identity. */
  async updateUser(
    userId: string,
    fields: { displayName: string; isGuest: boolean },
  ): Promise<void> {
    this.ensureStore();
    this.presence.updateIdentity(userId, { displayName: fields.displayName });
    this.sockets.update(userId, { displayName: fields.displayName, isGuest: fields.isGuest });
  }

  /** The room was deleted: close every socket with 4004 and wipe the object's storage. */
  async deleteRoom(): Promise<void> {
    this.sockets.close(this.ctx.getWebSockets(), CLOSE_ROOM_DELETED, "room deleted");
    this.alarmAt = null;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.store.forget();
    this.presence.forget();
    this.recentActions.clear();
  }
}

const newEpoch = (): string => crypto.randomUUID();

function httpError(error: RoomError): Response {
  return Response.json(errorBody(error.code, error.message), {
    status: statusOfCode(error.code),
  });
}
