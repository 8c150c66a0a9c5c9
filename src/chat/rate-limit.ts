/**
 * Per-user, per-room message rate limit (DESIGN: MESSAGE_RATE_LIMIT per MESSAGE_RATE_WINDOW_MS),
 * an exact sliding window over the sender's own stored messages. Nothing lives in memory: the
 * room asks its SQLite for one number (see blockingSendTime), so the limit still binds after the
 * object hibernates or restarts, and WebSocket and HTTP sends share it.
 */
export interface RatePolicy {
  limit: number;
  windowMs: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Sends count while their time t > now - windowMs: the window is half-open. */
export const windowStart = (now: number, policy: RatePolicy): number => now - policy.windowMs;

/**
 * The send that blocks a new one: among the user's sends inside the window, the limit-th newest
 * (null when there are fewer than `limit`). `recent` is any list of the user's send times; the
 * room computes the same value in SQL (MessageStore.nthNewestSendSince) so it never loads rows.
 */
export function blockingSendTime(
  recent: readonly number[],
  now: number,
  policy: RatePolicy,
): number | null {
  const from = windowStart(now, policy);
  const inWindow = recent.filter((t) => t > from).sort((a, b) => b - a);
  return inWindow[policy.limit - 1] ?? null;
}

/**
 * Decides whether one more send is allowed at `now`. When the window is full, the answer says how
 * long until the blocking send leaves it; waiting that long always makes room for one more.
 */
export function checkRate(blocking: number | null, now: number, policy: RatePolicy): RateDecision {
  if (blocking === null) {
    return { allowed: true };
  }
  return { allowed: false, retryAfterMs: Math.max(1, blocking + policy.windowMs - now) };
}
