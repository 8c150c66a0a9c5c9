import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { TestProject } from "vitest/node";
import { startLibsqlServer } from "../../scripts/libsql/hrana-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    libsqlUrl: string;
    workerDir: string;
  }
}

const root = resolve(import.meta.dirname, "../..");

/** Builds the Worker bundle once, as `npm run build` does, so every test file starts it fast. */
async function buildWorker(outdir: string): Promise<void> {
  const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
  await new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outdir], {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("exit", (code) =>
      code === 0 ? done() : fail(new Error(`wrangler build failed (${code}):\n${output}`)),
    );
  });
}

/**
 * One real libSQL server (Hrana over HTTP, on a temp file) for the whole run, migrated with the
 * project's drizzle migrations. Tests never reset it: each builds its own users and rooms.
 */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "chat-it-"));
  const server = await startLibsqlServer({ file: join(dir, "test.db") });
  const client = createClient({ url: server.url });
  await migrate(drizzle(client), { migrationsFolder: join(root, "migrations") });
  client.close();
  const workerDir = join(dir, "worker");
  await buildWorker(workerDir);
  project.provide("libsqlUrl", server.url);
  project.provide("workerDir", workerDir);
  return async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  };
}
