import { REPLAY_CAP, type ResumeKind } from "../shared/protocol";

/** What the client asked for with `?since=&epoch=` (validated by the Worker). */
export interface ResumeRequest {
  since: number | null;
  epoch: string | null;
}

export type ResumeDecision =
  | { kind: Exclude<ResumeKind, "ok"> }
  | { kind: "ok"; after: number }
  /** `since` is above lastSeq in this epoch: the upgrade is refused with 400. */
  | { kind: "invalid"; message: string };

/**
 * Decides how a connecting socket catches up (DESIGN "WebSocket session"):
 * - no `since`: "none" (the client loaded history over HTTP and subscribes from `ready.lastSeq`);
 * - an `epoch` that isn't the room's: "reset", whatever `since` says, because that seq belongs to
 *   another history (the room was deleted and re-created, or restored) and must not be compared;
 * - `since` above lastSeq: invalid, never silently read as 0 or as lastSeq;
 * - more than `cap` events missed: "truncated" (the client pages over HTTP instead);
 * - otherwise "ok": events since+1..lastSeq are replayed before anything live.
 */
export function decideResume(
  req: ResumeRequest,
  room: { lastSeq: number; epoch: string },
  cap = REPLAY_CAP,
): ResumeDecision {
  if (req.since === null) {
    return { kind: "none" };
  }
  if (req.epoch !== null && req.epoch !== room.epoch) {
    return { kind: "reset" };
  }
  if (req.since > room.lastSeq) {
    return {
      kind: "invalid",
      message: `since=${req.since} is beyond this room's last seq (${room.lastSeq})`,
    };
  }
  if (room.lastSeq - req.since > cap) {
    return { kind: "truncated" };
  }
  return { kind: "ok", after: req.since };
}

/**
 * Parses a `since` query value: digits only, a safe integer. Anything else (negative, "1e3",
 * " 1", "", 2^53+1) is null, so the Worker refuses it instead of treating it as 0.
 */
export function parseSeqParam(raw: string): number | null {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(raw)) {
    return null;
  }
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

/** How a client classifies an incoming timeline seq against the last one it has applied. */
export type SeqVerdict = "next" | "duplicate" | "gap";

/**
 * Client-side rule (also used by the consistency checker): timeline frames carry consecutive
 * seqs, so the next frame must be lastApplied + 1; lower is a duplicate to drop, higher is a gap
 * (reconnect with `since=lastApplied`).
 */
export function classifySeq(lastApplied: number, seq: number): SeqVerdict {
  if (seq === lastApplied + 1) {
    return "next";
  }
  return seq <= lastApplied ? "duplicate" : "gap";
}
