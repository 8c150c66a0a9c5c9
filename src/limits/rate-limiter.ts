import { DurableObject } from "cloudflare:workers";
import { emptyWindow, hit, type WindowState } from "./sliding-window";

export interface LimitDecision {
  allowed: boolean;
  /** 0 when allowed; else ms until one more request would be allowed. */
  retryAfterMs: number;
}

const KEY = "w";

/**
 * One object per limiter key (`ip:<addr>:<action>`, `login:<email>`): a single writer, so the
 * count is exact across every isolate and location, and it lives in storage, so it survives
 * eviction and restarts. The read-modify-write in `take` is atomic because the object's input
 * gate holds other calls while it awaits its own storage.
 */
export class RateLimiter extends DurableObject<Env> {
  /** Counts one request if it is within `limit` per sliding `windowMs`. */
  async take(limit: number, windowMs: number): Promise<LimitDecision> {
    const now = Date.now();
    const state = (await this.ctx.storage.get<WindowState>(KEY)) ?? emptyWindow();
    const d = hit(state, now, limit, windowMs);
    if (d.allowed) {
      await this.ctx.storage.put(KEY, d.state);
      // Two windows after the last counted request the state is all zeros again: drop it then,
      // so one stored object per IP or email seen doesn't accumulate forever.
      await this.ctx.storage.setAlarm(now + 2 * windowMs);
    }
    return { allowed: d.allowed, retryAfterMs: d.retryAfterMs };
  }

  /** Forgets every counted request (a successful sign-in clears the account's failures). */
  async reset(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
