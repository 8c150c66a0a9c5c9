import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  advance,
  emptyWindow,
  estimate,
  hit,
  type WindowState,
} from "../../src/limits/sliding-window";

interface Run {
  allowed: number[];
  refusals: Array<{ at: number; retryAfterMs: number; state: WindowState }>;
  states: Array<{ at: number; state: WindowState }>;
}

/** Feeds hits at the given (non-decreasing) times through one limiter. */
function simulate(times: number[], limit: number, windowMs: number): Run {
  let state = emptyWindow();
  const run: Run = { allowed: [], refusals: [], states: [] };
  for (const at of times) {
    const before = state;
    const d = hit(state, at, limit, windowMs);
    state = d.state;
    if (d.allowed) {
      run.allowed.push(at);
      run.states.push({ at, state });
    } else {
      run.refusals.push({ at, retryAfterMs: d.retryAfterMs, state: before });
    }
  }
  return run;
}

/** Non-decreasing integer times: a random start plus random gaps (often 0, i.e. bursts). */
const timesArb = (windowMs: number) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 10 * windowMs }),
      fc.array(
        fc.oneof(
          fc.constant(0),
          fc.integer({ min: 0, max: Math.max(1, Math.floor(windowMs / 10)) }),
          fc.integer({ min: 0, max: 2 * windowMs }),
        ),
        { maxLength: 200 },
      ),
    )
    .map(([start, gaps]) => {
      let t = start;
      return gaps.map((g) => {
        t += g;
        return t;
      });
    });

const configArb = fc
  .tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 5000 }))
  .chain(([limit, windowMs]) =>
    fc.record({
      limit: fc.constant(limit),
      windowMs: fc.constant(windowMs),
      times: timesArb(windowMs),
    }),
  );

describe("the sliding-window counter", () => {
  it("allows at most `limit` hits inside any one fixed window", () => {
    fc.assert(
      fc.property(configArb, ({ limit, windowMs, times }) => {
        const perWindow = new Map<number, number>();
        for (const at of simulate(times, limit, windowMs).allowed) {
          const w = Math.floor(at / windowMs);
          perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
        }
        for (const n of perWindow.values()) {
          expect(n).toBeLessThanOrEqual(limit);
        }
      }),
    );
  });

  it("allows at most 2 * limit - 1 hits in any sliding window (the documented approximation bound)", () => {
    fc.assert(
      fc.property(configArb, ({ limit, windowMs, times }) => {
        const allowed = simulate(times, limit, windowMs).allowed;
        // The busiest window of length windowMs starts at some allowed hit.
        for (let i = 0; i < allowed.length; i++) {
          const from = allowed[i] as number;
          const inWindow = allowed.filter((t) => t >= from && t < from + windowMs).length;
          expect(inWindow).toBeLessThanOrEqual(Math.max(limit, 2 * limit - 1));
        }
      }),
    );
  });

  it("never lets the weighted count go above the limit", () => {
    fc.assert(
      fc.property(configArb, ({ limit, windowMs, times }) => {
        for (const { at, state } of simulate(times, limit, windowMs).states) {
          expect(estimate(state, at, windowMs)).toBeLessThanOrEqual(limit + 1e-9);
        }
      }),
    );
  });

  it("refuses with a retryAfterMs above 0 and at most window + window / limit", () => {
    fc.assert(
      fc.property(configArb, ({ limit, windowMs, times }) => {
        for (const r of simulate(times, limit, windowMs).refusals) {
          expect(r.retryAfterMs).toBeGreaterThan(0);
          expect(Number.isInteger(r.retryAfterMs)).toBe(true);
          expect(r.retryAfterMs).toBeLessThanOrEqual(windowMs + Math.ceil(windowMs / limit));
        }
      }),
    );
  });

  it("refuses with a retryAfterMs of at most one window while only the previous window blocks", () => {
    fc.assert(
      fc.property(configArb, ({ limit, windowMs, times }) => {
        for (const r of simulate(times, limit, windowMs).refusals) {
          if (advance(r.state, r.at, windowMs).current < limit) {
            expect(r.retryAfterMs).toBeLessThanOrEqual(windowMs);
          }
        }
      }),
    );
  });

  it("allows a hit exactly retryAfterMs later, and refuses one a millisecond earlier", () => {
    fc.assert(
      fc.property(configArb, ({ limit, windowMs, times }) => {
        for (const r of simulate(times, limit, windowMs).refusals) {
          expect(hit(r.state, r.at + r.retryAfterMs, limit, windowMs).allowed).toBe(true);
          expect(hit(r.state, r.at + r.retryAfterMs - 1, limit, windowMs).allowed).toBe(false);
        }
      }),
    );
  });

  it("gives an exact, bounded retryAfterMs from any state, even one over a since-lowered limit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 4999 }),
        (limit, windowMs, current, previous, windowIndex, offset) => {
          const state = { start: windowIndex * windowMs, current, previous };
          const now = state.start + (offset % windowMs);
          const d = hit(state, now, limit, windowMs);
          if (d.allowed) {
            return;
          }
          expect(d.retryAfterMs).toBeGreaterThan(0);
          expect(d.retryAfterMs).toBeLessThanOrEqual(2 * windowMs);
          expect(hit(state, now + d.retryAfterMs, limit, windowMs).allowed).toBe(true);
          expect(hit(state, now + d.retryAfterMs - 1, limit, windowMs).allowed).toBe(false);
        },
      ),
    );
  });

  it("allows exactly `limit` hits in a burst from an empty state", () => {
    const run = simulate(Array(8).fill(60_000), 5, 60_000);
    expect(run.allowed).toHaveLength(5);
    expect(run.refusals).toHaveLength(3);
    expect(run.refusals[0]?.retryAfterMs).toBe(60_000 + 12_000);
  });

  it("rejects a second burst just after a window boundary (no fixed-window 2x burst)", () => {
    const first = Array(5).fill(9_900);
    const second = Array(5).fill(10_100);
    const run = simulate([...first, ...second], 5, 10_000);
    expect(run.allowed).toEqual(first);
    expect(run.refusals).toHaveLength(5);
  });

  it("lets the previous window's hits fade linearly over the next window", () => {
    let state = emptyWindow();
    for (let i = 0; i < 10; i++) {
      state = hit(state, 0, 10, 1000).state;
    }
    // Half-way into the next window, half of the previous 10 still count.
    expect(estimate(state, 1500, 1000)).toBe(5);
    expect(hit(state, 1500, 10, 1000).allowed).toBe(true);
    // Two windows later nothing counts.
    expect(estimate(state, 2000, 1000)).toBe(0);
  });

  it("does not reset when the clock steps backwards", () => {
    let state = emptyWindow();
    for (let i = 0; i < 3; i++) {
      state = hit(state, 5000, 3, 1000).state;
    }
    expect(hit(state, 4000, 3, 1000).allowed).toBe(false);
  });
});
