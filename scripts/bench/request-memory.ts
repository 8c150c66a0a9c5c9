/**
 * Probe: how much resident memory local workerd keeps per HTTP request, with no sockets and no
 * storage involved. Starts the bench's ceiling Worker (bench/ceiling) and sends N requests to a
 * path its Worker answers with a bare 404, 20 at a time, printing workerd's RSS and V8 heap every
 * 1,000. docs/performance.md uses it to explain why "memory per idle socket" grows with the work
 * done per connection rather than with what a socket holds.
 *
 *   node scripts/bench/request-memory.ts [requests=10000]
 */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { rssBytes, v8HeapBytes } from "./procfs.ts";
import { buildTarget, removeOnStop, startTarget, stopAll } from "./server.ts";

const total = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(join("/dev/shm", "request-memory-"));
removeOnStop(dir);
try {
  const target = await startTarget(
    "ceiling",
    {},
    dir,
    await buildTarget("ceiling", join(dir, "b")),
  );
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const rss0 = rssBytes(target.workerdPids);
  console.log(`start: RSS ${mib(rss0)} MiB, V8 heap ${mib(v8HeapBytes(target.workerdPids))} MiB`);
  let sent = 0;
  while (sent < total) {
    const batch = Math.min(1000, total - sent);
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next++ < batch) {
          await (await fetch(`${target.url}/not-a-route`)).arrayBuffer();
        }
      }),
    );
    sent += batch;
    const rss = rssBytes(target.workerdPids);
    console.log(
      `${sent} requests: RSS ${mib(rss)} MiB (+${((rss - rss0) / sent / 1024).toFixed(1)} KiB/request), V8 heap ${mib(v8HeapBytes(target.workerdPids))} MiB`,
    );
  }
} finally {
  await stopAll();
}
