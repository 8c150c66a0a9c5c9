/**
 * Local libSQL server for development: `npm run libsql` or
 * `node scripts/libsql-server.ts [--port 18080] [--file .data/main.db]`.
 * Loopback only, no authentication; see docs/libsql-server.md.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { startLibsqlServer } from "./libsql/hrana-server.ts";

const USAGE = `Usage: node scripts/libsql-server.ts [options]

Serves a SQLite file over Hrana/HTTP for @libsql/client, on loopback only.

  --port <n>             port to listen on, 0 for any free one (default 18080)
  --file <path>          database file, created with its folder (default .data/main.db)
  --host <addr>          loopback address to bind (default 127.0.0.1)
  --idle-timeout-ms <n>  roll back and close streams idle this long (default 10000)
  -h, --help             show this help
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function integer(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    fail(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

async function main(): Promise<void> {
  let values: {
    port: string;
    file: string;
    host: string;
    "idle-timeout-ms": string;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string", default: "18080" },
        file: { type: "string", default: ".data/main.db" },
        host: { type: "string", default: "127.0.0.1" },
        "idle-timeout-ms": { type: "string", default: "10000" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return;
  }

  const server = await startLibsqlServer({
    file: values.file,
    host: values.host,
    port: integer(values.port, "port", 0, 65535),
    idleStreamTimeoutMs: integer(values["idle-timeout-ms"], "idle-timeout-ms", 1, 86_400_000),
    log: (line) => process.stderr.write(`[libsql] ${line}\n`),
  });
  // The one line on stdout: scripts wait for it and take the URL from it.
  process.stdout.write(`libSQL dev server listening on ${server.url} (file: ${values.file})\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      return;
    }
    stopping = true;
    process.stderr.write(`[libsql] ${signal}: rolling back open streams and closing\n`);
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`[libsql] close failed: ${e instanceof Error ? e.message : e}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`libsql-server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
