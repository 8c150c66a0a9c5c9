import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";

/** Which auth action a per-IP budget is for; each has its own AUTH_RATE_LIMIT budget. */
export type AuthAction = "register" | "login" | "guest" | "refresh" | "invite-accept";

/**
 * The caller's IP as Cloudflare reports it. On Cloudflare the edge always sets (and overwrites)
 * cf-connecting-ip, so clients can't choose it; the local dev server doesn't set it, so there
 * every client shares the one "local" budget (tests set the header to act as several IPs).
 */
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
 * Per-account sign-in attempts: LOGIN_FAILURE_LIMIT per LOGIN_FAILURE_WINDOW_MS. Each attempt
 * takes a slot BEFORE bcrypt runs (so a throttled attacker costs no CPU, and N concurrent
 * guesses can't all slip past a check made before any of them failed); a success clears the
 * slots, so only failures add up. The key is the normalised email whether or not the account
 * exists, so a 429 doesn't reveal which emails are registered.
 *
 * Trade-off (docs/api-decisions.md "Auth"): anyone can lock an account out of password sign-in
 * for up to the window by failing on purpose; sessions already signed in are unaffected.
 */
export function loginAttempts(c: Context<AppEnv>, email: string) {
  const { loginFailureLimit, loginFailureWindowMs } = c.var.services.config;
  const stub = limiter(c, `login:${email}`);
  return {
    async begin(): Promise<void> {
      const d = await stub.take(loginFailureLimit, loginFailureWindowMs);
      if (!d.allowed) {
        throw tooMany(d.retryAfterMs, "Too many failed sign-ins for this account; try again later");
      }
    },
    succeeded: (): Promise<void> => stub.reset(),
  };
}
