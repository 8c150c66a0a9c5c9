/**
 * Sliding-window counter (the two-fixed-windows approximation Cloudflare's own limiter uses):
 * the previous window's count is weighted by how much of it still overlaps the sliding window.
 * O(1) state per key, so a limit raised to 100k/min for a load test costs nothing extra.
 */
export interface WindowState {
  /** Start (ms) of the current fixed window. */
  start: number;
  current: number;
  previous: number;
}

export interface Decision {
  allowed: boolean;
  /** 0 when allowed; else ms until one more hit would be allowed. */
  retryAfterMs: number;
  state: WindowState;
}

export const emptyWindow = (): WindowState => ({ start: 0, current: 0, previous: 0 });

/** Moves the state forward to the fixed window that contains `now`. */
export function advance(state: WindowState, now: number, windowMs: number): WindowState {
  const start = now - (now % windowMs);
  if (start === state.start) {
    return state;
  }
  const previous = start - state.start === windowMs ? state.current : 0;
  return { start, current: 0, previous };
}

/** The weighted count of hits in the sliding window ending at `now`. */
export function estimate(state: WindowState, now: number, windowMs: number): number {
  const s = advance(state, now, windowMs);
  const overlap = (windowMs - (now - s.start)) / windowMs;
  return s.previous * overlap + s.current;
}

/** Decides one hit; `record` = false only checks (login-failure gate before bcrypt). */
export function hit(
  state: WindowState,
  now: number,
  limit: number,
  windowMs: number,
  record = true,
): Decision {
  const s = advance(state, now, windowMs);
  const count = estimate(s, now, windowMs);
  if (count + 1 > limit) {
    return { allowed: false, retryAfterMs: retryAfter(s, now, limit, windowMs), state: s };
  }
  return { allowed: true, retryAfterMs: 0, state: record ? { ...s, current: s.current + 1 } : s };
}

/** Earliest time at which the weighted count drops to allow one more hit. */
function retryAfter(s: WindowState, now: number, limit: number, windowMs: number): number {
  const elapsed = now - s.start;
  if (s.current + 1 > limit) {
    // The current window alone is full: wait for it to end, and for the carried-over weight
    // (`current` becomes `previous`) to fade enough.
    const intoNext = s.current > 0 ? Math.ceil(windowMs * (1 - (limit - 1) / s.current)) : 0;
    return windowMs - elapsed + Math.max(0, intoNext);
  }
  // The previous window's weight must shrink: previous * (windowMs - t) / windowMs + current <= limit - 1
  const t = windowMs - ((limit - 1 - s.current) * windowMs) / s.previous;
  return Math.max(1, Math.ceil(t - elapsed));
}
