import ReconnectingWebSocket, { type CloseEvent } from "partysocket/ws";
import type { Message } from "../shared/api";
import {
  type ClientFrame,
  type ErrorFrame,
  MAX_FRAME_BYTES,
  PING_TEXT,
  type ReadyFrame,
  type ResumeKind,
  sendMessageFrameSchema,
  serverFrameSchema,
} from "../shared/protocol";
import { fetchCatchUp } from "./catch-up";
import { errorForClose, finalCloseReason, finalHttpReason, toChatApiError } from "./close-reasons";
import { Emitter, type Unsubscribe } from "./emitter";
import { ChatApiError, statusOfCode } from "./errors";
import { Outbox, type PendingMessage } from "./outbox";
import { RoomPeers } from "./peers";
import { ReadState } from "./read-state";
import type {
  CloseReason,
  CursorStore,
  OnlineUser,
  ReadyInfo,
  RoomEvents,
  RoomOptions,
  RoomStatus,
  RoomTransport,
  TypingUser,
  Watermarks,
} from "./room-types";
import { type ApplyResult, type Cursor, Timeline } from "./timeline";
import { TYPING_IDLE_MS, TypingThrottle } from "./typing";

const DEFAULT_HISTORY_LIMIT = 50;
/** After an ack, the message itself normally follows at once; this long without it, fetch it. */
const ACK_MESSAGE_FALLBACK_MS = 3000;
/** Failed upgrades in a row before asking over HTTP whether the cursor or the access is wrong. */
const FAILED_UPGRADES_BEFORE_PROBE = 2;
/** A client close code (4000-4999 are the application's) for "reconnecting on purpose". */
const CLOSE_RECONNECT = 4000;

const utf8 = new TextEncoder();

type Timer = ReturnType<typeof setTimeout>;

/**
 * A live room: one reconnecting WebSocket (partysocket) plus the state an app renders.
 *
 * Every (re)connect fetches a fresh single-use ticket and resumes with `?since=&epoch=` from the
 * cursor the timeline keeps, so the server replays exactly what was missed (DESIGN "WebSocket
 * session"). "truncated" and "reset" resumes are repaired over HTTP, a gap in the stream by
 * resuming again. Sends go through an outbox keyed by clientId and are re-sent on every new
 * socket until acked. Close codes 4001/4003/4004 and final HTTP answers (401 after a failed
 * refresh, 404) stop reconnecting and set status "closed" with the reason.
 */
export class RoomConnection {
  readonly roomId: string;
  private readonly emitter = new Emitter<RoomEvents>();
  private readonly tl: Timeline;
  private readonly outbox = new Outbox();
  private readonly peers = new RoomPeers(this.emitter);
  private readonly reads = new ReadState();
  private readonly typingOut = new TypingThrottle();
  private readonly ws: ReconnectingWebSocket;
  private readonly historyLimit: number;
  private readonly ackTimeoutMs: number;
  private readonly heartbeatMs: number;

  private st: RoomStatus = "connecting";
  private reason: CloseReason | null = null;
  /** `ready` arrived on the current socket: frames may be sent. */
  private socketReady = false;
  private readyInfo: ReadyInfo | null = null;
  private lastUnread = 0;
  private lastSavedCursor: Cursor | null;

  /** Bumped by every `ready` and by close: an HTTP catch-up of an older socket is dropped. */
  private syncGen = 0;
  private syncing = false;
  private olderInFlight: Promise<Message[]> | null = null;
  /** The current connection attempt, once it has a ticket (a socket is being made). */
  private attempt: { opened: boolean } | null = null;
  private failedUpgrades = 0;
  private probing = false;

  private ackTimer: Timer | null = null;
  private ackFallbackTimer: Timer | null = null;
  private pongTimer: Timer | null = null;
  private typingIdleTimer: Timer | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private readonly detach: Array<() => void> = [];

  constructor(
    roomId: string,
    private readonly transport: RoomTransport,
    private readonly options: RoomOptions = {},
  ) {
    this.roomId = roomId;
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.heartbeatMs = options.heartbeatMs ?? 25_000;
    const cursor = options.resume ?? loadCursor(options.store);
    this.tl = cursor ? new Timeline({ cursor, messages: options.messages ?? [] }) : new Timeline();
    this.lastSavedCursor = cursor;
    const minDelay = options.minReconnectDelayMs ?? 1000;
    this.ws = new ReconnectingWebSocket(() => this.nextUrl(), undefined, {
      WebSocket: transport.WebSocket,
      // Jitter: rooms that dropped together don't all come back in the same millisecond.
      minReconnectionDelay: minDelay * (0.5 + Math.random()),
      maxReconnectionDelay: options.maxReconnectDelayMs ?? 10_000,
      connectionTimeout: 10_000,
      // The outbox re-sends what matters; partysocket's own buffer would only send duplicates.
      maxEnqueuedMessages: 0,
      shouldReconnectOnClose: (e: CloseEvent) => finalCloseReason(e.code, e.reason) === null,
    });
    this.ws.addEventListener("open", this.onOpen);
    this.ws.addEventListener("message", this.onMessage);
    this.ws.addEventListener("close", this.onClose);
    this.listenToEnvironment();
  }

  // ---- state ---------------------------------------------------------------------------------

  /** The connection status. */
  get status(): RoomStatus {
    return this.st;
  }

  // A getter, not `this.st === "closed"`: TypeScript keeps narrowings of `st` across awaits.
  private get closed(): boolean {
    return this.st === "closed";
  }

  /** Why the room closed, once `status` is "closed". */
  get closeReason(): CloseReason | null {
    return this.reason;
  }

  /** The room and your identity in it, from the latest `ready` (null before the first). */
  get info(): ReadyInfo | null {
    return this.readyInfo;
  }

  /** Messages ascending by seq, no duplicates, edits and deletions applied. A new array per change. */
  get timeline(): readonly Message[] {
    return this.tl.messages;
  }

  /** Your messages not yet confirmed stored, in send order (render them as "sending"). */
  get pending(): PendingMessage[] {
    return this.outbox.pending;
  }

  /** Whether older messages can be paged in with `loadOlder`. */
  get hasOlder(): boolean {
    return this.tl.hasOlder;
  }

  /** The resume cursor: the last timeline seq applied and its epoch (null before the first page). */
  get cursor(): Cursor | null {
    return this.tl.cursor;
  }

  /** Members online now (you included), as of `ready` and the presence events since. */
  get online(): OnlineUser[] {
    return this.peers.onlineUsers;
  }

  /** Who is typing now (never you). */
  get typingUsers(): TypingUser[] {
    return this.peers.typingUsers;
  }

  /** Others' messages in the timeline above your read watermark, not deleted. */
  get unread(): number {
    const me = this.readyInfo?.you.userId;
    let n = 0;
    for (const m of this.tl.messages) {
      if (m.seq > this.reads.read && m.authorId !== me && m.deletedAt === null) {
        n++;
      }
    }
    return n;
  }

  /** Your read watermark (a timeline seq). */
  get readWatermark(): number {
    return this.reads.read;
  }

  /** Watermarks of users whose receipts arrived while this room was open. */
  get receipts(): ReadonlyMap<string, Watermarks> {
    return this.peers.watermarks;
  }

  /** True while the timeline is being reloaded over HTTP after a "reset"/"truncated" resume. */
  get isSyncing(): boolean {
    return this.syncing;
  }

  // ---- actions -------------------------------------------------------------------------------

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof RoomEvents>(type: K, fn: (payload: RoomEvents[K]) => void): Unsubscribe {
    return this.emitter.on(type, fn);
  }

  /** Resolves once the room is open (at once if it is); rejects if it closes first or in `timeoutMs`. */
  whenOpen(timeoutMs = 30_000): Promise<void> {
    if (this.st === "open") {
      return Promise.resolve();
    }
    if (this.st === "closed") {
      return Promise.reject(errorForClose(this.reason, false));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new ChatApiError({
            status: 0,
            code: "unavailable",
            message: `Room ${this.roomId} did not open within ${timeoutMs} ms`,
          }),
        );
      }, timeoutMs);
      const off = this.on("status", ({ status, reason }) => {
        if (status === "open" || status === "closed") {
          clearTimeout(timer);
          off();
          if (status === "open") {
            resolve();
          } else {
            reject(errorForClose(reason, false));
          }
        }
      });
    });
  }

  /**
   * Sends a message. It is queued in the outbox at once (see `pending`), written to the socket
   * when the room is open, re-sent after every reconnect until the server acks it, and the
   * promise resolves with the stored message. Rejects with a ChatApiError when the server
   * refuses it (`rate_limited` with `retryAfterMs`, `validation_failed`, ...), or when the room
   * closes for good first (the message may or may not have been stored then).
   */
  send(content: string, options: { replyTo?: number | null } = {}): Promise<Message> {
    if (this.st === "closed") {
      return Promise.reject(errorForClose(this.reason, false));
    }
    const clientId = this.transport.newId();
    const replyTo = options.replyTo ?? null;
    const frame = { type: "send_message", content, clientId, replyTo } as const;
    const invalid = checkSendFrame(frame);
    if (invalid) {
      return Promise.reject(invalid);
    }
    const promise = this.outbox.add({ clientId, content, replyTo, now: Date.now() });
    // The server ends your typing indicator when your message arrives.
    this.typingOut.sent();
    this.clearTimer("typingIdleTimer");
    this.flushOutbox();
    this.emitTimeline();
    return promise;
  }

  /** Edits your message (over HTTP); the change reaches the timeline as `message_updated`. */
  edit(seq: number, content: string): Promise<Message> {
    return this.transport.editMessage(this.roomId, seq, content);
  }

  /** Deletes a message (over HTTP); it stays in the timeline as a tombstone. */
  remove(seq: number): Promise<Message> {
    return this.transport.removeMessage(this.roomId, seq);
  }

  /**
   * Call on every keystroke: sends "typing" at most once per ~3 s while it goes on, and
   * "stopped" after ~4 s without a call. Does nothing while the room isn't open.
   */
  typing(): void {
    if (!this.socketReady) {
      return;
    }
    if (this.typingOut.input(Date.now())) {
      this.sendFrame({ type: "typing", isTyping: true });
    }
    this.clearTimer("typingIdleTimer");
    this.typingIdleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  /** Says "stopped typing" now (e.g. the input was cleared); sending a message does it by itself. */
  stopTyping(): void {
    this.clearTimer("typingIdleTimer");
    if (this.typingOut.stop() && this.socketReady) {
      this.sendFrame({ type: "typing", isTyping: false });
    }
  }

  /**
   * Moves your read watermark up to `seq` (default: everything so far). Only ever moves up; sent
   * now if open, else on the next connect.
   */
  markRead(seq: number = this.tl.cursor?.since ?? 0): void {
    if (this.reads.mark("read", seq)) {
      this.flushReceipts();
      this.checkUnread();
    }
  }

  /** Moves your delivered watermark up to `seq` (default: everything so far). */
  markDelivered(seq: number = this.tl.cursor?.since ?? 0): void {
    if (this.reads.mark("delivered", seq)) {
      this.flushReceipts();
    }
  }

  /**
   * Pages older history in over HTTP (`limit` messages below the oldest held) and returns what
   * was added; emits "timeline". Returns [] once `hasOlder` is false.
   */
  loadOlder(limit: number = this.historyLimit): Promise<Message[]> {
    if (!this.tl.hasOlder || this.tl.cursor === null) {
      return Promise.resolve([]);
    }
    this.olderInFlight ??= (async () => {
      try {
        const page = await this.transport.listMessages(this.roomId, {
          before: this.tl.oldestSeq,
          limit,
        });
        const added = this.tl.addOlder(page);
        this.emitTimeline();
        this.checkUnread();
        return added;
      } finally {
        this.olderInFlight = null;
      }
    })();
    return this.olderInFlight;
  }

  /** Reconnects now, resuming from the cursor (e.g. when the app knows the network is back). */
  reconnect(): void {
    if (this.st !== "closed") {
      this.ws.reconnect();
    }
  }

  /**
   * Closes the room for good: the socket, the timers and the listeners. Pending sends reject
   * (they may or may not have been stored).
   */
  close(): void {
    this.finish({ kind: "closed", message: "Closed by the app", closeCode: null });
  }

  // ---- socket lifecycle ----------------------------------------------------------------------

  /** partysocket calls this before every connection attempt: a fresh ticket, the current cursor. */
  private async nextUrl(): Promise<string> {
    this.attempt = null;
    if (this.closed) {
      throw new Error("room closed");
    }
    try {
      if (this.tl.cursor === null) {
        await this.loadNewest();
      }
      const { ticket } = await this.transport.wsTicket(this.roomId);
      const cursor = this.tl.cursor;
      if (this.closed || cursor === null) {
        throw new Error("room closed");
      }
      this.attempt = { opened: false };
      return this.transport.socketUrl(this.roomId, { ticket, ...cursor });
    } catch (e) {
      const final = finalHttpReason(e);
      if (final) {
        this.finish(final);
      } else if (!this.closed) {
        this.setStatus("reconnecting");
      }
      throw e;
    }
  }

  /** First load (or after the cursor was found invalid): the newest page replaces the timeline. */
  private async loadNewest(): Promise<void> {
    const hadMessages = this.tl.messages.length > 0;
    const page = await this.transport.listMessages(this.roomId, { limit: this.historyLimit });
    const result = this.tl.reset(page);
    if (hadMessages) {
      this.emitter.emit("reset", { reason: "reset" });
    }
    this.afterApply(result, true);
  }

  private readonly onOpen = (): void => {
    if (this.attempt) {
      this.attempt.opened = true;
    }
  };

  private readonly onClose = (e: CloseEvent): void => {
    const attempt = this.attempt;
    this.attempt = null;
    this.socketReady = false;
    this.stopHeartbeat();
    this.clearTimer("ackTimer");
    if (this.closed) {
      return;
    }
    const final = finalCloseReason(e.code, e.reason);
    if (final) {
      this.finish(final);
      return;
    }
    this.peers.clearTyping();
    if (attempt && !attempt.opened) {
      this.failedUpgrades++;
      if (this.failedUpgrades >= FAILED_UPGRADES_BEFORE_PROBE) {
        void this.probe();
      }
    }
    this.setStatus("reconnecting");
  };

  private readonly onMessage = (e: MessageEvent): void => {
    this.clearTimer("pongTimer");
    const f = parseServerFrame(e.data);
    if (!f) {
      return;
    }
    switch (f.type) {
      case "ready":
        this.onReady(f);
        return;
      case "receive_message":
      case "message_updated":
        this.afterApply(this.tl.apply(f), false);
        return;
      case "ack":
        if (this.outbox.ack(f.clientId, f.seq)) {
          this.armAckTimer();
          if (!this.settleOutbox()) {
            this.armAckFallback();
          }
        }
        return;
      case "error":
        this.onErrorFrame(f);
        return;
      case "typing":
        if (f.userId !== this.readyInfo?.you.userId) {
          this.peers.typing(f.userId, f.displayName, f.isTyping, f.expiresInMs);
        }
        return;
      case "user_status":
      case "user_status_batch":
        this.peers.presence(f);
        return;
      case "receipt":
        this.onReceipt(f.userId, f.kind, f.seq);
        return;
      case "pong":
        return;
    }
  };

  private onReady(f: ReadyFrame): void {
    this.socketReady = true;
    this.failedUpgrades = 0;
    this.readyInfo = { room: f.room, you: f.you, resume: f.resume };
    this.peers.replaceOnline(f.online);
    this.reads.connected(f.readSeq);
    // A new socket: frames queued from the old one are replayed by this one.
    this.syncGen++;
    this.syncing = false;
    this.tl.restart();
    const repair = repairFor(f.resume, this.tl.cursor !== null);
    if (repair) {
      this.startSync(repair, f.epoch);
    }
    this.outbox.markAllQueued();
    this.flushOutbox();
    this.flushReceipts();
    this.startHeartbeat();
    // One ping at once: it proves the new socket works both ways, and workerd (wrangler dev at
    // least) completes a close handshake late, after seconds, on a socket that never sent a frame.
    this.checkAlive();
    this.setStatus("open");
    this.emitter.emit("ready", this.readyInfo);
    this.checkUnread();
  }

  private onErrorFrame(f: ErrorFrame): void {
    const error = new ChatApiError({
      status: statusOfCode(f.code),
      code: f.code,
      message: f.message,
      ...(f.retryAfterMs === undefined ? {} : { retryAfterMs: f.retryAfterMs }),
    });
    if (f.clientId !== undefined && this.outbox.fail(f.clientId, error)) {
      this.armAckTimer();
      this.emitTimeline();
      return;
    }
    this.emitter.emit("error", error);
  }

  private onReceipt(userId: string, kind: "delivered" | "read", seq: number): void {
    const w = this.peers.receipt(userId, kind, seq);
    if (userId === this.readyInfo?.you.userId) {
      // Yours, from another tab or device.
      this.reads.confirm("read", w.readSeq);
      this.reads.confirm("delivered", w.deliveredSeq);
    }
    this.emitter.emit("receipt", { userId, kind, seq });
    this.checkUnread();
  }

  /** Closes for good: no more reconnects, timers stopped, pending sends rejected. */
  private finish(reason: CloseReason): void {
    if (this.closed) {
      return;
    }
    this.reason = reason;
    this.st = "closed";
    this.syncGen++;
    this.socketReady = false;
    this.ws.close(1000, "closed");
    this.stopHeartbeat();
    this.clearTimer("ackTimer");
    this.clearTimer("ackFallbackTimer");
    this.clearTimer("typingIdleTimer");
    this.peers.clearTyping();
    for (const off of this.detach.splice(0)) {
      off();
    }
    this.outbox.failAll(errorForClose(reason, true));
    this.emitter.emit("status", { status: "closed", reason });
  }

  private setStatus(status: RoomStatus): void {
    if (this.st === status || this.closed) {
      return;
    }
    this.st = status;
    this.emitter.emit("status", { status, reason: null });
  }

  // ---- timeline ------------------------------------------------------------------------------

  /** Emits what an apply/reset changed, settles sends, saves the cursor, repairs gaps. */
  private afterApply(result: ApplyResult, forceTimeline: boolean): void {
    const me = this.readyInfo?.you.userId;
    for (const c of result.changes) {
      if (c.kind === "updated") {
        this.emitter.emit("message_updated", c.message);
        continue;
      }
      if (c.message.authorId === me) {
        // Sending moves your own read watermark to your message (DESIGN "WebSocket session").
        this.reads.confirm("read", c.message.seq);
      } else {
        this.peers.stoppedTyping(c.message.authorId);
      }
      this.emitter.emit("message", c.message);
    }
    const settled = this.settleOutbox();
    this.saveCursor();
    if (forceTimeline || result.changes.length > 0 || settled) {
      this.emitTimeline();
    }
    this.checkUnread();
    if (result.gap && !this.tl.holding && this.socketReady) {
      // One socket delivers in order, so a hole means frames were lost: resume from the cursor.
      this.ws.reconnect(CLOSE_RECONNECT, "gap");
    }
  }

  /**
   * A resume that didn't replay: hold the live frames, reload over HTTP (see fetchCatchUp), then
   * apply the held frames on top. Transient failures retry with backoff while this socket lives.
   */
  private startSync(mode: "reset" | "truncated", epoch: string): void {
    this.tl.hold();
    this.syncing = true;
    const gen = this.syncGen;
    const cancelled = () => gen !== this.syncGen;
    void (async () => {
      for (let attempt = 0; !cancelled(); attempt++) {
        try {
          const found = await fetchCatchUp(
            (query) => this.transport.listMessages(this.roomId, query),
            {
              mode,
              epoch,
              oldestHeldSeq: this.tl.messages.length > 0 ? this.tl.oldestSeq : null,
              newestPageLimit: this.historyLimit,
              cancelled,
            },
          );
          if (found?.kind === "reset" && found.page.epoch !== epoch) {
            // The room's history changed again since this socket's ready: start over.
            this.ws.reconnect(CLOSE_RECONNECT, "epoch changed");
            return;
          }
          if (found) {
            this.syncing = false;
            const result =
              found.kind === "refresh" ? this.tl.refresh(found.pages) : this.tl.reset(found.page);
            this.emitter.emit("reset", { reason: mode });
            this.afterApply(result, true);
          }
          return;
        } catch (e) {
          if (cancelled()) {
            return;
          }
          const final = finalHttpReason(e);
          if (final) {
            this.finish(final);
            return;
          }
          this.emitter.emit("error", toChatApiError(e));
          await sleep(Math.min(30_000, 1000 * 2 ** attempt));
        }
      }
    })();
  }

  /**
   * Repeated upgrade failures with a ticket in hand: the upgrade itself is refused (browsers
   * don't show its status). Ask over HTTP: a room gone or hidden is final; a cursor from another
   * epoch or beyond the room's last seq is dropped, so the next attempt starts from the newest page.
   */
  private async probe(): Promise<void> {
    if (this.probing) {
      return;
    }
    this.probing = true;
    try {
      const page = await this.transport.listMessages(this.roomId, { limit: 1 });
      const cursor = this.tl.cursor;
      if (cursor && (page.epoch !== cursor.epoch || page.latestSeq < cursor.since)) {
        this.tl.invalidate();
      } else {
        this.emitter.emit(
          "error",
          new ChatApiError({
            status: 0,
            code: "unavailable",
            message: "The room's WebSocket upgrade keeps failing (origin not allowed, or a proxy?)",
          }),
        );
      }
      this.failedUpgrades = 0;
    } catch (e) {
      const final = finalHttpReason(e);
      if (final) {
        this.finish(final);
      }
    } finally {
      this.probing = false;
    }
  }

  private saveCursor(): void {
    const c = this.tl.cursor;
    const last = this.lastSavedCursor;
    if (!c || !this.options.store || (last && last.since === c.since && last.epoch === c.epoch)) {
      return;
    }
    this.lastSavedCursor = c;
    try {
      this.options.store.save(c);
    } catch (e) {
      this.emitter.emit("error", toChatApiError(e));
    }
  }

  private emitTimeline(): void {
    this.emitter.emit("timeline", this.tl.messages);
  }

  private checkUnread(): void {
    const n = this.unread;
    if (n !== this.lastUnread) {
      this.lastUnread = n;
      this.emitter.emit("unread", n);
    }
  }

  // ---- outbox --------------------------------------------------------------------------------

  private flushOutbox(): void {
    if (!this.socketReady) {
      return;
    }
    for (const e of this.outbox.unsent()) {
      if (e.state === "queued") {
        this.sendFrame({
          type: "send_message",
          content: e.content,
          clientId: e.clientId,
          replyTo: e.replyTo,
        });
        this.outbox.markSent(e.clientId);
      }
    }
    this.armAckTimer();
  }

  /** Resolves sends whose stored message is in the timeline; true if any did. */
  private settleOutbox(): boolean {
    const me = this.readyInfo?.you.userId;
    if (me === undefined || this.outbox.size === 0) {
      return false;
    }
    const done = this.outbox.settle(
      (e) =>
        this.tl.findByClientId(me, e.clientId) ?? (e.seq === null ? undefined : this.tl.get(e.seq)),
    );
    return done.length > 0;
  }

  /** A sent message unacked for ackTimeoutMs means the socket is dead without knowing it. */
  private armAckTimer(): void {
    this.clearTimer("ackTimer");
    const waiting = () => this.outbox.pending.some((e) => e.state === "sent");
    if (!waiting()) {
      return;
    }
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      if (this.socketReady && waiting()) {
        this.ws.reconnect(CLOSE_RECONNECT, "ack timeout");
      }
    }, this.ackTimeoutMs);
  }

  /**
   * An ack's message normally arrives right after it. If it doesn't (a retry acked a message
   * older than the timeline holds), fetch it so the send still resolves.
   */
  private armAckFallback(): void {
    if (this.ackFallbackTimer !== null) {
      return;
    }
    this.ackFallbackTimer = setTimeout(() => {
      this.ackFallbackTimer = null;
      void this.fetchAckedMessages();
    }, ACK_MESSAGE_FALLBACK_MS);
  }

  private async fetchAckedMessages(): Promise<void> {
    for (const e of this.outbox.awaitingMessage()) {
      if (e.seq === null) {
        continue;
      }
      try {
        const page = await this.transport.listMessages(this.roomId, { after: e.seq - 1, limit: 1 });
        const m = page.messages.find((x) => x.seq === e.seq);
        if (m && this.outbox.settle((x) => (x.clientId === e.clientId ? m : undefined)).length) {
          this.emitTimeline();
        }
      } catch {
        // The entry stays pending; the next reconnect re-sends it and its ack tries again.
      }
    }
  }

  private flushReceipts(): void {
    if (this.socketReady) {
      for (const frame of this.reads.outgoing()) {
        this.sendFrame(frame);
      }
    }
  }

  // ---- heartbeat and environment -------------------------------------------------------------

  private startHeartbeat(): void {
    this.stopHeartbeat();
    if (this.heartbeatMs > 0) {
      this.heartbeatTimer = setInterval(() => this.checkAlive(), this.heartbeatMs);
    }
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== null) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
    }
    this.clearTimer("pongTimer");
  }

  /**
   * Pings; any frame back proves the socket alive. The exact PING_TEXT is answered by the
   * runtime without waking the room, so idle rooms still hibernate.
   */
  private checkAlive(): void {
    if (!this.socketReady || this.pongTimer !== null) {
      return;
    }
    this.ws.send(PING_TEXT);
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      this.ws.reconnect(CLOSE_RECONNECT, "heartbeat timeout");
    }, this.ackTimeoutMs);
  }

  /** Browsers: reconnect when the network comes back, check the socket when the page is shown. */
  private listenToEnvironment(): void {
    const g = globalThis as {
      addEventListener?: (type: string, fn: () => void) => void;
      removeEventListener?: (type: string, fn: () => void) => void;
      document?: Document;
    };
    const onOnline = () => {
      if (this.st === "reconnecting" || this.st === "connecting") {
        this.ws.reconnect();
      }
    };
    const { addEventListener: add, removeEventListener: remove } = g;
    if (typeof add === "function" && typeof remove === "function") {
      add.call(globalThis, "online", onOnline);
      this.detach.push(() => remove.call(globalThis, "online", onOnline));
    }
    const doc = g.document;
    if (doc && typeof doc.addEventListener === "function") {
      const onVisibility = () => {
        if (doc.visibilityState === "visible") {
          if (this.st === "open") {
            this.checkAlive();
          } else {
            onOnline();
          }
        }
      };
      doc.addEventListener("visibilitychange", onVisibility);
      this.detach.push(() => doc.removeEventListener("visibilitychange", onVisibility));
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private sendFrame(frame: ClientFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  private clearTimer(key: "ackTimer" | "ackFallbackTimer" | "pongTimer" | "typingIdleTimer"): void {
    const t = this[key];
    if (t !== null) {
      clearTimeout(t);
      this[key] = null;
    }
  }
}

/**
 * How a new socket's timeline must be repaired: not at all after a replay ("ok"); the newest
 * page after another epoch ("reset") or when the cursor was dropped meanwhile; a re-read of the
 * held window otherwise ("truncated", or "none" if a socket ever starts without `since`).
 */
function repairFor(resume: ResumeKind, hasCursor: boolean): "reset" | "truncated" | null {
  if (!hasCursor || resume === "reset") {
    return "reset";
  }
  return resume === "ok" ? null : "truncated";
}

/** A server frame, or null for anything else (frame types a newer server adds are ignored). */
function parseServerFrame(data: unknown) {
  if (typeof data !== "string") {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return null;
  }
  const parsed = serverFrameSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/**
 * Refuses locally what the server would refuse: a frame that breaks the shared schema, or one
 * over the size cap (which the server answers without the clientId, so it couldn't be matched).
 */
function checkSendFrame(frame: ClientFrame): ChatApiError | null {
  const checked = sendMessageFrameSchema.safeParse(frame);
  if (!checked.success) {
    return new ChatApiError({
      status: 400,
      code: "validation_failed",
      message: `Invalid message: ${checked.error.issues[0]?.message ?? "invalid"}`,
      details: checked.error.issues,
    });
  }
  if (utf8.encode(JSON.stringify(frame)).length > MAX_FRAME_BYTES) {
    return new ChatApiError({
      status: 413,
      code: "payload_too_large",
      message: `Message frames are limited to ${MAX_FRAME_BYTES} bytes`,
    });
  }
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function loadCursor(store: CursorStore | undefined): Cursor | null {
  try {
    const c = store?.load() ?? null;
    return c && Number.isSafeInteger(c.since) && c.since >= 0 && typeof c.epoch === "string"
      ? c
      : null;
  } catch {
    return null; // unreadable storage: start from the newest page
  }
}
