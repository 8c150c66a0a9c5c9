import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  blockingSendTime,
  checkRate,
  type RatePolicy,
  RecentActions,
} from "../../src/chat/rate-limit";

/** Replays attempts (ms, nondecreasing) through checkRate the way the room does. */
function run(attempts: number[], policy: RatePolicy): { accepted: number[]; retries: number[] } {
  const accepted: number[] = [];
  const retries: number[] = [];
  for (const now of attempts) {
    const d = checkRate(blockingSendTime(accepted, now, policy), now, policy);
    if (d.allowed) {
      accepted.push(now);
    } else {
      retries.push(d.retryAfterMs);
    }
  }
  return { accepted, retries };
}

const policyArb = fc.record({
  limit: fc.integer({ min: 1, max: 8 }),
  windowMs: fc.integer({ min: 1, max: 5000 }),
});
const attemptsArb = fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 120 }).map((gaps) => {
  let t = 1_000_000;
  return gaps.map((g) => {
    t += g;
    return t;
  });
});

describe("checkRate", () => {
  it("allows the first `limit` sends of a window and refuses the next one", () => {
    const policy = { limit: 5, windowMs: 10_000 };
    const { accepted, retries } = run(
      [0, 1, 2, 3, 4, 5].map((t) => 1000 + t),
      policy,
    );
    expect(accepted).toHaveLength(5);
    expect(retries).toEqual([10_000 - 5]);
  });

  it("never lets more than `limit` sends into any window of windowMs (property)", () => {
    fc.assert(
      fc.property(policyArb, attemptsArb, (policy, attempts) => {
        const { accepted } = run(attempts, policy);
        for (let i = 0; i + policy.limit < accepted.length; i++) {
          const a = accepted[i] as number;
          const b = accepted[i + policy.limit] as number;
          expect(b - a).toBeGreaterThanOrEqual(policy.windowMs);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("says exactly how long to wait: refused 1 ms earlier, allowed after retryAfterMs (property)", () => {
    fc.assert(
      fc.property(policyArb, attemptsArb, (policy, attempts) => {
        const accepted: number[] = [];
        for (const now of attempts) {
          const at = (t: number) => checkRate(blockingSendTime(accepted, t, policy), t, policy);
          const d = at(now);
          if (d.allowed) {
            accepted.push(now);
            continue;
          }
          expect(d.retryAfterMs).toBeGreaterThan(0);
          expect(at(now + d.retryAfterMs).allowed).toBe(true);
          if (d.retryAfterMs > 1) {
            expect(at(now + d.retryAfterMs - 1).allowed).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("ignores sends older than the window, and takes the window as half-open", () => {
    const policy = { limit: 1, windowMs: 1000 };
    expect(blockingSendTime([0], 1000, policy)).toBeNull();
    expect(checkRate(blockingSendTime([1], 1000, policy), 1000, policy)).toEqual({
      allowed: false,
      retryAfterMs: 1,
    });
  });
});

describe("RecentActions (the room's in-memory copy)", () => {
  const usersArb = fc.array(
    fc.record({
      user: fc.constantFrom("u1", "u2", "u3"),
      gap: fc.integer({ min: 0, max: 400 }),
      /** the object hibernates or restarts before this attempt: memory is gone */
      wake: fc.boolean(),
    }),
    { maxLength: 150 },
  );

  it("decides exactly as the stored sends do, across wake-ups and several senders (property)", () => {
    fc.assert(
      fc.property(policyArb, usersArb, (policy, attempts) => {
        const stored: { user: string; t: number }[] = [];
        let loads = 0;
        const load = (user: string, from: number, n: number) => {
          loads++;
          const times = stored.filter((s) => s.user === user && s.t > from).map((s) => s.t);
          return times.sort((a, b) => b - a).slice(0, n);
        };
        let memory = new RecentActions(policy, load);
        let now = 1_000_000;
        for (const a of attempts) {
          now += a.gap;
          if (a.wake) {
            memory = new RecentActions(policy, load);
          }
          const mine = stored.filter((s) => s.user === a.user).map((s) => s.t);
          const expected = checkRate(blockingSendTime(mine, now, policy), now, policy);
          const actual = checkRate(memory.blocking(a.user, now), now, policy);
          expect(actual).toEqual(expected);
          if (actual.allowed) {
            stored.push({ user: a.user, t: now });
            memory.record(a.user, now);
          }
        }
        // Memory, not storage, answers while a sender stays busy.
        expect(loads).toBeLessThanOrEqual(attempts.length);
      }),
      { numRuns: 500 },
    );
  });

  it("answers a busy sender from memory, without loading again", () => {
    const policy = { limit: 3, windowMs: 1000 };
    let loads = 0;
    const memory = new RecentActions(policy, () => {
      loads++;
      return [10];
    });
    expect(memory.blocking("u1", 100)).toBeNull();
    for (const t of [101, 102]) {
      memory.record("u1", t);
      expect(memory.blocking("u1", t)).toBe(t === 102 ? 10 : null);
    }
    expect(loads).toBe(1);
    expect(memory.blocking("u1", 1011)).toBeNull(); // 10 left the window
    expect(loads).toBe(1);
  });
});
