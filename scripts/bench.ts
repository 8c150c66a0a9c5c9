/**
 * `npm run bench [-- options]`: the speed benchmark of issue 3 (docs/performance.md).
 *
 * Starts the real service (wrangler's test harness: workerd + the project's libSQL server) and
 * the minimal "ceiling" room of bench/ceiling on the same workerd, drives both with the same
 * client (one Node process, `ws`), and reports every figure as a ratio to the ceiling measured
 * in the same run. Both targets run side by side and take turns (the fixed-rate fan-out point
 * alternates in short slots), so drift on a shared machine hits both alike. Each run starts
 * fresh processes for each group of scenarios; the figures are medians over the runs.
 * Everything listens on 127.0.0.1 and everything started is stopped at the end (also on Ctrl-C).
 * Exits 1 if any run saw a lost, duplicated or out-of-order delivery (or a scenario failed),
 * 0 otherwise; with --strict, also when a target is missed.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { availableParallelism, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mergeSteps } from "./bench/load.ts";
import { machineInfo, waitForQuietMachine } from "./bench/procfs.ts";
import { startRawTarget } from "./bench/raw-workerd.ts";
import { figures, printTable, type RunResult, type TargetRun, writeJson } from "./bench/report.ts";
import { CeilingRooms, type RoomAccess, ServiceRooms } from "./bench/rooms.ts";
import {
  addIntegrity,
  emptyIntegrity,
  type FanoutOptions,
  FanoutSession,
  type HistoryOptions,
  HistorySession,
  idle,
  joinOnce,
  QUIET_CORES,
  warmJoins,
} from "./bench/scenarios.ts";
import {
  buildTarget,
  childEnv,
  configPathOf,
  type LibsqlProcess,
  removeOnStop,
  root,
  startLibsql,
  startTarget,
  stopAll,
  type Target,
  type TargetKind,
  trackChild,
  useServiceConfigWithoutAssets,
} from "./bench/server.ts";

const USAGE = `Usage: npm run bench -- [options]

  --quick              one run, shorter steps
  --runs <n>           measured runs; figures are medians (default 3)
  --only <list>        scenarios: fanout,history,joins,idle (default all)
  --targets <list>     ceiling,service (default both; ratios need both)
  --room-size <n>      fan-out room size (default 100)
  --senders <n>        fan-out senders (default 10)
  --fixed-rate <n>     the fixed comparison point, deliveries/s (default 10000)
  --step-ms <n>        duration of one step of the sustainable-rate search (default 1500)
  --max-rate <n>       highest rate the search tries (default 400000; 0 = fixed point only)
  --idle <list>        idle socket counts (default 1000,3000); measured under a bare workerd
                       (the figure), again under wrangler's test harness, and at the largest
                       count once more after a full GC (a bare workerd with its inspector open)
  --joins <list>       join sizes (default 250,1000)
  --history <a,b>      history room sizes (default 1000,100000)
  --rate-window-ms <n> MESSAGE_RATE_WINDOW_MS for the service (default 10000, the product default)
  --deadline-ms <n>    joins and idle: stop opening sockets after this long (default 60000)
  --with-assets        run the service with wrangler.toml's [assets] front as is (by default the
                       bench leaves it out: locally it is an extra worker in the same workerd
                       process, in production it is not in the Worker's isolate)
  --disk               keep Durable Object storage and libSQL on disk (the OS temp dir) instead
                       of tmpfs (/dev/shm): adds the VM disk's fsync latency to every message
  --out <dir>          where the JSON goes (default bench-results/)
  --strict             also exit 1 when a target is missed
  -h, --help
`;

const SCENARIOS = ["fanout", "history", "joins", "idle"] as const;
type Scenario = (typeof SCENARIOS)[number];

function list(s: string): number[] {
  return s
    .split(",")
    .map((x) => Number(x.trim()))
    .filter((x) => Number.isFinite(x) && x > 0);
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      only: { type: "string", default: SCENARIOS.join(",") },
      targets: { type: "string", default: "ceiling,service" },
      "room-size": { type: "string", default: "100" },
      senders: { type: "string", default: "10" },
      "fixed-rate": { type: "string", default: "10000" },
      "step-ms": { type: "string" },
      "max-rate": { type: "string", default: "400000" },
      idle: { type: "string", default: "1000,3000" },
      joins: { type: "string", default: "250,1000" },
      history: { type: "string", default: "1000,100000" },
      "rate-window-ms": { type: "string", default: "10000" },
      "deadline-ms": { type: "string", default: "60000" },
      disk: { type: "boolean", default: false },
      "with-assets": { type: "boolean", default: false },
      out: { type: "string", default: join(root, "bench-results") },
      strict: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const only = new Set(values.only.split(",").map((s) => s.trim()) as Scenario[]);
  for (const s of only) {
    if (!SCENARIOS.includes(s)) {
      throw new Error(`unknown scenario ${s} (known: ${SCENARIOS.join(", ")})`);
    }
  }
  const targets = values.targets.split(",").map((s) => s.trim()) as TargetKind[];
  for (const t of targets) {
    if (t !== "service" && t !== "ceiling") {
      throw new Error(`unknown target ${t} (known: ceiling, service)`);
    }
  }
  const [historySmall = 1000, historyLarge = 100_000] = list(values.history);
  const fixedRate = Number(values["fixed-rate"]);
  const fan: FanoutOptions = {
    roomSize: Number(values["room-size"]),
    senders: Number(values.senders),
    fixedRate,
    fixedMs: 1500,
    fixedSlots: quick ? 2 : 3,
    warmupMs: 2000,
    stepMs: Number(values["step-ms"] ?? 1500),
    startRate: fixedRate * 2,
    growth: 1.35,
    maxRate: Number(values["max-rate"]),
    bisections: quick ? 2 : 3,
    p99LimitMs: 100,
  };
  const hist: HistoryOptions = {
    small: historySmall,
    large: historyLarge,
    requests: quick ? 80 : 120,
    warmup: 20,
    limit: 50,
  };
  return {
    runs: Number(values.runs ?? (quick ? 1 : 3)),
    quick,
    only,
    targets,
    fan,
    hist,
    idleCounts: list(values.idle),
    joinSizes: list(values.joins),
    rateWindowMs: values["rate-window-ms"],
    deadlineMs: Number(values["deadline-ms"]),
    disk: values.disk,
    withAssets: values["with-assets"],
    out: values.out,
    strict: values.strict,
  };
}

type Options = ReturnType<typeof parseOptions>;

const log = (line: string) => process.stdout.write(`${line}\n`);

function serviceVars(dbUrl: string, o: Options): Record<string, string> {
  return {
    TURSO_DATABASE_URL: dbUrl,
    BCRYPT_COST: "4",
    AUTH_RATE_LIMIT: "1000000",
    MESSAGE_RATE_LIMIT: "1000000",
    MESSAGE_RATE_WINDOW_MS: o.rateWindowMs,
    // Closing thousands of sockets at the end of one scenario must not put offline processing
    // (and last_seen writes) inside the next scenario's measurement window.
    PRESENCE_GRACE_MS: "600000",
  };
}

interface Side {
  kind: TargetKind;
  target: Target;
  rooms: RoomAccess;
  result: TargetRun;
}

/** Everything one bench invocation shares across runs: folders, builds, libSQL, the users. */
interface Bench {
  o: Options;
  dir: string;
  builds: Map<TargetKind, string>;
  libsql: LibsqlProcess | null;
  serviceRooms: ServiceRooms | null;
  ceilingRooms: CeilingRooms | null;
  /** each target's best sustainable rate in earlier runs: where the next search starts */
  sustainable: Map<TargetKind, number>;
}

/**
 * Where a group's targets run: wrangler's test harness (as the integration tests do; it can seed
 * and evict Durable Objects), or a bare workerd (raw-workerd.ts: no local tooling in the process),
 * optionally with its inspector open (for a forced GC; not for the figures: it costs memory).
 */
type Runtime = "harness" | "workerd" | "workerd-inspect";

/** Starts fresh processes for every target (side by side) and hands them to `fn`. */
async function withTargets(
  b: Bench,
  results: Map<TargetKind, TargetRun>,
  fn: (sides: Side[]) => Promise<void>,
  runtime: Runtime,
): Promise<void> {
  const o = b.o;
  const started = await Promise.allSettled(
    o.targets.map((kind) =>
      runtime !== "harness"
        ? startRawTarget(
            kind,
            configPathOf(kind),
            b.builds.get(kind) as string,
            kind === "service" && b.libsql ? serviceVars(b.libsql.url, o) : {},
            mkdtempSync(join(b.dir, `raw-${kind}-`)),
            childEnv,
            (c) => trackChild(c, true),
            runtime === "workerd-inspect",
          )
        : startTarget(
            kind,
            kind === "service" && b.libsql ? serviceVars(b.libsql.url, o) : {},
            b.dir,
            b.builds.get(kind),
          ),
    ),
  );
  const targets = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === "rejected");
    if (failed) {
      throw failed.reason;
    }
    const sides: Side[] = [];
    for (const target of targets) {
      if (!target.direct) {
        log(
          `  (${target.kind}: no own port found for the user worker: going through wrangler's proxy)`,
        );
      }
      let rooms: RoomAccess;
      if (target.kind === "service") {
        b.serviceRooms ??= new ServiceRooms(target);
        b.serviceRooms.retarget(target);
        rooms = b.serviceRooms;
      } else {
        b.ceilingRooms ??= new CeilingRooms(target);
        b.ceilingRooms.retarget(target);
        rooms = b.ceilingRooms;
      }
      const result = results.get(target.kind) as TargetRun;
      sides.push({ kind: target.kind, target, rooms, result });
    }
    await fn(sides);
  } finally {
    await Promise.all(targets.map((t) => t.close()));
  }
}

/** Runs `fn`; a failure is recorded against the side (or every side) and the bench goes on. */
async function guard(sides: Side[], what: string, fn: () => Promise<void>): Promise<void> {
  try {
    const other = await waitForQuietMachine(QUIET_CORES, 30_000);
    if (other >= QUIET_CORES) {
      log(`  (machine still busy before ${what}: others use ${other.toFixed(2)} cores)`);
    }
    await fn();
  } catch (err) {
    const msg = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    log(`  ERROR ${msg}`);
    for (const s of sides) {
      s.result.failures.push(msg);
    }
  }
}

async function fanoutAndHistory(b: Bench, sides: Side[], run: number): Promise<void> {
  const o = b.o;
  if (o.only.has("fanout")) {
    const sessions = new Map<Side, FanoutSession>();
    try {
      for (const side of sides) {
        await guard([side], `${side.kind} fan-out connect`, async () => {
          sessions.set(side, await FanoutSession.open(side.target, side.rooms, o.fan, log));
        });
      }
      const live = sides.filter((s) => sessions.has(s));
      // Warm-up, then the fixed point in alternating slots (ABBA...), then each search.
      for (const side of live) {
        await guard([side], `${side.kind} fan-out warm-up`, () =>
          (sessions.get(side) as FanoutSession).warm(),
        );
      }
      for (let slot = 0; slot < o.fan.fixedSlots; slot++) {
        const order = (slot + run) % 2 === 0 ? live : [...live].reverse();
        for (const side of order) {
          await guard([side], `${side.kind} fan-out fixed point`, async () => {
            await (sessions.get(side) as FanoutSession).fixedSlot();
          });
        }
      }
      for (const side of run % 2 === 1 ? live : [...live].reverse()) {
        const session = sessions.get(side) as FanoutSession;
        if (session.fixedSlots.length === 0) {
          continue;
        }
        await guard([side], `${side.kind} fan-out search`, async () => {
          const hint = b.sustainable.get(side.kind);
          const search = o.fan.maxRate > 0 ? await session.search(hint) : null;
          if (search && search.sustainable > (hint ?? 0)) {
            b.sustainable.set(side.kind, search.sustainable);
          }
          side.result.fanout = {
            connectMs: session.connectMs,
            fixed: mergeSteps(session.fixedSlots),
            fixedSlots: session.fixedSlots,
            steps: search?.steps ?? [],
            sustainable: search?.sustainable ?? Number.NaN,
            sustainableStep: search?.best ?? null,
            integrity: emptyIntegrity(),
          };
        });
      }
    } finally {
      for (const [side, session] of sessions) {
        const integrity = await session.close();
        addIntegrity(side.result.integrity, integrity);
        if (side.result.fanout) {
          side.result.fanout.integrity = integrity;
        }
      }
    }
  }
  if (o.only.has("history")) {
    const sessions = new Map<Side, HistorySession>();
    for (const side of sides) {
      await guard([side], `${side.kind} history seeding`, async () => {
        sessions.set(side, await HistorySession.prepare(side.rooms, o.hist));
      });
    }
    for (let round = 0; round < 2; round++) {
      for (const [side, session] of sessions) {
        await guard([side], `${side.kind} history`, () => session.round());
      }
    }
    for (const [side, session] of sessions) {
      side.result.history = session.result(log, side.kind);
    }
  }
}

async function joinsGroup(b: Bench, sides: Side[], run: number): Promise<void> {
  for (const side of sides) {
    await guard([side], `${side.kind} joins warm-up`, () => warmJoins(side.rooms));
  }
  for (const n of b.o.joinSizes) {
    for (const side of run % 2 === 1 ? sides : [...sides].reverse()) {
      await guard([side], `${side.kind} joins ${n}`, async () => {
        const r = await joinOnce(side.rooms, n, 100, b.o.deadlineMs, log);
        side.result.joins = [...(side.result.joins ?? []), r];
      });
    }
  }
}

/**
 * Idle sockets, stored as `idle` (under a bare workerd: the figure the target is about), as
 * `idleHarness` (under wrangler's test harness, with its local tooling in the same process) or
 * as `idleGc` (a bare workerd with its inspector open, measured again after a full GC).
 */
const idleGroup =
  (key: "idle" | "idleHarness" | "idleGc") =>
  async (b: Bench, sides: Side[], run: number): Promise<void> => {
    // The GC pass needs only the largest count: its figure is taken there.
    const counts = key === "idleGc" ? [Math.max(...b.o.idleCounts)] : b.o.idleCounts;
    for (const side of run % 2 === 1 ? sides : [...sides].reverse()) {
      await guard([side], `${side.kind} idle`, async () => {
        const r = await idle(side.target, side.rooms, counts, 1000, b.o.deadlineMs, log);
        side.result[key] = r;
        addIntegrity(side.result.integrity, r.integrity);
        const connected = Math.max(0, ...r.perSocket.map((p) => p.ready)) + 1;
        if (r.live < connected) {
          // A connected socket that missed the final broadcast is a lost delivery.
          side.result.integrity.lost += connected - r.live;
        }
      });
    }
  };

/**
 * Before run 1, in a service process of its own: the guest users, the rooms and their
 * memberships (all over HTTP). Every run then reuses them (ServiceRooms keeps rooms by label),
 * so no run measures a process whose heap just served thousands of setup requests.
 */
async function setupService(b: Bench): Promise<void> {
  const o = b.o;
  const t0 = performance.now();
  const target = await startTarget(
    "service",
    serviceVars((b.libsql as LibsqlProcess).url, o),
    b.dir,
    b.builds.get("service"),
  );
  try {
    const rooms = new ServiceRooms(target);
    b.serviceRooms = rooms;
    const plan: [string, number][] = [];
    if (o.only.has("fanout")) {
      plan.push(["fanout", o.fan.roomSize]);
    }
    if (o.only.has("history")) {
      plan.push(["history-small", 1], ["history-large", 1]);
    }
    if (o.only.has("joins")) {
      plan.push(
        ["joins-warmup", 20],
        ...o.joinSizes.map((n): [string, number] => [`joins-${n}`, n]),
      );
    }
    if (o.only.has("idle")) {
      plan.push(["idle", Math.max(...o.idleCounts) + 1]);
    }
    await rooms.prepareUsers(Math.max(1, ...plan.map(([, n]) => n)));
    for (const [label, n] of plan) {
      await rooms.members(await rooms.createRoom(label), n);
    }
    log(`setup: users, rooms and memberships in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await target.close();
  }
}

async function main(): Promise<number> {
  const o = parseOptions();
  const startedAt = new Date();
  const machine = {
    ...machineInfo(),
    nproc: availableParallelism(),
    totalMemGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    workerd: await workerdVersion(),
    wrangler: await packageVersion("wrangler"),
  };
  log(
    `bench: ${o.runs} run(s); ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.totalMemGiB} GiB, node ${machine.node}, ${machine.workerd}; service ${o.withAssets ? "with" : "without"} its [assets] front`,
  );
  const base = o.disk || !existsSync("/dev/shm") ? tmpdir() : "/dev/shm";
  const dir = mkdtempSync(join(base, "chat-bench-"));
  removeOnStop(dir);
  const b: Bench = {
    o,
    dir,
    builds: new Map(),
    libsql: null,
    serviceRooms: null,
    ceilingRooms: null,
    sustainable: new Map(),
  };
  const runs: RunResult[] = [];
  try {
    if (!o.withAssets) {
      useServiceConfigWithoutAssets(dir);
    }
    for (const kind of o.targets) {
      b.builds.set(kind, await buildTarget(kind, join(dir, `build-${kind}`)));
    }
    if (o.targets.includes("service")) {
      b.libsql = await startLibsql(join(dir, "bench.db"));
    }
    if (b.libsql) {
      await setupService(b);
    }
    const groups: [string, (b: Bench, sides: Side[], run: number) => Promise<void>, Runtime][] = [];
    if (o.only.has("fanout") || o.only.has("history")) {
      groups.push(["fan-out and history", fanoutAndHistory, "harness"]);
    }
    if (o.only.has("joins")) {
      groups.push(["joins", joinsGroup, "harness"]);
    }
    if (o.only.has("idle")) {
      groups.push(["idle sockets (bare workerd)", idleGroup("idle"), "workerd"]);
      groups.push(["idle sockets (wrangler harness)", idleGroup("idleHarness"), "harness"]);
      groups.push(["idle sockets after a full GC", idleGroup("idleGc"), "workerd-inspect"]);
    }
    for (let run = 1; run <= o.runs; run++) {
      const results = new Map<TargetKind, TargetRun>(
        o.targets.map((k) => [k, { integrity: emptyIntegrity(), failures: [] }]),
      );
      for (const [name, fn, runtime] of groups) {
        log(`run ${run}/${o.runs}: ${name}`);
        const t0 = performance.now();
        try {
          await withTargets(b, results, (sides) => fn(b, sides, run), runtime);
          log(`  (${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
        } catch (err) {
          const msg = `${name}: ${err instanceof Error ? err.message : String(err)}`;
          log(`  ERROR ${msg}`);
          for (const r of results.values()) {
            r.failures.push(msg);
          }
        }
      }
      runs.push({ run, service: results.get("service"), ceiling: results.get("ceiling") });
    }
  } finally {
    await b.libsql?.close();
    await stopAll();
  }
  return report(o, startedAt, machine, runs);
}

function report(o: Options, startedAt: Date, machine: unknown, runs: RunResult[]): number {
  const rows = figures(runs, {
    fixedRate: o.fan.fixedRate,
    idleCounts: o.idleCounts,
    joinSizes: o.joinSizes,
    historySizes: { small: o.hist.small, large: o.hist.large },
  });
  const integrity = emptyIntegrity();
  const failures: string[] = [];
  for (const r of runs) {
    for (const side of [r.service, r.ceiling]) {
      if (side) {
        addIntegrity(integrity, side.integrity);
        failures.push(...side.failures);
      }
    }
  }
  log("");
  log(printTable(rows));
  log("");
  const clean =
    integrity.lost === 0 &&
    integrity.duplicates === 0 &&
    integrity.outOfOrder === 0 &&
    integrity.unacked === 0;
  log(
    `deliveries: ${integrity.lost} lost, ${integrity.duplicates} duplicated, ${integrity.outOfOrder} out of order, ${integrity.unacked} unacked${clean ? " (all runs)" : "  <-- FAILED"}`,
  );
  for (const e of integrity.errors.slice(0, 5)) {
    log(`  client error: ${e}`);
  }
  for (const f of [...new Set(failures)]) {
    log(`  scenario failed: ${f}`);
  }
  const missed = rows.filter((r) => r.pass === false).map((r) => r.figure.trim());
  const file = writeJson(o.out, {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    machine,
    options: { ...o, only: [...o.only] },
    figures: rows,
    integrity,
    failures,
    targetsMissed: missed,
    runs,
  });
  log(`targets missed: ${missed.length === 0 ? "none" : missed.join("; ")}`);
  log(`wrote ${file}`);
  if (!clean || failures.length > 0) {
    return 1;
  }
  return o.strict && missed.length > 0 ? 1 : 0;
}

async function workerdVersion(): Promise<string> {
  try {
    const { execFileSync } = await import("node:child_process");
    const bin = join(root, "node_modules/@cloudflare/workerd-linux-64/bin/workerd");
    return execFileSync(bin, ["--version"]).toString().trim();
  } catch {
    return "workerd (version unknown)";
  }
}

async function packageVersion(name: string): Promise<string> {
  try {
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8"));
    return String(pkg.version);
  } catch {
    return "unknown";
  }
}

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) {
      return;
    }
    interrupted = true;
    log(`\nbench: ${signal}, stopping everything it started...`);
    void stopAll().finally(() => process.exit(130));
  });
}

main()
  .then((code) => process.exit(code))
  .catch(async (err) => {
    console.error("bench failed:", err);
    await stopAll();
    process.exit(1);
  });
