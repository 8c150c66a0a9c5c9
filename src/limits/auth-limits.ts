import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";

/** Which auth action a per-IP budget is for; each has its own AUTH_RATE_LIMIT budget. */
export type AuthAction = "register" | "login" | "guest" | "refresh" | "invite-accept";

/** The caller's IP as Cloudflare reports it; in local dev/tests every client is one "local" IP. */
export function clientIp(c: Context<AppEnv>): string {
  return c.req.header("cf-connecting-ip") ?? "local";
}

function limiter(c: Context<AppEnv>, key: string) {
  return c.env.RATE_LIMITER.getByName(key);
}

const tooMany = (retryAfterMs: number, message: string) =>
  new ApiError({ code: "rate_limited", message, retryAfterMs });

/** AUTH_RATE_LIMIT requests per AUTH_RATE_WINDOW_MS per IP and action; 429 + Retry-After above. */
export async function enforceIpLimit(c: Context<AppEnv>, action: AuthAction): Promise<void> {
  const { authRateLimit, authRateWindowMs } = c.var.services.config;
  const d = await limiter(c, `ip:${clientIp(c)}:${action}`).take(authRateLimit, authRateWindowMs);
  if (!d.allowed) {
    throw tooMany(d.retryAfterMs, "Too many requests from this address; slow down");
  }
}

/**
 * Per-account login failures: checked BEFORE bcrypt (a throttled attacker costs no CPU), counted
 * after a failure, cleared by a success. The key is the normalised email, known or not, so the
 * answer doesn't reveal whether an account exists.
 */
export function loginFailures(c: Context<AppEnv>, email: string) {
  const { loginFailureLimit, loginFailureWindowMs } = c.var.services.config;
  const stub = limiter(c, `login-fail:${email}`);
  return {
    async gate(): Promise<void> {
      const d = await stub.check(loginFailureLimit, loginFailureWindowMs);
      if (!d.allowed) {
        throw tooMany(d.retryAfterMs, "Too many failed sign-ins for this account; try again later");
      }
    },
    fail: () => stub.record(loginFailureWindowMs),
    succeed: () => stub.reset(),
  };
}
