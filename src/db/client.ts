import { type Client, createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";

/**
 * The only place that creates a libSQL client. `@libsql/client/web` speaks Hrana over fetch, so
 * the same code reaches Turso in production and the local dev server over HTTP.
 */
export function createDb(url: string, authToken?: string) {
  return dbOver(createClient({ url, authToken }));
}

/** Drizzle over an existing client (services.ts builds the client first, the db on demand). */
export function dbOver(client: Client) {
  // No `schema` option: it only serves drizzle's relational API (db.query.*), which this code
  // doesn't use, and drizzle would rebuild its relational config on every request.
  return drizzle(client, { casing: "snake_case" });
}

export { createClient as createLibsqlClient };
export type Db = ReturnType<typeof createDb>;
