import * as z from "zod";

/**
 * Built-in secrets for local development only. They are accepted only when the request reaches
 * the Worker on a loopback host (wrangler dev, tests); a deployed Worker is never addressed as
 * 127.0.0.1/localhost, so a deploy that forgot `wrangler secret put JWT_SECRET` refuses to serve
 * (503) instead of signing tokens with a public key.
 */
export const DEV_JWT_SECRET = "dev-only-jwt-secret-do-not-use-in-production-0123456789";
export const DEV_PASSWORD_PEPPER = "dev-only-password-pepper-do-not-use-in-production";

/** An unset-or-empty optional var (wrangler and .dev.vars write unset values as ""). */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const intVar = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

/** Everything the app reads from the Worker env, checked once (STYLE rule 4). */
export const configSchema = z.object({
  TURSO_DATABASE_URL: z
    .string({ error: "is not set (the libSQL/Turso database URL)" })
    .min(1, "is not set (the libSQL/Turso database URL)"),
  TURSO_AUTH_TOKEN: optional(z.string()),
  // HS256 with a short secret can be brute-forced offline from any token (AUTH-9).
  JWT_SECRET: optional(z.string().min(32, "must be at least 32 characters")),
  PASSWORD_PEPPER: optional(z.string().min(16, "must be at least 16 characters")),
  BCRYPT_COST: intVar(10, 4, 15),
  ALLOWED_ORIGINS: z.string().default(""),
  PUBLIC_URL: z.string().default(""),
  AUTH_RATE_LIMIT: intVar(20, 1, 1_000_000),
  AUTH_RATE_WINDOW_MS: intVar(60_000, 1000, 86_400_000),
  LOGIN_FAILURE_LIMIT: intVar(10, 1, 1_000_000),
  LOGIN_FAILURE_WINDOW_MS: intVar(900_000, 1000, 86_400_000),
  MESSAGE_RATE_LIMIT: intVar(5, 1, 1_000_000),
  MESSAGE_RATE_WINDOW_MS: intVar(10_000, 100, 86_400_000),
  PRESENCE_GRACE_MS: intVar(15_000, 0, 3_600_000),
  // The big-room threshold: up to it online, a `ready` frame lists everyone (you included); 2000
  // keeps that far below the 1 MiB frame limit with the longest names. docs/protocol.md "Presence".
  READY_ONLINE_LIMIT: intVar(100, 1, 2000),
});

export interface Config {
  tursoUrl: string;
  tursoAuthToken: string | undefined;
  jwtSecret: string;
  passwordPepper: string;
  bcryptCost: number;
  allowedOrigins: string[];
  publicUrl: string;
  authRateLimit: number;
  authRateWindowMs: number;
  loginFailureLimit: number;
  loginFailureWindowMs: number;
  messageRateLimit: number;
  messageRateWindowMs: number;
  presenceGraceMs: number;
  readyOnlineLimit: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parses the env into a Config. `local` says whether this request came in on a loopback host,
 * which is what allows the dev secrets.
 */
export function parseConfig(env: Record<string, unknown>, local: boolean): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError(first ? `${first.path.join(".")}: ${first.message}` : "invalid config");
  }
  const v = parsed.data;
  const jwtSecret = v.JWT_SECRET ?? (local ? DEV_JWT_SECRET : undefined);
  const passwordPepper = v.PASSWORD_PEPPER ?? (local ? DEV_PASSWORD_PEPPER : undefined);
  if (!jwtSecret || (!local && jwtSecret === DEV_JWT_SECRET)) {
    throw new ConfigError("JWT_SECRET is not set (wrangler secret put JWT_SECRET)");
  }
  if (!passwordPepper || (!local && passwordPepper === DEV_PASSWORD_PEPPER)) {
    throw new ConfigError("PASSWORD_PEPPER is not set (wrangler secret put PASSWORD_PEPPER)");
  }
  return {
    tursoUrl: v.TURSO_DATABASE_URL,
    tursoAuthToken: v.TURSO_AUTH_TOKEN || undefined,
    jwtSecret,
    passwordPepper,
    bcryptCost: v.BCRYPT_COST,
    allowedOrigins: v.ALLOWED_ORIGINS.split(",")
      .map((o) => o.trim())
      .filter((o) => o.length > 0),
    publicUrl: v.PUBLIC_URL.replace(/\/+$/, ""),
    authRateLimit: v.AUTH_RATE_LIMIT,
    authRateWindowMs: v.AUTH_RATE_WINDOW_MS,
    loginFailureLimit: v.LOGIN_FAILURE_LIMIT,
    loginFailureWindowMs: v.LOGIN_FAILURE_WINDOW_MS,
    messageRateLimit: v.MESSAGE_RATE_LIMIT,
    messageRateWindowMs: v.MESSAGE_RATE_WINDOW_MS,
    presenceGraceMs: v.PRESENCE_GRACE_MS,
    readyOnlineLimit: v.READY_ONLINE_LIMIT,
  };
}

export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname === "[::1]" ||
    hostname === "::1" ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  );
}
