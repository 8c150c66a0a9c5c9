import { createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import * as schema from "./schema";

/**
 * The only place that creates a libSQL client. `@libsql/client/web` speaks Hrana over fetch, so
 * the same code reaches Turso in production and the local dev server over HTTP.
 */
export function createDb(url: string, authToken?: string) {
  const client = createClient({ url, authToken });
  return drizzle(client, { schema, casing: "snake_case" });
}

export type Db = ReturnType<typeof createDb>;
