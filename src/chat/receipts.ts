import type { ReceiptKind } from "../shared/protocol";

/** A member's position in the room's timeline. Both only move up, and delivered >= read. */
export interface Watermarks {
  deliveredSeq: number;
  readSeq: number;
}

export interface ReceiptMove {
  kind: ReceiptKind;
  seq: number;
}

export const NO_WATERMARKS: Watermarks = { deliveredSeq: 0, readSeq: 0 };

/**
 * Applies a `read`/`delivered` report. The seq is clamped to 0..lastSeq (a client can't mark
 * events that don't exist yet), watermarks never go down, and reading implies delivery. Returns
 * the new watermarks and the moves to broadcast (empty when nothing changed, so a repeated or
 * stale report costs no broadcast).
 */
export function advanceWatermarks(
  current: Watermarks,
  kind: ReceiptKind,
  seq: number,
  lastSeq: number,
): { next: Watermarks; moves: ReceiptMove[] } {
  const target = Math.max(0, Math.min(seq, lastSeq));
  const readSeq = kind === "read" ? Math.max(current.readSeq, target) : current.readSeq;
  const deliveredSeq = Math.max(current.deliveredSeq, readSeq, kind === "delivered" ? target : 0);
  const moves: ReceiptMove[] = [];
  if (deliveredSeq > current.deliveredSeq) {
    moves.push({ kind: "delivered", seq: deliveredSeq });
  }
  if (readSeq > current.readSeq) {
    moves.push({ kind: "read", seq: readSeq });
  }
  return { next: { deliveredSeq, readSeq }, moves };
}
