import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SlicedOutbox } from "../../src/chat/sliced-outbox";

/**
 * An outbox over numbered sockets, with the turns it asks for run by hand (`turn()`).
 * `sentPerTurn` counts sends per turn it ran, and per push (the caller's turn).
 */
function harness(slice: number) {
  const received = new Map<number, string[]>();
  const sentPerTurn: number[] = [];
  const closed = new Set<number>();
  let later: (() => void) | null = null;
  const outbox = new SlicedOutbox<number>({
    slice,
    isOpen: (s) => !closed.has(s),
    send: (s, text) => {
      received.set(s, [...(received.get(s) ?? []), text]);
      sentPerTurn[sentPerTurn.length - 1] = (sentPerTurn.at(-1) ?? 0) + 1;
    },
    later: (fn) => {
      expect(later).toBeNull(); // one turn asked for at a time
      later = fn;
    },
  });
  return {
    outbox,
    push(text: string, to: number[]) {
      sentPerTurn.push(0);
      outbox.push(text, to);
    },
    received,
    sentPerTurn,
    closed,
    /** Runs the turn the outbox asked for; false if it asked for none. */
    turn(): boolean {
      const fn = later;
      if (!fn) {
        return false;
      }
      later = null;
      sentPerTurn.push(0);
      fn();
      return true;
    },
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("SlicedOutbox", () => {
  it("sends a frame for at most one slice of sockets before push returns, and asks for no turn", () => {
    const h = harness(4);
    h.push("a", [1, 2, 3, 4]);
    expect([...h.received]).toEqual([
      [1, ["a"]],
      [2, ["a"]],
      [3, ["a"]],
      [4, ["a"]],
    ]);
    expect(h.outbox.pending).toBe(0);
    expect(h.turn()).toBe(false);
  });

  it("sends a bigger frame one slice per turn until every socket has it", () => {
    const h = harness(4);
    h.push("a", range(0, 10));
    expect(h.sentPerTurn).toEqual([4]);
    expect(h.turn()).toBe(true);
    expect(h.turn()).toBe(true);
    expect(h.turn()).toBe(false);
    expect(h.sentPerTurn).toEqual([4, 4, 2]);
    expect(range(0, 10).map((s) => h.received.get(s))).toEqual(range(0, 10).map(() => ["a"]));
  });

  it("keeps frames in order: one pushed during a spread waits, even for a small room", () => {
    const h = harness(2);
    h.push("a", [1, 2, 3]);
    h.push("b", [1]);
    expect(h.received.get(1)).toEqual(["a"]);
    expect(h.outbox.pending).toBe(2);
    while (h.turn()) {
      // drain
    }
    expect(h.received.get(1)).toEqual(["a", "b"]);
    expect(h.received.get(3)).toEqual(["a"]);
  });

  it("skips a socket that closed before its slice, and sends nothing for no sockets", () => {
    const h = harness(2);
    h.push("a", [1, 2, 3, 4]);
    h.closed.add(4);
    h.push("b", []);
    while (h.turn()) {
      // drain
    }
    expect(h.received.get(3)).toEqual(["a"]);
    expect(h.received.has(4)).toBe(false);
    expect(h.outbox.pending).toBe(0);
  });

  it("delivers every frame to each of its open sockets once, in push order, a slice per turn at most (property)", () => {
    const op = fc.oneof(
      fc.record({ push: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { maxLength: 25 }) }),
      fc.record({ close: fc.integer({ min: 0, max: 30 }) }),
      fc.constant({ turn: true }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 40 }), (slice, ops) => {
        const h = harness(slice);
        const expected = new Map<number, string[]>();
        // socket -> number of frames pushed before it closed
        const closedAt = new Map<number, number>();
        let frames = 0;
        for (const o of ops) {
          if ("push" in o) {
            const text = `f${frames++}`;
            for (const s of o.push) {
              expected.set(s, [...(expected.get(s) ?? []), text]);
            }
            h.push(text, o.push);
          } else if ("close" in o) {
            h.closed.add(o.close);
            closedAt.set(o.close, closedAt.get(o.close) ?? frames);
          } else {
            h.turn();
          }
        }
        while (h.turn()) {
          // drain
        }
        expect(h.outbox.pending).toBe(0);
        expect(Math.max(...h.sentPerTurn)).toBeLessThanOrEqual(slice);
        for (const [s, want] of expected) {
          const got = h.received.get(s) ?? [];
          if (!h.closed.has(s)) {
            expect(got).toEqual(want);
          } else {
            // What it got before it closed: a prefix of its frames, none pushed after the close.
            expect(want.slice(0, got.length)).toEqual(got);
            expect(got.every((t) => Number(t.slice(1)) < (closedAt.get(s) ?? 0))).toBe(true);
          }
        }
      }),
    );
  });
});
