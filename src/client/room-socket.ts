import ReconnectingWebSocket, { type CloseEvent } from "partysocket/ws";
import { type ClientFrame, PING_TEXT } from "../shared/protocol";
import { finalCloseReason, finalHttpReason } from "./close-reasons";
import type { CloseReason, RoomStatus, RoomTransport } from "./room-types";
import type { Cursor } from "./timeline";

/** A client close code (4000-4999 are the application's) for "reconnecting on purpose". */
const CLOSE_RECONNECT = 4000;

/** Timings of a room's socket, defaults already applied. */
export interface RoomSocketTimings {
  minReconnectDelayMs: number;
  maxReconnectDelayMs: number;
  /** Ping this often while open (0: off). */
  heartbeatMs: number;
  /** No frame back this long after a ping means a dead socket. */
  pongTimeoutMs: number;
}

/** What the socket asks of its room. */
export interface RoomSocketHooks {
  /** Whether the room has closed for good (no attempt may start then). */
  isClosed(): boolean;
  /** The room's status: the browser's hints only wake a room that is trying to connect. */
  status(): RoomStatus;
  /** Makes sure there is a cursor to resume from (loads the newest page when there is none). */
  loadCursor(): Promise<void>;
  /** The cursor to resume from, read just before each attempt. */
  cursor(): Cursor | null;
  /** A frame arrived. */
  frame(data: unknown): void;
  /**
   * The socket closed (`final`: a close code that means "don't come back"), or an attempt could
   * not get its URL (`final`: an HTTP answer retrying can't fix). `failedUpgrade`: a socket was
   * made with a ticket but never opened.
   */
  lost(final: CloseReason | null, failedUpgrade: boolean): void;
}

/**
 * The room's one reconnecting WebSocket (partysocket). Every attempt fetches a fresh single-use
 * ticket and resumes with `?since=&epoch=` from the room's cursor (DESIGN "WebSocket session").
 * It keeps whether frames may be sent (`ready`), pings to find sockets that died without a close,
 * and follows the browser's hints: `offline` drops the socket, `online` (or the page shown again)
 * connects it again.
 */
export class RoomSocket {
  /** `ready` arrived on the current socket: frames may be sent. */
  ready = false;
  private readonly ws: ReconnectingWebSocket;
  /** The current connection attempt, once it has a ticket (a socket is being made). */
  private attempt: { opened: boolean } | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly detach: Array<() => void> = [];

  constructor(
    private readonly roomId: string,
    private readonly transport: RoomTransport,
    private readonly timings: RoomSocketTimings,
    private readonly hooks: RoomSocketHooks,
  ) {
    const minDelay = timings.minReconnectDelayMs;
    this.ws = new ReconnectingWebSocket(() => this.nextUrl(), undefined, {
      WebSocket: transport.WebSocket,
      // Jitter: rooms that dropped together don't all come back in the same millisecond.
      minReconnectionDelay: minDelay * (0.5 + Math.random()),
      maxReconnectionDelay: timings.maxReconnectDelayMs,
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

  send(frame: ClientFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Connects again now (after backoff was given up on, or the network is back). */
  reconnect(): void {
    this.ws.reconnect();
  }

  /** Drops the current socket on purpose and resumes from the cursor on a new one. */
  restart(reason: string): void {
    this.ws.reconnect(CLOSE_RECONNECT, reason);
  }

  /** For good: the socket, the heartbeat and the browser listeners. */
  close(): void {
    this.ready = false;
    this.ws.close(1000, "closed");
    this.stopHeartbeat();
    for (const off of this.detach.splice(0)) {
      off();
    }
  }

  /** Starts pinging on a ready socket. */
  startHeartbeat(): void {
    this.stopHeartbeat();
    if (this.timings.heartbeatMs > 0) {
      this.heartbeatTimer = setInterval(() => this.checkAlive(), this.timings.heartbeatMs);
    }
    // One ping at once: it proves the new socket works both ways, and workerd (wrangler dev at
    // least) completes a close handshake late, after seconds, on a socket that never sent a frame.
    this.checkAlive();
  }

  /** partysocket calls this before every connection attempt: a fresh ticket, the current cursor. */
  private async nextUrl(): Promise<string> {
    this.attempt = null;
    if (this.hooks.isClosed()) {
      throw new Error("room closed");
    }
    try {
      await this.hooks.loadCursor();
      const { ticket } = await this.transport.wsTicket(this.roomId);
      const cursor = this.hooks.cursor();
      if (this.hooks.isClosed() || cursor === null) {
        throw new Error("room closed");
      }
      this.attempt = { opened: false };
      return this.transport.socketUrl(this.roomId, { ticket, ...cursor });
    } catch (e) {
      if (!this.hooks.isClosed()) {
        this.hooks.lost(finalHttpReason(e), false);
      }
      throw e;
    }
  }

  private readonly onOpen = (): void => {
    if (this.attempt) {
      this.attempt.opened = true;
    }
  };

  private readonly onMessage = (e: MessageEvent): void => {
    // Any frame proves the socket alive.
    this.clearPongTimer();
    this.hooks.frame(e.data);
  };

  private readonly onClose = (e: CloseEvent): void => {
    const attempt = this.attempt;
    this.attempt = null;
    this.ready = false;
    this.stopHeartbeat();
    this.hooks.lost(finalCloseReason(e.code, e.reason), attempt !== null && !attempt.opened);
  };

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== null) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
    }
    this.clearPongTimer();
  }

  private clearPongTimer(): void {
    if (this.pongTimer !== null) {
      clearTimeout(this.pongTimer);
      this.pongTimer = null;
    }
  }

  /**
   * Pings; any frame back proves the socket alive. The exact PING_TEXT is answered by the
   * runtime without waking the room, so idle rooms still hibernate.
   */
  private checkAlive(): void {
    if (!this.ready || this.pongTimer !== null) {
      return;
    }
    this.ws.send(PING_TEXT);
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      this.restart("heartbeat timeout");
    }, this.timings.pongTimeoutMs);
  }

  /** The network came back (or the app says so): connect now instead of after the backoff. */
  private readonly onOnline = (): void => {
    const status = this.hooks.status();
    if (status === "reconnecting" || status === "connecting") {
      this.ws.reconnect();
    }
  };

  /**
   * The browser lost the network: drop the socket now rather than after a ping or an ack times
   * out, and make no attempts that can't succeed until `online` (or `room.reconnect()`). Sends
   * made meanwhile wait in the outbox.
   */
  private readonly onOffline = (): void => {
    // Not an upgrade the server refused: don't count it towards the HTTP probe.
    this.attempt = null;
    this.ws.close(1000, "offline");
  };

  /**
   * Browsers (and web workers) say when the network goes and comes back, and when the page is
   * shown again. Runtimes without these events (Node, React Native) rely on the heartbeat.
   */
  private listenToEnvironment(): void {
    const g = globalThis as {
      addEventListener?: (type: string, fn: () => void) => void;
      removeEventListener?: (type: string, fn: () => void) => void;
      document?: Document;
    };
    const { addEventListener: add, removeEventListener: remove } = g;
    if (typeof add === "function" && typeof remove === "function") {
      for (const [type, fn] of [
        ["online", this.onOnline],
        ["offline", this.onOffline],
      ] as const) {
        add.call(globalThis, type, fn);
        this.detach.push(() => remove.call(globalThis, type, fn));
      }
    }
    const doc = g.document;
    if (doc && typeof doc.addEventListener === "function") {
      const onVisibility = () => {
        if (doc.visibilityState === "visible") {
          if (this.hooks.status() === "open") {
            this.checkAlive();
          } else {
            this.onOnline();
          }
        }
      };
      doc.addEventListener("visibilitychange", onVisibility);
      this.detach.push(() => doc.removeEventListener("visibilitychange", onVisibility));
    }
  }
}
