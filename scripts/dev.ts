/**
 * `npm run dev [-- wrangler dev args]`: the whole service on 127.0.0.1 with no account, Docker or
 * global install. Starts the local libSQL server on .data/main.db (unless TURSO_DATABASE_URL is
 * set), applies migrations, then runs `wrangler dev` with the database URL passed as a var.
 * Ctrl-C or SIGTERM stops wrangler (which stops its workerd) and then the libSQL server.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLibsqlServer } from "./libsql/hrana-server.ts";
import { migrateDatabase } from "./migrate.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_LIBSQL_PORT = 18080;

async function startLocalDatabase() {
  const file = join(root, ".data", "main.db");
  const port = Number(process.env.LIBSQL_PORT ?? DEFAULT_LIBSQL_PORT);
  try {
    return await startLibsqlServer({ file, port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") {
      throw err;
    }
    console.log(`[dev] port ${port} is busy; the libSQL server takes a free port instead`);
    return startLibsqlServer({ file, port: 0 });
  }
}

async function main(): Promise<void> {
  const remoteUrl = process.env.TURSO_DATABASE_URL;
  const local = remoteUrl ? null : await startLocalDatabase();
  const dbUrl = remoteUrl ?? local?.url ?? "";
  console.log(
    local ? `[dev] local libSQL server at ${dbUrl} (file .data/main.db)` : `[dev] using ${dbUrl}`,
  );
  await migrateDatabase(dbUrl, process.env.TURSO_AUTH_TOKEN);
  console.log("[dev] migrations applied");

  const args = ["dev", "--var", `TURSO_DATABASE_URL:${dbUrl}`];
  if (process.env.TURSO_AUTH_TOKEN) {
    args.push("--var", `TURSO_AUTH_TOKEN:${process.env.TURSO_AUTH_TOKEN}`);
  }
  args.push(...process.argv.slice(2));
  const wrangler = spawn(
    process.execPath,
    [join(root, "node_modules/wrangler/bin/wrangler.js"), ...args],
    {
      cwd: root,
      stdio: "inherit",
      env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env },
    },
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      return;
    }
    stopping = true;
    // wrangler cleans up its own workerd on SIGTERM; on Ctrl-C the terminal already sent it SIGINT.
    if (wrangler.exitCode === null) {
      wrangler.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
    }
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // If whoever started us goes away without a signal reaching us (a supervisor killed with
  // SIGKILL, a shell that doesn't forward), stop too rather than leave wrangler and workerd behind.
  const parent = process.ppid;
  const watchdog = setInterval(() => {
    if (process.ppid !== parent) {
      stop("SIGTERM");
    }
  }, 500);

  const code = await new Promise<number>((resolve) => {
    wrangler.on("exit", (c, sig) => resolve(c ?? (sig ? 0 : 1)));
  });
  clearInterval(watchdog);
  await local?.close();
  process.exit(stopping ? 0 : code);
}

main().catch((err) => {
  console.error("[dev] failed to start:", err);
  process.exit(1);
});
