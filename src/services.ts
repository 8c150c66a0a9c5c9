import type { Client } from "@libsql/client/web";
import { createMiddleware } from "hono/factory";
import { type Config, ConfigError, isLoopbackHost, parseConfig } from "./config";
import { createLibsqlClient, type Db, dbOver } from "./db/client";
import type { AppEnv, Services } from "./env";
import { ApiError } from "./lib/errors";

/**
 * The env's Config, parsed once per env object and host kind. A Worker's env stays the same for
 * its isolate's life; a zod parse of it on every request was ~3.5 KiB of garbage per request
 * (docs/performance.md, finding 3). A bad config isn't kept: it throws on every request.
 */
const parsedConfigs = new WeakMap<object, Map<boolean, Config>>();

function configOf(env: object, local: boolean): Config {
  let byHost = parsedConfigs.get(env);
  if (!byHost) {
    byHost = new Map();
    parsedConfigs.set(env, byHost);
  }
  let config = byHost.get(local);
  if (!config) {
    config = parseConfig(env as Record<string, unknown>, local);
    byHost.set(local, config);
  }
  return config;
}

/**
 * The request's services. The clients are made on first use: a WebSocket upgrade needs only the
 * raw libSQL client, and building drizzle it never uses was garbage on every connect.
 */
function lazyServices(config: Config): Services {
  let libsql: Client | undefined;
  let db: Db | undefined;
  return {
    config,
    now: Date.now,
    get libsql() {
      libsql ??= createLibsqlClient({ url: config.tursoUrl, authToken: config.tursoAuthToken });
      return libsql;
    },
    get db() {
      db ??= dbOver(this.libsql);
      return db;
    },
  };
}

/**
 * Builds services once per request (Unkey's init middleware). A misconfigured deploy answers
 * 503 `unavailable` with the reason, instead of failing deep inside jose or libSQL.
 */
export const servicesMiddleware = createMiddleware<AppEnv>(async (c, next) => {
  const local = isLoopbackHost(new URL(c.req.url).hostname);
  let services: Services;
  try {
    const config = configOf(c.env, local);
    services = lazyServices(config);
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
