/**
 * Sliding-window counter: the two-fixed-windows approximation Cloudflare's own limiter uses. The
 * previous fixed window's count is weighted by how much of it the sliding window still overlaps.
 * O(1) state per key, so a limit raised to 100k/min for a load test costs nothing extra.
 *
 * What the approximation guarantees (property-tested in test/unit/sliding-window.test.ts):
 * - at most `limit` hits are allowed inside any one fixed window, and the weighted count never
 *   exceeds `limit`;
 * - in an arbitrary window of `windowMs`, at most `2 * limit - 1` hits (the worst case is a
 *   burst at the very end of one fixed window and another at the end of the next); over any
 *   longer span the rate stays `limit` per `windowMs`;
 * - a refused hit gets the exact wait: a hit `retryAfterMs` later is allowed, one ms earlier is
 *   not. That wait is at most `windowMs` while the previous window is what blocks, and at most
 *   `windowMs + ceil(windowMs / limit)` when the current window alone is full (the previous
 *   window's hits are assumed evenly spread, so they fade out over the whole next window).
 *
 * Times are integer milliseconds; all comparisons are done on integers (scaled by `windowMs`),
 * so no floating-point rounding can let an extra hit through or make Retry-After too short.
 */
export interface WindowState {
  /** Start (ms) of the current fixed window, a multiple of the window length. */
  start: number;
  current: number;
  previous: number;
}

export interface Decision {
  allowed: boolean;
  /** 0 when allowed; else ms until one more hit would be allowed (>= 1). */
  retryAfterMs: number;
  state: WindowState;
}

export const emptyWindow = (): WindowState => ({ start: 0, current: 0, previous: 0 });

/**
 * Moves the state forward to the fixed window that contains `now`. A `now` before the current
 * window (a clock step backwards) counts into the current window rather than resetting it.
 */
export function advance(state: WindowState, now: number, windowMs: number): WindowState {
  const start = now - (now % windowMs);
  if (start <= state.start) {
    return state;
  }
  const previous = start - state.start === windowMs ? state.current : 0;
  return { start, current: 0, previous };
}

/** The weighted count of hits in the sliding window ending at `now`, times `windowMs`. */
function scaledCount(s: WindowState, now: number, windowMs: number): number {
  const elapsed = Math.max(0, now - s.start);
  return s.previous * (windowMs - elapsed) + s.current * windowMs;
}

/** The weighted count of hits in the sliding window ending at `now` (may be fractional). */
export function estimate(state: WindowState, now: number, windowMs: number): number {
  return scaledCount(advance(state, now, windowMs), now, windowMs) / windowMs;
}

/** Decides one hit and, when it is allowed, counts it. */
export function hit(state: WindowState, now: number, limit: number, windowMs: number): Decision {
  const s = advance(state, now, windowMs);
  if (scaledCount(s, now, windowMs) + windowMs > limit * windowMs) {
    return { allowed: false, retryAfterMs: retryAfter(s, now, limit, windowMs), state: s };
  }
  return { allowed: true, retryAfterMs: 0, state: { ...s, current: s.current + 1 } };
}

/** Smallest wait after which one more hit is allowed (state already advanced to `now`). */
function retryAfter(s: WindowState, now: number, limit: number, windowMs: number): number {
  const elapsed = Math.max(0, now - s.start);
  const toNextWindow = windowMs - elapsed;
  if (s.current + 1 <= limit) {
    // Only the previous window's weight is in the way (so previous > 0). Allowed at the first
    // `e` into this window where previous * (windowMs - e) <= (limit - 1 - current) * windowMs.
    const room = Math.floor(((limit - 1 - s.current) * windowMs) / s.previous);
    return Math.max(1, windowMs - room - elapsed);
  }
  // This window alone is full: wait for the next one, where `current` becomes the previous
  // window and must fade until current * (windowMs - e) <= (limit - 1) * windowMs. (With limit 1
  // that is the whole next window; the one after it starts empty.)
  const room = Math.floor(((limit - 1) * windowMs) / s.current);
  return toNextWindow + (windowMs - room);
}
