import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Applies the drizzle-kit migrations in migrations/ that the database hasn't seen yet
 * (drizzle records applied ones in __drizzle_migrations), so it is safe to run on every start.
 */
export async function migrateDatabase(url: string, authToken?: string): Promise<void> {
  const client = createClient({ url, authToken });
  try {
    await migrate(drizzle(client), { migrationsFolder: join(root, "migrations") });
  } finally {
    client.close();
  }
}
