import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Snapshot, Timeline, type TimelineFrame } from "../../src/client/timeline";
import type { Message } from "../../src/shared/api";

// A model of a room's timeline: ops become consecutive events (seq 1..N), and the state after
// the first k events is what an HTTP page read at latestSeq = k shows.

type Op = { kind: "create" } | { kind: "edit"; pick: number } | { kind: "delete"; pick: number };

interface History {
  frames: TimelineFrame[];
  /** stateAt[k]: every message after the first k events, ascending by seq. */
  stateAt: Message[][];
}

const EPOCH = "epoch-1";

function message(seq: number, patch: Partial<Message> = {}): Message {
  return {
    id: `msg_${seq}`,
    seq,
    roomId: "room_1",
    authorId: seq % 2 === 0 ? "usr_a" : "usr_b",
    authorName: "A",
    content: `m${seq}`,
    clientId: `c${seq}`,
    replyTo: null,
    createdAt: new Date(1_700_000_000_000 + seq).toISOString(),
    editedAt: null,
    deletedAt: null,
    ...patch,
  };
}

function buildHistory(ops: readonly Op[]): History {
  const live = new Map<number, Message>();
  const frames: TimelineFrame[] = [];
  const stateAt: Message[][] = [[]];
  ops.forEach((op, i) => {
    const seq = i + 1;
    const targets = [...live.values()].filter((m) => m.deletedAt === null);
    const target =
      op.kind === "create" ? undefined : targets[op.pick % Math.max(1, targets.length)];
    if (op.kind === "create" || !target) {
      const m = message(seq);
      live.set(seq, m);
      frames.push({ type: "receive_message", seq, message: m });
    } else {
      const at = new Date(1_800_000_000_000 + seq).toISOString();
      const m =
        op.kind === "edit"
          ? { ...target, content: `m${target.seq} edited at ${seq}`, editedAt: at }
          : { ...target, content: "", deletedAt: at };
      live.set(m.seq, m);
      frames.push({ type: "message_updated", seq, message: m });
    }
    stateAt.push([...live.values()].sort((a, b) => a.seq - b.seq));
  });
  return { frames, stateAt };
}

function snapshotAt(h: History, k: number, nextCursor: number | null = null): Snapshot {
  return { messages: h.stateAt[k] ?? [], latestSeq: k, epoch: EPOCH, nextCursor };
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Op>({ kind: "create" }) },
  fc.nat().map((pick): Op => ({ kind: "edit", pick })),
  fc.nat().map((pick): Op => ({ kind: "delete", pick })),
);
const opsArb = fc.array(opArb, { minLength: 1, maxLength: 40 });

/** The event seq that produced this state of a message (the model stamps it into the times). */
function versionOf(m: Message): number {
  const at = m.deletedAt ?? m.editedAt;
  return at === null ? m.seq : Date.parse(at) - 1_800_000_000_000;
}

/**
 * Checks the invariants that must hold after every step: ascending, no duplicates, and no message
 * ever shown in an older state than it was shown before (`seen` remembers the newest per message).
 */
function expectWellFormed(tl: Timeline, seen: Map<number, number> = new Map()): void {
  const seqs = tl.messages.map((m) => m.seq);
  for (let i = 1; i < seqs.length; i++) {
    expect(seqs[i], "timeline strictly increasing, no duplicates").toBeGreaterThan(seqs[i - 1]!);
  }
  for (const m of tl.messages) {
    const v = versionOf(m);
    expect(v, `message ${m.seq} never goes back to an older state`).toBeGreaterThanOrEqual(
      seen.get(m.seq) ?? 0,
    );
    seen.set(m.seq, v);
  }
}

/** Reorders `items` with swaps chosen by fast-check (shrinkable, unlike Math.random). */
function shuffle<T>(items: readonly T[], swaps: readonly number[]): T[] {
  const out = [...items];
  swaps.forEach((s, i) => {
    if (out.length < 2) {
      return;
    }
    const a = i % out.length;
    const b = s % out.length;
    [out[a], out[b]] = [out[b]!, out[a]!];
  });
  return out;
}

describe("Timeline merge (pure)", () => {
  it("applies consecutive frames, drops duplicates and holds frames above a gap until it fills", () => {
    const h = buildHistory([{ kind: "create" }, { kind: "create" }, { kind: "create" }]);
    const tl = new Timeline();
    tl.reset(snapshotAt(h, 0));
    const [f1, f2, f3] = h.frames as [TimelineFrame, TimelineFrame, TimelineFrame];

    expect(tl.apply(f1).changes.map((c) => c.seq)).toEqual([1]);
    expect(tl.apply(f1).changes, "a duplicate changes nothing").toEqual([]);
    const early = tl.apply(f3);
    expect(early).toEqual({ changes: [], gap: true });
    expect(tl.hasGap).toBe(true);
    const filled = tl.apply(f2);
    expect(filled.changes.map((c) => c.seq)).toEqual([2, 3]);
    expect(filled.gap).toBe(false);
    expect(tl.cursor).toEqual({ since: 3, epoch: EPOCH });
    expect(tl.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it("applies an edit and a deletion in place and reports them as updates", () => {
    const h = buildHistory([
      { kind: "create" },
      { kind: "edit", pick: 0 },
      { kind: "delete", pick: 0 },
    ]);
    const tl = new Timeline();
    tl.reset(snapshotAt(h, 0));
    const kinds = h.frames.flatMap((f) => tl.apply(f).changes.map((c) => c.kind));
    expect(kinds).toEqual(["added", "updated", "updated"]);
    expect(tl.messages).toEqual([expect.objectContaining({ seq: 1, content: "" })]);
    expect(tl.messages[0]?.deletedAt).not.toBeNull();
  });

  it("never moves a message back to an older state when a frame older than its page arrives", () => {
    const h = buildHistory([
      { kind: "create" },
      { kind: "edit", pick: 0 },
      { kind: "edit", pick: 0 },
    ]);
    const tl = new Timeline();
    tl.reset(snapshotAt(h, 0));
    tl.hold();
    // Two catch-up pages: the first read at latestSeq 1 (nothing in its range), the second at 3.
    tl.refresh([
      { messages: [], latestSeq: 1, epoch: EPOCH, nextCursor: 0 },
      { messages: h.stateAt[3] ?? [], latestSeq: 3, epoch: EPOCH, nextCursor: null },
    ]);
    expect(tl.cursor?.since, "events up to the first page's latestSeq are reflected").toBe(1);
    const late = tl.apply(h.frames[1]!);
    expect(late.changes, "the edit at 2 is older than the page's state").toEqual([]);
    expect(tl.messages[0]?.content).toBe("m1 edited at 3");
    tl.apply(h.frames[2]!);
    expect(tl.cursor?.since).toBe(3);
  });

  it("queues frames during a catch-up and compares them with the new epoch's cursor afterwards", () => {
    const tl = new Timeline({ cursor: { since: 50, epoch: "old" }, messages: [message(50)] });
    tl.hold();
    // seq 3 would be a "duplicate" against the old cursor (50); in the new epoch it is new.
    const f3: TimelineFrame = { type: "receive_message", seq: 3, message: message(3) };
    expect(tl.apply(f3).changes).toEqual([]);
    const r = tl.reset({
      messages: [message(1), message(2)],
      latestSeq: 2,
      epoch: "new",
      nextCursor: null,
    });
    expect(r.changes.map((c) => c.message.seq)).toEqual([3]);
    expect(tl.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(tl.cursor).toEqual({ since: 3, epoch: "new" });
    expect(tl.hasOlder).toBe(false);
  });

  it("ignores updates of messages older than the loaded window, which loadOlder fetches fresh", () => {
    const tl = new Timeline();
    tl.reset({ messages: [message(10), message(11)], latestSeq: 11, epoch: EPOCH, nextCursor: 10 });
    expect(tl.hasOlder).toBe(true);
    expect(tl.oldestSeq).toBe(10);
    const r = tl.apply({ type: "message_updated", seq: 12, message: message(4, { content: "x" }) });
    expect(r.changes).toEqual([]);
    expect(tl.cursor?.since).toBe(12);
    const added = tl.addOlder({
      messages: [message(4, { content: "x" }), message(6)],
      latestSeq: 12,
      epoch: EPOCH,
      nextCursor: null,
    });
    expect(added.map((m) => m.seq)).toEqual([4, 6]);
    expect(tl.messages.map((m) => m.seq)).toEqual([4, 6, 10, 11]);
    expect(tl.hasOlder).toBe(false);
  });

  it("finds a message by its author and clientId, so a retried send can resolve", () => {
    const tl = new Timeline();
    tl.reset({ messages: [message(2)], latestSeq: 2, epoch: EPOCH, nextCursor: null });
    expect(tl.findByClientId("usr_a", "c2")?.seq).toBe(2);
    expect(tl.findByClientId("usr_b", "c2")).toBeUndefined();
  });

  it("resumes from a stored cursor with the messages the app kept", () => {
    const tl = new Timeline({
      cursor: { since: 7, epoch: EPOCH },
      messages: [message(7), message(5)],
    });
    expect(tl.messages.map((m) => m.seq)).toEqual([5, 7]);
    expect(tl.holding).toBe(false);
    expect(tl.apply({ type: "receive_message", seq: 8, message: message(8) }).changes).toHaveLength(
      1,
    );
    expect(tl.oldestSeq).toBe(5);
    expect(tl.hasOlder).toBe(true);
  });

  // DLV-6: random interleavings of live broadcast, duplicate and reordered delivery, disconnects
  // (in-flight frames lost) and resumes (the server replays from the cursor, in order).
  it("stays strictly increasing, gap-free and duplicate-free under random drops, resumes and reorderings", () => {
    const commandArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat()), {
      maxLength: 150,
    });
    fc.assert(
      fc.property(opsArb, commandArb, (ops, commands) => {
        const h = buildHistory(ops);
        const n = h.frames.length;
        const tl = new Timeline();
        tl.reset(snapshotAt(h, 0));
        let published = 0;
        let connected = true;
        let inFlight: TimelineFrame[] = [];
        let lastChangeSeq = 0;
        let lastSince = 0;
        const seen = new Map<number, number>();
        const deliver = (f: TimelineFrame) => {
          const r = tl.apply(f);
          for (const c of r.changes) {
            expect(c.seq, "each event applied once, in order").toBeGreaterThan(lastChangeSeq);
            lastChangeSeq = c.seq;
          }
          const since = tl.cursor?.since ?? 0;
          expect(since, "the cursor never moves back").toBeGreaterThanOrEqual(lastSince);
          lastSince = since;
          expectWellFormed(tl, seen);
        };
        const resume = () => {
          tl.restart();
          connected = true;
          inFlight = h.frames.slice(tl.cursor?.since ?? 0, published);
        };
        for (const [cmd, arg] of commands) {
          if (cmd <= 1 && published < n) {
            // broadcast: a connected socket gets it (in flight); a disconnected one doesn't
            const f = h.frames[published++]!;
            if (connected) {
              inFlight.push(f);
            }
          } else if (cmd === 2 && inFlight.length > 0) {
            // deliver one in-flight frame, not necessarily the oldest (reordering)
            const [f] = inFlight.splice(arg % inFlight.length, 1);
            deliver(f!);
          } else if (cmd === 3 && inFlight.length > 0) {
            // deliver a duplicate, keeping the original in flight
            deliver(inFlight[arg % inFlight.length]!);
          } else if (cmd === 4) {
            connected = false;
            inFlight = [];
          } else if (cmd === 5) {
            resume();
          }
        }
        // The end: everything is published, the client resumes and receives it in order.
        published = n;
        resume();
        for (const f of inFlight) {
          deliver(f);
        }
        expect(tl.cursor?.since).toBe(n);
        expect(tl.hasGap).toBe(false);
        expect(tl.messages).toEqual(h.stateAt[n]);
      }),
      { numRuns: 1000 },
    );
  });

  it("merges a page read while frames were in flight, whatever order the frames come in", () => {
    fc.assert(
      fc.property(
        opsArb,
        fc.nat(),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.nat(),
        (ops, kPick, lPick, swaps, dupPicks, splitPick) => {
          const h = buildHistory(ops);
          const n = h.frames.length;
          const k = kPick % (n + 1); // the page's latestSeq
          const l = lPick % (k + 1); // the socket's ready.lastSeq: at or before the page
          const frames = h.frames.slice(l);
          const dups = dupPicks.map((d) => frames[d % Math.max(1, frames.length)]!).filter(Boolean);
          const schedule = shuffle([...frames, ...dups], swaps);
          const split = splitPick % (schedule.length + 1);
          const tl = new Timeline();
          tl.hold();
          for (const f of schedule.slice(0, split)) {
            tl.apply(f);
          }
          tl.reset(snapshotAt(h, k));
          const seen = new Map<number, number>();
          expectWellFormed(tl, seen);
          for (const f of schedule.slice(split)) {
            tl.apply(f);
            expectWellFormed(tl, seen);
          }
          expect(tl.cursor?.since).toBe(n);
          expect(tl.hasGap).toBe(false);
          expect(tl.messages).toEqual(h.stateAt[n]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("catches up after a truncated resume from pages read at different moments, losing no edit", () => {
    fc.assert(
      fc.property(
        opsArb,
        fc.nat(),
        fc.nat(),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        (ops, k0Pick, lPick, pagePicks, swaps) => {
          const h = buildHistory(ops);
          const n = h.frames.length;
          const k0 = k0Pick % (n + 1); // what the client held before it went away
          const l = k0 + (lPick % (n - k0 + 1)); // ready.lastSeq of the new socket
          const tl = new Timeline();
          tl.reset(snapshotAt(h, k0));
          tl.hold();
          // `after` pages, read one after another at moments >= l, each ending at a message that
          // existed when it was read (that is where nextCursor points).
          const times = pagePicks.map((p) => l + (p % (n - l + 1))).sort((a, b) => a - b);
          const pages: Snapshot[] = [];
          let after = 0;
          times.forEach((t, i) => {
            const existing = (h.stateAt[t] ?? []).filter((m) => m.seq > after);
            const last = i === times.length - 1;
            const cut = last ? existing.length : Math.ceil(existing.length / 2);
            const messages = existing.slice(0, cut);
            pages.push({
              messages,
              latestSeq: t,
              epoch: EPOCH,
              nextCursor: last ? null : (messages.at(-1)?.seq ?? after),
            });
            after = messages.at(-1)?.seq ?? after;
          });
          const frames = shuffle(h.frames.slice(l), swaps);
          const half = Math.floor(frames.length / 2);
          for (const f of frames.slice(0, half)) {
            tl.apply(f);
          }
          tl.refresh(pages);
          const seen = new Map<number, number>();
          expectWellFormed(tl, seen);
          for (const f of frames.slice(half)) {
            tl.apply(f);
            expectWellFormed(tl, seen);
          }
          expect(tl.cursor?.since).toBe(n);
          expect(tl.messages).toEqual(h.stateAt[n]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
