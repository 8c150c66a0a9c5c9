import type { Client } from "@libsql/client/web";
import type { Config } from "./config";
import type { Db } from "./db/client";

/** Secrets and secret-like settings: not in wrangler.toml [vars], so `wrangler types` can't see them. */
export interface SecretsEnv {
  TURSO_DATABASE_URL?: string;
  TURSO_AUTH_TOKEN?: string;
  JWT_SECRET?: string;
  PASSWORD_PEPPER?: string;
}

export type Bindings = Env & SecretsEnv;

/** What requireAuth establishes for the rest of the request. */
export interface AuthUser {
  id: string;
  sessionId: string;
  email: string | null;
  displayName: string;
  isGuest: boolean;
}

export interface Services {
  config: Config;
  /** Made on first use, over `libsql`: a WebSocket upgrade reads through `libsql` only. */
  db: Db;
  /** The raw libSQL client, made on first use, for the hot reads that skip drizzle. */
  libsql: Client;
  now: () => number;
}

/** The only Hono generic in the codebase (STYLE rule 4). */
export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    services: Services;
    user: AuthUser;
  };
}
