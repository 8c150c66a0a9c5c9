import type { Message } from "../shared/api";
import { errorForClose, toChatApiError } from "./close-reasons";
import { Emitter, type Unsubscribe } from "./emitter";
import { ChatApiError } from "./errors";
import { HistorySync } from "./history-sync";
import { checkSendFrame, MessageDelivery } from "./message-delivery";
import { Outbox, type PendingMessage } from "./outbox";
import { RoomPeers } from "./peers";
import { ReadState } from "./read-state";
import { RoomSocket } from "./room-socket";
import type {
  CloseReason,
  OnlineUser,
  ReadyInfo,
  RoomEvents,
  RoomOptions,
  RoomStatus,
  RoomTransport,
  SendPromise,
  TypingUser,
  Watermarks,
} from "./room-types";
import { RoomUpdates } from "./room-updates";
import { SavedCursor } from "./saved-cursor";
import { type Cursor, Timeline } from "./timeline";
import { TypingIndicator } from "./typing";

const DEFAULT_HISTORY_LIMIT = 50;
/** loadPresence tries again when the socket reconnected during its request, this many times. */
const PRESENCE_LOAD_ATTEMPTS = 3;

/**
 * A live room: one reconnecting WebSocket (partysocket) plus the state an app renders.
 *
 * Every (re)connect fetches a fresh single-use ticket and resumes with `?since=&epoch=` from the
 * cursor the timeline keeps, so the server replays exactly what was missed (DESIGN "WebSocket
 * session"). "truncated" and "reset" resumes are repaired over HTTP, a gap in the stream by
 * resuming again. Sends go through an outbox keyed by clientId and are re-sent on every new
 * socket until acked. Close codes 4001/4003/4004 and final HTTP answers (401 after a failed
 * refresh, 404) stop reconnecting and set status "closed" with the reason.
 *
 * The parts: RoomSocket (the socket, tickets, heartbeat, the browser's online/offline hints),
 * RoomUpdates (what server frames and fetched pages do to the state), HistorySync (history over
 * HTTP and resume repair), MessageDelivery (the outbox on the wire), Timeline, RoomPeers,
 * ReadState and TypingIndicator. This class wires them, owns the status, and is the public API.
 */
export class RoomConnection {
  readonly roomId: string;
  private readonly emitter = new Emitter<RoomEvents>();
  private readonly tl: Timeline;
  private readonly outbox = new Outbox();
  private readonly peers = new RoomPeers(this.emitter);
  private readonly reads = new ReadState();
  private readonly savedCursor: SavedCursor;
  private readonly sync: HistorySync;
  private readonly delivery: MessageDelivery;
  private readonly typingOut: TypingIndicator;
  private readonly socket: RoomSocket;
  private readonly updates: RoomUpdates;

  private st: RoomStatus = "connecting";
  private reason: CloseReason | null = null;

  constructor(
    roomId: string,
    private readonly transport: RoomTransport,
    options: RoomOptions = {},
  ) {
    this.roomId = roomId;
    const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    const cursor = options.resume ?? SavedCursor.load(options.store);
    this.tl = cursor ? new Timeline({ cursor, messages: options.messages ?? [] }) : new Timeline();
    this.savedCursor = new SavedCursor(options.store, cursor, (e) =>
      this.emitter.emit("error", toChatApiError(e)),
    );
    this.sync = new HistorySync(
      roomId,
      transport,
      this.tl,
      this.emitter,
      options.historyLimit ?? DEFAULT_HISTORY_LIMIT,
      {
        applied: (result, force) => this.updates.applied(result, force),
        addedOlder: () => {
          this.updates.timelineChanged();
          this.updates.checkUnread();
        },
        finish: (reason) => this.finish(reason),
        restart: (reason) => this.socket.restart(reason),
      },
    );
    this.delivery = new MessageDelivery(roomId, this.outbox, this.tl, transport, ackTimeoutMs, {
      ready: () => this.socket.ready,
      send: (frame) => this.socket.send(frame),
      restart: (reason) => this.socket.restart(reason),
      me: () => this.updates.info?.you.userId,
      changed: () => this.updates.timelineChanged(),
    });
    this.typingOut = new TypingIndicator(
      () => this.socket.ready,
      (isTyping) => this.socket.send({ type: "typing", isTyping }),
    );
    // partysocket makes its first attempt on a later task, so the hooks below never run before
    // `updates` exists.
    this.socket = new RoomSocket(
      roomId,
      transport,
      {
        minReconnectDelayMs: options.minReconnectDelayMs ?? 1000,
        maxReconnectDelayMs: options.maxReconnectDelayMs ?? 10_000,
        heartbeatMs: options.heartbeatMs ?? 25_000,
        pongTimeoutMs: ackTimeoutMs,
      },
      {
        isClosed: () => this.closed,
        status: () => this.st,
        loadCursor: async () => {
          if (this.tl.cursor === null) {
            await this.sync.loadNewest();
          }
        },
        cursor: () => this.tl.cursor,
        frame: (data) => this.updates.frame(data),
        lost: (final, failedUpgrade) => this.onLost(final, failedUpgrade),
      },
    );
    this.updates = new RoomUpdates(
      {
        emitter: this.emitter,
        tl: this.tl,
        peers: this.peers,
        reads: this.reads,
        savedCursor: this.savedCursor,
        sync: this.sync,
        delivery: this.delivery,
        socket: this.socket,
      },
      () => this.setStatus("open"),
    );
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
    return this.updates.info;
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

  /**
   * Members online now (you included), as of `ready` and the presence events since. In a big
   * room (more online than the server's READY_ONLINE_LIMIT) this is partial: `ready` lists only
   * you there, and the server tells departures and the count but not arrivals (`online_count`
   * events). Complete when
   * `online.length === onlineCount`; `loadPresence()` fills it.
   */
  get online(): OnlineUser[] {
    return this.peers.onlineUsers;
  }

  /** How many members are online now (you included), exact even when `online` is partial. */
  get onlineCount(): number {
    return this.peers.onlineCount;
  }

  /** Who is typing now (never you). */
  get typingUsers(): TypingUser[] {
    return this.peers.typingUsers;
  }

  /** Others' messages in the timeline above your read watermark, not deleted. */
  get unread(): number {
    return this.updates.unread;
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
    return this.sync.isSyncing;
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
   *
   * The returned promise carries the `clientId` the message went out under: the key of its
   * `pending` entry and the stored message's `clientId`.
   */
  send(content: string, options: { replyTo?: number | null } = {}): SendPromise {
    const clientId = this.transport.newId();
    const replyTo = options.replyTo ?? null;
    const refused = this.closed
      ? errorForClose(this.reason, false)
      : checkSendFrame({ type: "send_message", content, clientId, replyTo });
    if (refused) {
      return Object.assign(Promise.reject(refused), { clientId });
    }
    const stored = this.outbox.add({ clientId, content, replyTo, now: Date.now() });
    // The server ends your typing indicator when your message arrives.
    this.typingOut.sent();
    this.delivery.flush();
    this.updates.timelineChanged();
    return Object.assign(stored, { clientId });
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
    this.typingOut.input(Date.now());
  }

  /** Says "stopped typing" now (e.g. the input was cleared); sending a message does it by itself. */
  stopTyping(): void {
    this.typingOut.stop();
  }

  /**
   * Moves your read watermark up to `seq` (default: everything so far). Only ever moves up; sent
   * now if open, else on the next connect.
   */
  markRead(seq: number = this.tl.cursor?.since ?? 0): void {
    if (this.reads.mark("read", seq)) {
      this.updates.flushReceipts();
      this.updates.checkUnread();
    }
  }

  /** Moves your delivered watermark up to `seq` (default: everything so far). */
  markDelivered(seq: number = this.tl.cursor?.since ?? 0): void {
    if (this.reads.mark("delivered", seq)) {
      this.updates.flushReceipts();
    }
  }

  /**
   * Pages older history in over HTTP (`limit` messages below the oldest held, default
   * `historyLimit`) and returns what was added; emits "timeline". Returns [] once `hasOlder` is false.
   */
  loadOlder(limit?: number): Promise<Message[]> {
    return this.sync.loadOlder(limit);
  }

  /**
   * Loads everyone online over HTTP (`GET /rooms/:id/presence`) into `online` and resolves with
   * the list (then `online.length === onlineCount`). Call it when the app shows the full list;
   * the room never does it by itself, as that would bring back the O(N) bytes per join that the
   * short `ready.online` of a big room avoids. Presence frames that arrive meanwhile are applied on top, and
   * later ones keep it complete while the room has at most READY_ONLINE_LIMIT online (above
   * that, arrivals are only counted: load again when `online.length < onlineCount`).
   */
  async loadPresence(): Promise<OnlineUser[]> {
    for (let attempt = 0; attempt < PRESENCE_LOAD_ATTEMPTS; attempt++) {
      const load = this.peers.startLoad();
      try {
        const { online } = await this.transport.presence(this.roomId);
        if (load.apply(online)) {
          return this.peers.onlineUsers;
        }
      } finally {
        load.end();
      }
    }
    throw new ChatApiError({
      status: 0,
      code: "unavailable",
      message: `Room ${this.roomId} reconnected during every presence load; try again`,
    });
  }

  /** Reconnects now, resuming from the cursor (e.g. when the app knows the network is back). */
  reconnect(): void {
    if (this.st !== "closed") {
      this.socket.reconnect();
    }
  }

  /**
   * Closes the room for good: the socket, the timers and the listeners. Pending sends reject
   * (they may or may not have been stored).
   */
  close(): void {
    this.finish({ kind: "closed", message: "Closed by the app", closeCode: null });
  }

  // ---- status --------------------------------------------------------------------------------

  /** The socket closed, or an attempt failed: final reasons close the room, the rest retry. */
  private onLost(final: CloseReason | null, failedUpgrade: boolean): void {
    this.delivery.socketClosed();
    if (this.closed) {
      return;
    }
    if (final) {
      this.finish(final);
      return;
    }
    this.peers.clearTyping();
    if (failedUpgrade) {
      this.sync.upgradeFailed();
    }
    this.setStatus("reconnecting");
  }

  /** Closes for good: no more reconnects, timers stopped, pending sends rejected. */
  private finish(reason: CloseReason): void {
    if (this.closed) {
      return;
    }
    this.reason = reason;
    this.st = "closed";
    this.sync.stop();
    this.socket.close();
    this.delivery.stop();
    this.typingOut.dispose();
    this.peers.clearTyping();
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
}
