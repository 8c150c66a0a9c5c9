/**
 * Probe: how much live JavaScript heap an idle socket holds, in the service and in the ceiling.
 * The bench's "memory per idle socket" is workerd's RSS, a high-water mark of all the work done
 * per connection (docs/performance.md, "Memory only grows"); this asks the isolate itself. Each
 * target runs under wrangler's dev server (`unstable_startWorker`, as `wrangler dev` does, with
 * its inspector open: the bench's test harness has none), N members connect to one room, and
 * after a full GC (`HeapProfiler.collectGarbage`) `Runtime.getHeapUsage` reports the heap the
 * Worker and its room objects still use. Printed at 1 socket, then at each count.
 *
 *   node scripts/bench/live-heap.ts [counts=1000,3000]
 */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { unstable_startWorker } from "wrangler";
import { type Client, closeClients, openClients, waitQuiet } from "./driver.ts";
import { openInspector } from "./inspector.ts";
import { CeilingRooms, type RoomAccess, ServiceRooms } from "./rooms.ts";
import {
  removeOnStop,
  root,
  startLibsql,
  stopAll,
  type Target,
  type TargetKind,
  useServiceConfigWithoutAssets,
} from "./server.ts";

const counts = (process.argv[2] ?? "1000,3000").split(",").map(Number);
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
process.env.WRANGLER_SEND_METRICS = "false";
process.env.X_LOCAL_OBSERVABILITY = "false"; // as the bench runs (server.ts childEnv)

/** The isolate's heap after two full collections, through the inspector (bytes). */
async function liveHeap(inspectorUrl: URL, poke: string): Promise<number> {
  const session = await openInspector(inspectorUrl, poke);
  try {
    await session.collectGarbage();
    return await session.heapUsed();
  } finally {
    session.close();
  }
}

async function probe(kind: TargetKind, configPath: string, vars: Record<string, string>) {
  const worker = await unstable_startWorker({
    config: configPath,
    bindings: Object.fromEntries(
      Object.entries(vars).map(([k, value]) => [k, { type: "plain_text", value }]),
    ),
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: { hostname: "127.0.0.1", port: 0 },
      logLevel: "none",
      watch: false,
      persist: false,
    },
  } as never);
  running = worker;
  const clients: Client[] = [];
  try {
    await worker.ready;
    const url = String(await worker.url).replace(/\/$/, "");
    const inspector = await worker.inspectorUrl;
    if (!inspector) {
      throw new Error("wrangler opened no inspector");
    }
    const target = { kind, url, wsUrl: url.replace(/^http/, "ws") } as Target;
    const rooms: RoomAccess =
      kind === "service" ? new ServiceRooms(target) : new CeilingRooms(target);
    const max = Math.max(...counts);
    await rooms.prepareUsers(max + 1);
    const roomId = await rooms.createRoom("live-heap");
    const endpoints = await rooms.members(roomId, max + 1);
    clients.push(...(await openClients(endpoints.slice(0, 1), 1)).clients);
    const poke = `${url}/not-a-route`;
    const base = await liveHeap(inspector, poke);
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(`${kind}: 1 socket, live heap ${mib(base)} MiB`);
    let have = 0;
    for (const n of counts) {
      const opened = await openClients(endpoints.slice(1 + have, 1 + n), 50, 120_000);
      clients.push(...opened.clients);
      have = n;
      await waitQuiet(clients, 300, 60_000);
      const ready = clients.filter((c) => c.ready).length - 1;
      const used = await liveHeap(inspector, poke);
      console.log(
        `${kind}: ${ready}/${n} more sockets, live heap ${mib(used)} MiB, ${((used - base) / Math.max(1, ready) / 1024).toFixed(2)} KiB per socket`,
      );
    }
  } finally {
    await closeClients(clients, 20_000);
    await worker.dispose();
    running = null;
  }
}

/** The worker being probed: Ctrl-C stops it (and its workerd) as well as the libSQL child. */
let running: { dispose(): Promise<void> } | null = null;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.allSettled([running?.dispose(), stopAll()]).then(() => process.exit(130));
  });
}

const dir = mkdtempSync(join("/dev/shm", "live-heap-"));
removeOnStop(dir);
try {
  const libsql = await startLibsql(join(dir, "live-heap.db"));
  await probe("ceiling", join(root, "bench/ceiling/wrangler.toml"), {});
  await probe("service", useServiceConfigWithoutAssets(dir), {
    TURSO_DATABASE_URL: libsql.url,
    BCRYPT_COST: "4",
    AUTH_RATE_LIMIT: "1000000",
    MESSAGE_RATE_LIMIT: "1000000",
    PRESENCE_GRACE_MS: "600000",
  });
} finally {
  await stopAll();
}
