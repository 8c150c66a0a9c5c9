import { DurableObject } from "cloudflare:workers";
import { type Decision, emptyWindow, hit, type WindowState } from "./sliding-window";

/**
 * One object per limiter key (`ip:<addr>:<bucket>`, `login-fail:<email>`): a single writer, so
 * the count is exact across every isolate, and it lives in storage, so it survives restarts.
 */
export class RateLimiter extends DurableObject<Env> {
  private async load(): Promise<WindowState> {
    return (await this.ctx.storage.get<WindowState>("w")) ?? emptyWindow();
  }

  /** Counts one hit if allowed. */
  async take(limit: number, windowMs: number): Promise<Pick<Decision, "allowed" | "retryAfterMs">> {
    const d = hit(await this.load(), Date.now(), limit, windowMs);
    if (d.allowed) {
      await this.ctx.storage.put("w", d.state);
    }
    return { allowed: d.allowed, retryAfterMs: d.retryAfterMs };
  }

  /** Would one more hit be allowed? Records nothing. */
  async check(
    limit: number,
    windowMs: number,
  ): Promise<Pick<Decision, "allowed" | "retryAfterMs">> {
    const d = hit(await this.load(), Date.now(), limit, windowMs, false);
    return { allowed: d.allowed, retryAfterMs: d.retryAfterMs };
  }

  /** Records one event regardless of the limit (a failed login). */
  async record(windowMs: number): Promise<void> {
    const d = hit(await this.load(), Date.now(), Number.POSITIVE_INFINITY, windowMs);
    await this.ctx.storage.put("w", d.state);
  }

  async reset(): Promise<void> {
    await this.ctx.storage.delete("w");
  }
}
