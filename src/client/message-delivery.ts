import { type ClientFrame, MAX_FRAME_BYTES, sendMessageFrameSchema } from "../shared/protocol";
import { ChatApiError } from "./errors";
import type { Outbox } from "./outbox";
import type { RoomTransport } from "./room-types";
import type { Timeline } from "./timeline";

/** After an ack, the message itself normally follows at once; this long without it, fetch it. */
const ACK_MESSAGE_FALLBACK_MS = 3000;

const utf8 = new TextEncoder();

/** What delivery asks of its room. */
export interface DeliveryHooks {
  /** Whether `ready` arrived on the current socket: frames may be written. */
  ready(): boolean;
  /** Writes a frame to the current socket. */
  send(frame: ClientFrame): void;
  /** Drops the socket on purpose and resumes on a new one. */
  restart(reason: string): void;
  /** You, once a socket said who you are. */
  me(): string | undefined;
  /** `pending` changed outside a timeline apply: re-render. */
  changed(): void;
}

/**
 * Gets the outbox's messages stored: writes what is unsent to each ready socket, reconnects when
 * an ack is overdue (the socket is dead without knowing it), and resolves an entry once its
 * stored message is in the timeline, fetching it over HTTP when an ack's message never follows.
 */
export class MessageDelivery {
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private fallbackTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly roomId: string,
    private readonly outbox: Outbox,
    private readonly tl: Timeline,
    private readonly transport: RoomTransport,
    private readonly ackTimeoutMs: number,
    private readonly hooks: DeliveryHooks,
  ) {}

  /** Writes every queued entry to the socket, if it is ready. */
  flush(): void {
    if (!this.hooks.ready()) {
      return;
    }
    for (const e of this.outbox.unsent()) {
      if (e.state === "queued") {
        this.hooks.send({
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

  /** A new socket is ready: everything not acked goes out again on it. */
  connected(): void {
    this.outbox.markAllQueued();
    this.flush();
  }

  /** An `ack` frame: the message is stored; it resolves when the message itself arrives. */
  acked(clientId: string, seq: number): void {
    if (this.outbox.ack(clientId, seq)) {
      this.armAckTimer();
      if (!this.settle()) {
        this.armAckFallback();
      }
    }
  }

  /** An error frame naming `clientId` rejects that send; false when it isn't one of ours. */
  refused(clientId: string, error: ChatApiError): boolean {
    if (!this.outbox.fail(clientId, error)) {
      return false;
    }
    this.armAckTimer();
    this.hooks.changed();
    return true;
  }

  /** Resolves sends whose stored message is in the timeline; true if any did. */
  settle(): boolean {
    const me = this.hooks.me();
    if (me === undefined || this.outbox.size === 0) {
      return false;
    }
    const done = this.outbox.settle(
      (e) =>
        this.tl.findByClientId(me, e.clientId) ?? (e.seq === null ? undefined : this.tl.get(e.seq)),
    );
    return done.length > 0;
  }

  /** The socket closed: its acks won't come. */
  socketClosed(): void {
    this.clearAckTimer();
  }

  /** The room closed for good. */
  stop(): void {
    this.clearAckTimer();
    if (this.fallbackTimer !== null) {
      clearTimeout(this.fallbackTimer);
      this.fallbackTimer = null;
    }
  }

  private clearAckTimer(): void {
    if (this.ackTimer !== null) {
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
    }
  }

  /** A sent message unacked for ackTimeoutMs means the socket is dead without knowing it. */
  private armAckTimer(): void {
    this.clearAckTimer();
    const waiting = () => this.outbox.pending.some((e) => e.state === "sent");
    if (!waiting()) {
      return;
    }
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      if (this.hooks.ready() && waiting()) {
        this.hooks.restart("ack timeout");
      }
    }, this.ackTimeoutMs);
  }

  /**
   * An ack's message normally arrives right after it. If it doesn't (a retry acked a message
   * older than the timeline holds), fetch it so the send still resolves.
   */
  private armAckFallback(): void {
    if (this.fallbackTimer !== null) {
      return;
    }
    this.fallbackTimer = setTimeout(() => {
      this.fallbackTimer = null;
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
          this.hooks.changed();
        }
      } catch {
        // The entry stays pending; the next reconnect re-sends it and its ack tries again.
      }
    }
  }
}

/**
 * Refuses locally what the server would refuse: a frame that breaks the shared schema, or one
 * over the size cap (which the server answers without the clientId, so it couldn't be matched).
 */
export function checkSendFrame(frame: ClientFrame): ChatApiError | null {
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
