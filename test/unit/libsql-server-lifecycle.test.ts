import { spawn } from "node:child_process";
import { once } from "node:events";
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LibsqlServer } from "../../scripts/libsql/hrana-server.ts";
import { startLibsqlServer } from "../../scripts/libsql/hrana-server.ts";

// Starting, expiring, stopping and restarting: the server's life around its requests.

const IDLE_MS = 300;
const root = resolve(import.meta.dirname, "../..");

let dir: string;
let server: LibsqlServer;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "libsql-lifecycle-"));
  server = await startLibsqlServer({
    file: join(dir, "idle.db"),
    port: 0,
    idleStreamTimeoutMs: IDLE_MS,
  });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("startLibsqlServer", () => {
  it("refuses to listen on a host that is not a loopback address", async () => {
    for (const host of ["0.0.0.0", "::", "192.168.1.20", "example.com"]) {
      await expect(startLibsqlServer({ file: join(dir, "never.db"), host })).rejects.toThrow(
        /loopback/,
      );
    }
    const local = await startLibsqlServer({ file: join(dir, "local.db"), host: "localhost" });
    expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await local.close();
  });

  it("expires an idle interactive transaction, rolls its writes back and then refuses its baton", async () => {
    const client = createClient({ url: server.url });
    await client.execute("CREATE TABLE IF NOT EXISTS idle (x TEXT)");
    const tx = await client.transaction("write");
    await tx.execute("INSERT INTO idle VALUES ('abandoned')");
    // The raw view of the same refusal, on a second idle stream: HTTP 400 with a JSON error.
    const pipeline = (baton: string | null) =>
      fetch(`${server.url}/v2/pipeline`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ baton, requests: [{ type: "get_autocommit" }] }),
      });
    const opened = (await (await pipeline(null)).json()) as { baton: string };
    await sleep(IDLE_MS * 2);

    await expect(tx.execute("SELECT 1")).rejects.toMatchObject({ code: "STREAM_EXPIRED" });
    const rs = await client.execute("SELECT count(*) AS n FROM idle");
    expect(rs.rows[0]?.n).toBe(0);
    const refused = await pipeline(opened.baton);
    expect(refused.status).toBe(400);
    expect(refused.headers.get("content-type")).toBe("application/json");
    expect(await refused.json()).toMatchObject({ code: "STREAM_EXPIRED" });
    client.close();
  });

  it("keeps data across a restart on the same file, and close() rolls back open transactions", async () => {
    const file = join(dir, "persist.db");
    const first = await startLibsqlServer({ file });
    const a = createClient({ url: first.url });
    await a.execute("CREATE TABLE kept (v TEXT)");
    await a.execute("INSERT INTO kept VALUES ('before restart')");
    const tx = await a.transaction("write");
    await tx.execute("INSERT INTO kept VALUES ('never committed')");
    await first.close();
    a.close();

    const second = await startLibsqlServer({ file });
    const b = createClient({ url: second.url });
    const rs = await b.execute("SELECT v FROM kept");
    expect(rs.rows.map((r) => r.v)).toEqual(["before restart"]);
    b.close();
    await second.close();
  });
});

describe("scripts/libsql-server.ts", () => {
  it("creates the file's folder, prints its URL, serves requests and exits 0 on SIGTERM", async () => {
    const file = join(dir, "nested", "deeper", "cli.db");
    const child = spawn(
      process.execPath,
      [join(root, "scripts/libsql-server.ts"), "--port", "0", "--file", file],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const url = await new Promise<string>((found, failed) => {
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        const match = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout);
        if (match !== null) {
          found(match[0]);
        }
      });
      child.once("exit", (code) => failed(new Error(`CLI exited early (${code}): ${stderr}`)));
    });
    expect(stdout.trim().split("\n")).toHaveLength(1);
    await access(file);

    const client = createClient({ url });
    const rs = await client.execute("SELECT 40 + 2 AS answer");
    expect(rs.rows[0]?.answer).toBe(42);
    client.close();

    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code, signal] = await exited;
    expect({ code, signal, stderr }).toMatchObject({ code: 0, signal: null });
  });
});
