/**
 * Child process running the project's local libSQL server (scripts/libsql/hrana-server.ts) on a
 * temporary file, migrated with the project's migrations, for the benchmark's service target.
 * It runs in its own process so its work (auth and membership lookups during joins) does not
 * share the bench client's event loop, and so its CPU can be measured on its own.
 *
 *   argv[2] = database file
 *   -> {type:"ready", url}
 * Exits when the parent disconnects or on SIGINT/SIGTERM, closing the server first.
 */
import { startLibsqlServer } from "../libsql/hrana-server.ts";
import { migrateDatabase } from "../migrate.ts";

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) {
    throw new Error("usage: libsql-host.ts <database file>");
  }
  const server = await startLibsqlServer({ file, host: "127.0.0.1", port: 0 });
  let closing = false;
  const shutdown = (code: number) => {
    if (closing) {
      return;
    }
    closing = true;
    void server
      .close()
      .catch(() => {})
      .then(() => process.exit(code));
  };
  process.on("SIGINT", () => shutdown(130));
  process.on("SIGTERM", () => shutdown(143));
  process.on("disconnect", () => shutdown(0));
  await migrateDatabase(server.url);
  process.send?.({ type: "ready", url: server.url });
}

main().catch((err) => {
  console.error("[bench libsql] failed:", err);
  process.exit(1);
});
