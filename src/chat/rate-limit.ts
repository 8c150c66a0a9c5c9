/**
 * Per-user, per-room message rate limit (DESIGN: MESSAGE_RATE_LIMIT per MESSAGE_RATE_WINDOW_MS),
 * an exact sliding window over the user's own timeline changes: sends, edits and deletes of
 * their own messages (room-logic.chargedFor). The stored timeline is the truth, so the limit
 * still binds after the object hibernates or restarts, and WebSocket and HTTP share it;
 * RecentActions keeps each user's newest action times in memory so an action doesn't pay a SQL
 * query for it.
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
 * room gets the same value from RecentActions.
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

/**
 * Each user's newest action times (ascending, at most `limit`, none older than the window), in
 * memory. A user's list is loaded from storage the first time it is needed (after a wake-up or
 * a restart the object starts empty), and every stored action is recorded, so the list always
 * holds the actions that can block: the limit-th newest inside any later window is among them.
 */
export class RecentActions {
  private readonly byUser = new Map<string, number[]>();

  /**
   * @param load the user's action times after `from`, any order, at least the newest `n` of them
   *   (MessageStore.newestActionTimes)
   */
  constructor(
    private readonly policy: RatePolicy,
    private readonly load: (userId: string, from: number, n: number) => number[],
  ) {}

  /** The action that blocks one more at `now` (see blockingSendTime), or null. */
  blocking(userId: string, now: number): number | null {
    const from = windowStart(now, this.policy);
    let times = this.byUser.get(userId);
    if (times === undefined) {
      times = this.load(userId, from, this.policy.limit).sort((a, b) => a - b);
      times.splice(0, Math.max(0, times.length - this.policy.limit));
    }
    const firstInWindow = times.findIndex((t) => t > from);
    times.splice(0, firstInWindow === -1 ? times.length : firstInWindow);
    if (times.length === 0) {
      this.byUser.delete(userId); // a quiet sender costs nothing; reloading finds nothing
      return null;
    }
    this.byUser.set(userId, times);
    return times.length >= this.policy.limit
      ? (times[times.length - this.policy.limit] ?? null)
      : null;
  }

  /** Forgets everything (the room's storage was wiped). */
  clear(): void {
    this.byUser.clear();
  }

  /** An action was stored at `t`. A user with no list yet is left alone: the load will see it. */
  record(userId: string, t: number): void {
    const times = this.byUser.get(userId);
    if (times === undefined) {
      return;
    }
    times.push(t);
    if (times.length > this.policy.limit) {
      times.shift();
    }
  }
}
