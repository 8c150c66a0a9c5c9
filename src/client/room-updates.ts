import {
  type ErrorFrame,
  type ReadyFrame,
  type ReceiptKind,
  type ServerFrame,
  serverFrameSchema,
} from "../shared/protocol";
import type { Emitter } from "./emitter";
import { ChatApiError, statusOfCode } from "./errors";
import type { HistorySync } from "./history-sync";
import type { MessageDelivery } from "./message-delivery";
import type { RoomPeers } from "./peers";
import { countUnread, type ReadState } from "./read-state";
import type { RoomSocket } from "./room-socket";
import type { ReadyInfo, RoomEvents } from "./room-types";
import type { SavedCursor } from "./saved-cursor";
import type { ApplyResult, Timeline } from "./timeline";

/** The parts of a live room that what arrives updates. */
export interface RoomParts {
  emitter: Emitter<RoomEvents>;
  tl: Timeline;
  peers: RoomPeers;
  reads: ReadState;
  savedCursor: SavedCursor;
  sync: HistorySync;
  delivery: MessageDelivery;
  socket: RoomSocket;
}

/**
 * Applies what arrives to a live room's parts: server frames from the socket, and the pages
 * HistorySync fetched over HTTP. Emits the events that tell the app, settles sends whose
 * message showed up, keeps the saved cursor and the unread count current.
 */
export class RoomUpdates {
  /** The room and you in it, from the latest `ready`. */
  info: ReadyInfo | null = null;
  private lastUnread = 0;

  constructor(
    private readonly parts: RoomParts,
    /** A socket is ready: the room is open. */
    private readonly opened: () => void,
  ) {}

  /** Others' messages in the timeline above your read watermark, not deleted. */
  get unread(): number {
    return countUnread(this.parts.tl.messages, this.parts.reads.read, this.info?.you.userId);
  }

  /** A frame from the socket (anything that isn't a known server frame is ignored). */
  frame(data: unknown): void {
    const f = parseServerFrame(data);
    const { peers, delivery, tl } = this.parts;
    switch (f?.type) {
      case "ready":
        this.onReady(f);
        return;
      case "receive_message":
      case "message_updated":
        this.applied(tl.apply(f), false);
        return;
      case "ack":
        delivery.acked(f.clientId, f.seq);
        return;
      case "error":
        this.onErrorFrame(f);
        return;
      case "typing":
        if (f.userId !== this.info?.you.userId) {
          peers.typing(f.userId, f.displayName, f.isTyping, f.expiresInMs);
        }
        return;
      case "user_status":
      case "user_status_batch":
        peers.presence(f);
        return;
      case "receipt":
        this.onReceipt(f.userId, f.kind, f.seq);
        return;
      default:
        return; // "pong", or nothing this SDK knows
    }
  }

  /** Emits what an apply/reset changed, settles sends, saves the cursor, repairs gaps. */
  applied(result: ApplyResult, forceTimeline: boolean): void {
    const { emitter, tl, peers, reads, socket } = this.parts;
    const me = this.info?.you.userId;
    for (const c of result.changes) {
      if (c.kind === "updated") {
        emitter.emit("message_updated", c.message);
        continue;
      }
      if (c.message.authorId === me) {
        // Sending moves your own read watermark to your message (DESIGN "WebSocket session").
        reads.confirm("read", c.message.seq);
      } else {
        peers.stoppedTyping(c.message.authorId);
      }
      emitter.emit("message", c.message);
    }
    const settled = this.parts.delivery.settle();
    this.parts.savedCursor.save(tl.cursor);
    if (forceTimeline || result.changes.length > 0 || settled) {
      this.timelineChanged();
    }
    this.checkUnread();
    if (result.gap && !tl.holding && socket.ready) {
      // One socket delivers in order, so a hole means frames were lost: resume from the cursor.
      socket.restart("gap");
    }
  }

  /** The timeline or `pending` changed: the app re-renders. */
  timelineChanged(): void {
    this.parts.emitter.emit("timeline", this.parts.tl.messages);
  }

  /** Emits `unread` when the count moved. */
  checkUnread(): void {
    const n = this.unread;
    if (n !== this.lastUnread) {
      this.lastUnread = n;
      this.parts.emitter.emit("unread", n);
    }
  }

  /** Tells the server your watermarks, if the socket is ready (else the next `ready` does). */
  flushReceipts(): void {
    if (this.parts.socket.ready) {
      for (const frame of this.parts.reads.outgoing()) {
        this.parts.socket.send(frame);
      }
    }
  }

  private onReady(f: ReadyFrame): void {
    const { socket, peers, reads, sync, delivery, emitter } = this.parts;
    socket.ready = true;
    this.info = { room: f.room, you: f.you, resume: f.resume };
    peers.replaceOnline(f.online, f.onlineCount);
    reads.connected(f.readSeq);
    sync.connected(f.resume, f.epoch);
    delivery.connected();
    this.flushReceipts();
    socket.startHeartbeat();
    this.opened();
    emitter.emit("ready", this.info);
    this.checkUnread();
  }

  private onErrorFrame(f: ErrorFrame): void {
    const error = new ChatApiError({
      status: statusOfCode(f.code),
      code: f.code,
      message: f.message,
      ...(f.retryAfterMs === undefined ? {} : { retryAfterMs: f.retryAfterMs }),
    });
    if (f.clientId === undefined || !this.parts.delivery.refused(f.clientId, error)) {
      this.parts.emitter.emit("error", error);
    }
  }

  private onReceipt(userId: string, kind: ReceiptKind, seq: number): void {
    const w = this.parts.peers.receipt(userId, kind, seq);
    if (userId === this.info?.you.userId) {
      // Yours, from another tab or device.
      this.parts.reads.confirm("read", w.readSeq);
      this.parts.reads.confirm("delivered", w.deliveredSeq);
    }
    this.parts.emitter.emit("receipt", { userId, kind, seq });
    this.checkUnread();
  }
}

/** A server frame, or null for anything else (frame types a newer server adds are ignored). */
function parseServerFrame(data: unknown): ServerFrame | null {
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
