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
  db: Db;
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
