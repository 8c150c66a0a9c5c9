import type { HistoryPage, Message } from "../shared/api";

/**
 * Where a room's timeline stands: `since` is the last timeline seq applied (every event up to it
 * is reflected), `epoch` the room history it belongs to. Pass it back to resume.
 */
export interface Cursor {
  since: number;
  epoch: string;
}

/** A timeline event frame: a creation (`receive_message`) or an edit/delete (`message_updated`). */
export interface TimelineFrame {
  type: "receive_message" | "message_updated";
  /** The event's timeline seq (consecutive across frames). */
  seq: number;
  /** The message as the event left it; `message.seq` is its creation seq, its address. */
  message: Message;
}

/** One visible change: a message appeared (`added`) or an edit/delete landed (`updated`). */
export interface TimelineChange {
  kind: "added" | "updated";
  /** The timeline seq of the event that caused it. */
  seq: number;
  message: Message;
}

/** What applying frames or pages changed, and whether frames now wait above a missing seq. */
export interface ApplyResult {
  changes: TimelineChange[];
  /** Frames above a missing seq are waiting: the stream skipped an event. */
  gap: boolean;
}

/** Messages as they were when the room's last timeline seq was `latestSeq`: an HTTP history page. */
export type Snapshot = Pick<HistoryPage, "messages" | "latestSeq" | "epoch"> & {
  /** The page's `nextCursor`; for a newest or `before` page, null means nothing older exists. */
  nextCursor?: number | null;
};

/** More out-of-order frames than this is not a reordering but a broken stream: start over. */
const MAX_PENDING = 10_000;

const noChanges = (): ApplyResult => ({ changes: [], gap: false });

/**
 * The client's merge of history pages, resume replay and live frames into one ascending,
 * duplicate-free list of messages (DESIGN "Timeline seq"). Pure: no I/O, no timers.
 *
 * Invariants:
 * - events are applied in timeline-seq order, each exactly once: a frame at `since + 1` is
 *   applied, one at or below `since` is a duplicate and dropped, one above waits in `pending`
 *   until the seqs between arrive (a gap, which the caller repairs by resuming);
 * - every held message remembers the timeline seq its state reflects (`versions`): an HTTP
 *   snapshot taken at `latestSeq` reflects every event up to it, so a later frame for that
 *   message applies only when its seq is higher. That is what lets a page fetched while live
 *   frames keep coming be merged without ever moving a message back to an older state;
 * - every message whose creation seq is at or above `floor` is held; frames about older ones
 *   are ignored, since `loadOlder` fetches them in their current state anyway;
 * - while `holding` (an HTTP catch-up is running) frames are queued, not classified: after an
 *   epoch change their seqs can't be compared with the old cursor at all.
 */
export class Timeline {
  private list: readonly Message[] = [];
  private readonly versions = new Map<number, number>();
  private readonly byClientId = new Map<string, number>();
  private readonly pending = new Map<number, TimelineFrame>();
  private held: TimelineFrame[] | null = null;
  private cur: Cursor | null = null;
  private floorSeq = 1;
  private older = false;

  /**
   * An empty timeline (it holds frames until the first `reset`), or one resumed from a cursor
   * with the messages the app kept, assumed current as of `cursor.since`.
   */
  constructor(init?: { cursor: Cursor; messages?: readonly Message[] }) {
    if (!init) {
      this.held = [];
      return;
    }
    this.cur = { ...init.cursor };
    const messages = [...(init.messages ?? [])].sort((a, b) => a.seq - b.seq);
    this.list = dedupe(messages);
    for (const m of this.list) {
      this.remember(m, init.cursor.since);
    }
    this.floorSeq = this.list[0]?.seq ?? init.cursor.since + 1;
    this.older = this.floorSeq > 1;
  }

  /** Null until the first history page or resume cursor. */
  get cursor(): Cursor | null {
    return this.cur ? { ...this.cur } : null;
  }

  /** Ascending by seq, one entry per message, edits and deletions applied. A new array per change. */
  get messages(): readonly Message[] {
    return this.list;
  }

  /** Whether older messages may exist below the oldest one held. */
  get hasOlder(): boolean {
    return this.older;
  }

  /** The creation seq to page back from (`before=`): the oldest held message, or the floor. */
  get oldestSeq(): number {
    return this.list[0]?.seq ?? this.floorSeq;
  }

  /** True while frames are queued for an HTTP catch-up (`hold` until `reset`/`refresh`). */
  get holding(): boolean {
    return this.held !== null;
  }

  /** True when frames above a missing seq are waiting. */
  get hasGap(): boolean {
    return this.pending.size > 0;
  }

  /** The message with this creation seq, if held. */
  get(seq: number): Message | undefined {
    const i = this.search(seq);
    return i.found ? this.list[i.index] : undefined;
  }

  /** The message `authorId` sent with `clientId`, if held (how a retried send finds its message). */
  findByClientId(authorId: string, clientId: string): Message | undefined {
    const seq = this.byClientId.get(clientKey(authorId, clientId));
    return seq === undefined ? undefined : this.get(seq);
  }

  /** Starts queueing frames: an HTTP catch-up is about to replace or refresh the state. */
  hold(): void {
    this.held ??= [];
  }

  /**
   * A new socket: frames queued or waiting from the old one are dropped (the new socket replays
   * them from the cursor), and an unfinished catch-up stops holding.
   */
  restart(): void {
    this.pending.clear();
    this.held = this.cur === null ? [] : null;
  }

  /** Forgets the cursor (it no longer matches the room): the next connect must start afresh. */
  invalidate(): void {
    this.cur = null;
    this.pending.clear();
    this.held = [];
  }

  /** Applies a replayed or live frame; see the class comment for the rules. */
  apply(frame: TimelineFrame): ApplyResult {
    if (this.held !== null || this.cur === null) {
      this.held ??= [];
      this.held.push(frame);
      return noChanges();
    }
    const since = this.cur.since;
    if (frame.seq <= since) {
      return { changes: [], gap: this.pending.size > 0 };
    }
    if (frame.seq > since + 1) {
      if (this.pending.size >= MAX_PENDING) {
        this.pending.clear();
      }
      this.pending.set(frame.seq, frame);
      return { changes: [], gap: true };
    }
    const changes: TimelineChange[] = [];
    let next: TimelineFrame | undefined = frame;
    while (next) {
      const change = this.applyOne(next);
      if (change) {
        changes.push(change);
      }
      this.cur.since = next.seq;
      this.pending.delete(next.seq);
      next = this.pending.get(next.seq + 1);
    }
    return { changes, gap: this.pending.size > 0 };
  }

  /**
   * Replaces everything with a snapshot (the newest page, usually): used on first load and when
   * the epoch changed. Queued frames are then applied against the new cursor.
   */
  reset(snapshot: Snapshot): ApplyResult {
    this.list = dedupe([...snapshot.messages].sort((a, b) => a.seq - b.seq));
    this.versions.clear();
    this.byClientId.clear();
    this.pending.clear();
    for (const m of this.list) {
      this.remember(m, snapshot.latestSeq);
    }
    this.cur = { since: snapshot.latestSeq, epoch: snapshot.epoch };
    const first = this.list[0];
    this.floorSeq = first ? first.seq : 1;
    this.older = first !== undefined && first.seq > 1 && snapshot.nextCursor !== null;
    return this.release();
  }

  /**
   * Merges pages re-read over HTTP after a resume came back "truncated": every held message is
   * refreshed and new ones added. `since` becomes the lowest `latestSeq` among them: events up to
   * it are reflected in every page, while a later frame still applies to a message whose page
   * was read before that event (its version is lower). Queued frames are then applied.
   */
  refresh(snapshots: readonly Snapshot[]): ApplyResult {
    const first = snapshots[0];
    if (!first) {
      return this.release();
    }
    for (const s of snapshots) {
      this.merge(s.messages, s.latestSeq);
    }
    const lowest = Math.min(...snapshots.map((s) => s.latestSeq));
    const since =
      this.cur && this.cur.epoch === first.epoch ? Math.max(this.cur.since, lowest) : lowest;
    this.cur = { since, epoch: first.epoch };
    this.pending.clear();
    return this.release();
  }

  /**
   * Adds an older page (`before=oldestSeq`). Messages already held keep whichever state is newer.
   * Returns the messages that were added.
   */
  addOlder(snapshot: Snapshot): Message[] {
    const added = this.merge(snapshot.messages, snapshot.latestSeq);
    const oldest = this.list[0];
    if (snapshot.nextCursor === null || snapshot.messages.length === 0) {
      this.older = false;
      this.floorSeq = 1;
    } else if (oldest) {
      this.floorSeq = Math.min(this.floorSeq, oldest.seq);
    }
    return added;
  }

  private release(): ApplyResult {
    const held = this.held ?? [];
    this.held = null;
    const out: ApplyResult = { changes: [], gap: false };
    for (const f of held) {
      const r = this.apply(f);
      out.changes.push(...r.changes);
      out.gap = r.gap;
    }
    out.gap = this.pending.size > 0;
    return out;
  }

  private applyOne(frame: TimelineFrame): TimelineChange | null {
    const m = frame.message;
    const at = this.search(m.seq);
    if (at.found) {
      if (frame.seq <= (this.versions.get(m.seq) ?? 0)) {
        return null; // the held state is already newer (it came from a later snapshot)
      }
      const list = [...this.list];
      list[at.index] = m;
      this.list = list;
      this.remember(m, frame.seq);
      return { kind: "updated", seq: frame.seq, message: m };
    }
    if (m.seq < this.floorSeq) {
      return null;
    }
    this.list = insertAt(this.list, at.index, m);
    this.remember(m, frame.seq);
    return { kind: "added", seq: frame.seq, message: m };
  }

  /** Puts snapshot messages in place unless the held copy is newer; returns the new ones. */
  private merge(messages: readonly Message[], version: number): Message[] {
    const added: Message[] = [];
    const list = [...this.list];
    for (const m of messages) {
      const at = searchIn(list, m.seq);
      if (at.found) {
        if ((this.versions.get(m.seq) ?? 0) < version) {
          list[at.index] = m;
          this.remember(m, version);
        }
      } else {
        list.splice(at.index, 0, m);
        this.remember(m, version);
        added.push(m);
      }
    }
    this.list = list;
    return added;
  }

  private remember(m: Message, version: number): void {
    this.versions.set(m.seq, version);
    if (m.clientId !== null) {
      this.byClientId.set(clientKey(m.authorId, m.clientId), m.seq);
    }
  }

  private search(seq: number): { found: boolean; index: number } {
    return searchIn(this.list, seq);
  }
}

function clientKey(authorId: string, clientId: string): string {
  return `${authorId}\n${clientId}`;
}

/** Binary search by creation seq: the index of `seq`, or where it would be inserted. */
function searchIn(list: readonly Message[], seq: number): { found: boolean; index: number } {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = list[mid]?.seq ?? 0;
    if (s === seq) {
      return { found: true, index: mid };
    }
    if (s < seq) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return { found: false, index: lo };
}

// Copies instead of Array.prototype.toSpliced/with, which older React Native engines lack.
function insertAt(list: readonly Message[], index: number, m: Message): Message[] {
  return [...list.slice(0, index), m, ...list.slice(index)];
}

function dedupe(sorted: readonly Message[]): Message[] {
  return sorted.filter((m, i) => i === 0 || sorted[i - 1]?.seq !== m.seq);
}
