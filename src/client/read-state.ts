import type { Message } from "../shared/api";
import type { ReceiptKind } from "../shared/protocol";

/**
 * Your own delivered/read watermarks in a room, and what the server has been told. Marks only
 * move up (like the server's, DESIGN "receipts"); `outgoing()` gives the frames that bring the
 * server up to date, so a mark made while offline is sent on the next connect. Pure.
 */
export class ReadState {
  private readSeq = 0;
  private deliveredSeq = 0;
  private serverRead = 0;
  private serverDelivered = 0;

  get read(): number {
    return this.readSeq;
  }

  get delivered(): number {
    return this.deliveredSeq;
  }

  /** Moves a local mark up; false when it wouldn't move. Read implies delivered. */
  mark(kind: ReceiptKind, seq: number): boolean {
    if (kind === "read") {
      if (seq <= this.readSeq) {
        return false;
      }
      this.readSeq = seq;
      this.deliveredSeq = Math.max(this.deliveredSeq, seq);
      return true;
    }
    if (seq <= this.deliveredSeq) {
      return false;
    }
    this.deliveredSeq = seq;
    return true;
  }

  /**
   * The server already has this (your own send, a receipt from another of your devices): take
   * it locally too, and don't send it again.
   */
  confirm(kind: ReceiptKind, seq: number): void {
    this.mark(kind, seq);
    if (kind === "read") {
      this.serverRead = Math.max(this.serverRead, seq);
    }
    this.serverDelivered = Math.max(this.serverDelivered, seq);
  }

  /** A new socket's `ready.readSeq`: the server's read mark now (its delivered is at least that). */
  connected(serverReadSeq: number): void {
    this.serverRead = serverReadSeq;
    this.serverDelivered = serverReadSeq;
    this.mark("read", serverReadSeq);
  }

  /** Frames that bring the server up to date; they count as sent from now on. */
  outgoing(): Array<{ type: ReceiptKind; seq: number }> {
    const out: Array<{ type: ReceiptKind; seq: number }> = [];
    if (this.readSeq > this.serverRead) {
      out.push({ type: "read", seq: this.readSeq });
      this.serverRead = this.readSeq;
      this.serverDelivered = Math.max(this.serverDelivered, this.readSeq);
    }
    if (this.deliveredSeq > this.serverDelivered) {
      out.push({ type: "delivered", seq: this.deliveredSeq });
      this.serverDelivered = this.deliveredSeq;
    }
    return out;
  }
}

/** Others' messages above your read watermark, not deleted (your own are never unread). */
export function countUnread(
  messages: readonly Message[],
  readSeq: number,
  me: string | undefined,
): number {
  let n = 0;
  for (const m of messages) {
    if (m.seq > readSeq && m.authorId !== me && m.deletedAt === null) {
      n++;
    }
  }
  return n;
}
