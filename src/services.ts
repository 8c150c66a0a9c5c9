import { createMiddleware } from "hono/factory";
import { ConfigError, isLoopbackHost, parseConfig } from "./config";
import { createDb } from "./db/client";
import type { AppEnv, Services } from "./env";
import { ApiError } from "./lib/errors";

/**
 * Builds config + db once per request (Unkey's init middleware). A misconfigured deploy answers
 * 503 `unavailable` with the reason, instead of failing deep inside jose or libSQL.
 */
export const servicesMiddleware = createMiddleware<AppEnv>(async (c, next) => {
  const local = isLoopbackHost(new URL(c.req.url).hostname);
  let services: Services;
  try {
    const config = parseConfig(c.env as unknown as Record<string, unknown>, local);
    services = { config, db: createDb(config.tursoUrl, config.tursoAuthToken), now: Date.now };
  } catch (err) {
    if (err instanceof ConfigError) {
      // The reason names the missing setting (never its value), so an operator can fix it.
      throw new ApiError({
        code: "unavailable",
        message: `Server misconfigured: ${err.message}`,
        retryAfterMs: 60_000,
      });
    }
    throw err;
  }
  c.set("services", services);
  await next();
});
