/**
 * Child process that owns one workerd (wrangler's createTestHarness) for the benchmark, so the
 * bench client's event loop never shares a thread with wrangler's Node side (log capture, the
 * harness's own bookkeeping). Started by server.ts with an IPC channel:
 *
 *   argv[2] = JSON HostOptions
 *   -> {type:"ready", url}                 once listening
 *   <- {id, op:"sql", className, name, sql, params}   -> {id, ok, result | error}
 *   <- {id, op:"close"}                                -> {id, ok} then exit
 *
 * It closes the harness (and so its workerd) and exits when the parent says so, when the IPC
 * channel drops (parent died) and on SIGINT/SIGTERM, so nothing is left behind.
 */
import { createTestHarness } from "wrangler";

export interface HostOptions {
  configPath: string;
  /** output of `wrangler deploy --dry-run --outdir` for this config (skips bundling at start) */
  prebuiltWorkerDir?: string;
  vars?: Record<string, string>;
}

export type HostRequest =
  | { id: number; op: "sql"; className: string; name: string; sql: string; params: unknown[] }
  | { id: number; op: "evict"; className: string; name: string }
  | { id: number; op: "close" };

export type HostReply =
  | { type: "ready"; url: string }
  | { type: "reply"; id: number; ok: true; result?: unknown }
  | { type: "reply"; id: number; ok: false; error: string };

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as HostOptions;
  const harness = createTestHarness({
    workers: [
      {
        configPath: options.configPath,
        vars: options.vars ?? {},
        ...(options.prebuiltWorkerDir ? { prebuiltWorkerDir: options.prebuiltWorkerDir } : {}),
      },
    ],
  });
  let closing: Promise<void> | null = null;
  const shutdown = (code: number) => {
    closing ??= harness
      .close()
      .catch(() => {})
      .then(() => process.exit(code));
    return closing;
  };
  process.on("SIGINT", () => void shutdown(130));
  process.on("SIGTERM", () => void shutdown(143));
  process.on("disconnect", () => void shutdown(0));

  const send = (reply: HostReply) => process.send?.(reply);
  const { url } = await harness.listen();
  process.on("message", async (raw: HostRequest) => {
    if (raw.op === "close") {
      await harness.close().catch(() => {});
      send({ type: "reply", id: raw.id, ok: true });
      process.exit(0);
    }
    try {
      const worker = harness.getWorker();
      if (raw.op === "evict") {
        await worker.evictDurableObject(raw.className, { name: raw.name, webSockets: "close" });
        send({ type: "reply", id: raw.id, ok: true });
        return;
      }
      const storage = await worker.getDurableObjectStorage(raw.className, { name: raw.name });
      const result = await storage.exec(raw.sql, ...raw.params);
      send({ type: "reply", id: raw.id, ok: true, result });
    } catch (err) {
      send({ type: "reply", id: raw.id, ok: false, error: String(err) });
    }
  });
  send({ type: "ready", url: url.href.replace(/\/$/, "") });
}

main().catch((err) => {
  console.error("[bench host] failed:", err);
  process.exit(1);
});
