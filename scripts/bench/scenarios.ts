/**
 * The four measurements, each run the same way against either target:
 * fan-out (fixed point + sustainable-rate search), history paging, joins, idle sockets.
 */
import { type Client, closeClients, openClients, sleep, waitFor, waitQuiet } from "./driver.ts";
import { openInspector } from "./inspector.ts";
import { FanoutLoad, mergeSteps, type StepResult } from "./load.ts";
import { rssBytes, v8HeapBytes, waitForQuietMachine } from "./procfs.ts";
import type { RoomAccess } from "./rooms.ts";
import type { Target } from "./server.ts";
import { type LatencySummary, percentile, Samples } from "./stats.ts";

/** Below this much CPU used by other processes (in cores) the machine counts as quiet. */
export const QUIET_CORES = 0.15;
/** A step during which others used more than this is repeated. */
export const DISTURBED_CORES = 0.3;

export type Log = (line: string) => void;

/** Delivery integrity over every socket of a scenario; all must be 0. */
export interface Integrity {
  lost: number;
  duplicates: number;
  outOfOrder: number;
  unacked: number;
  errors: string[];
}

export function emptyIntegrity(): Integrity {
  return { lost: 0, duplicates: 0, outOfOrder: 0, unacked: 0, errors: [] };
}

export function addIntegrity(into: Integrity, from: Integrity): void {
  into.lost += from.lost;
  into.duplicates += from.duplicates;
  into.outOfOrder += from.outOfOrder;
  into.unacked += from.unacked;
  into.errors.push(...from.errors.slice(0, 20 - into.errors.length));
}

/** Waits until every client caught up to `maxSeq` (bounded), then counts what is still owed. */
async function integrityOf(
  clients: readonly Client[],
  maxSeq: number,
  timeoutMs: number,
): Promise<Integrity> {
  // Sockets that never got `ready` are connection failures, reported on their own.
  clients = clients.filter((c) => c.ready);
  await waitFor(() => clients.every((c) => c.owed(maxSeq) === 0), timeoutMs, 20);
  const out = emptyIntegrity();
  for (const c of clients) {
    out.lost += c.owed(maxSeq);
    out.duplicates += c.duplicates;
    out.outOfOrder += c.outOfOrder;
    for (const e of c.errors) {
      if (out.errors.length < 20) {
        out.errors.push(e);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fan-out
// ---------------------------------------------------------------------------------------------

export interface FanoutOptions {
  roomSize: number;
  senders: number;
  /** the fixed comparison point, deliveries/s (10k) */
  fixedRate: number;
  /** one slot at the fixed rate; the targets take turns, `fixedSlots` each */
  fixedMs: number;
  fixedSlots: number;
  warmupMs: number;
  stepMs: number;
  /** first rate of the search after the fixed point; grows by `growth` until a step fails */
  startRate: number;
  growth: number;
  maxRate: number;
  /** halvings between the last passing and the first failing rate */
  bisections: number;
  p99LimitMs: number;
}

export interface FanoutResult {
  connectMs: number;
  /** all fixed-rate slots pooled */
  fixed: StepResult;
  fixedSlots: StepResult[];
  steps: StepResult[];
  /** highest offered deliveries/s that passed (0 loss, p99 within the limit) */
  sustainable: number;
  sustainableStep: StepResult | null;
  integrity: Integrity;
}

export function fmtRate(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
}

function showStep(log: Log, label: string, r: StepResult): void {
  log(
    `  ${label} ${fmtRate(r.offered)}/s offered -> ${fmtRate(r.achieved)}/s, p50 ${r.latency.p50.toFixed(1)} p99 ${r.latency.p99.toFixed(1)} ms, ack p50 ${r.ack.p50.toFixed(1)} ms, ${r.serverCpuPerDeliveryUs.toFixed(2)} µs CPU/delivery, client CPU ${((r.clientCpuSec / r.wallSec) * 100).toFixed(0)}%, others ${r.otherLoadCores.toFixed(2)} cores ${r.pass ? "ok" : `FAIL (${r.why})`}`,
  );
}

/** C clients connected to one room of one target, with the load that drives them. */
export class FanoutSession {
  readonly target: Target;
  readonly connectMs: number;
  private readonly clients: Client[];
  private readonly load: FanoutLoad;
  private readonly o: FanoutOptions;
  private readonly log: Log;
  readonly fixedSlots: StepResult[] = [];

  private constructor(
    target: Target,
    clients: Client[],
    connectMs: number,
    o: FanoutOptions,
    log: Log,
  ) {
    this.target = target;
    this.clients = clients;
    this.connectMs = connectMs;
    this.o = o;
    this.log = log;
    const senders = clients.slice(0, Math.min(o.senders, clients.length));
    this.load = new FanoutLoad(clients, senders, () => target.workerdPids, target.kind);
  }

  static async open(target: Target, rooms: RoomAccess, o: FanoutOptions, log: Log) {
    const roomId = await rooms.createRoom("fanout");
    const endpoints = await rooms.members(roomId, o.roomSize);
    const opened = await openClients(endpoints, 50, 60_000);
    if (opened.failures.length > 0) {
      await closeClients(opened.clients);
      throw new Error(`fan-out: ${opened.failures.length} sockets failed: ${opened.failures[0]}`);
    }
    return new FanoutSession(target, opened.clients, opened.elapsedMs, o, log);
  }

  private options(rate: number, ms: number) {
    return {
      deliveriesPerSec: rate,
      durationMs: ms,
      drainTimeoutMs: Math.max(5000, this.o.stepMs * 2),
      p99LimitMs: this.o.p99LimitMs,
      abortAfterMs: 5 * this.o.p99LimitMs,
    };
  }

  /**
   * One step. A step during which other work on the machine took a real share of the CPU is
   * run again (at most twice more) once the machine is quiet; the result says how busy it was.
   */
  private async run(rate: number, ms: number): Promise<StepResult> {
    let r: StepResult | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      await waitForQuietMachine(QUIET_CORES, 20_000);
      r = await this.load.step(this.options(rate, ms));
      if (r.otherLoadCores <= DISTURBED_CORES) {
        break;
      }
      this.log(
        `  (${this.target.kind} ${fmtRate(rate)}/s step disturbed: other processes used ${r.otherLoadCores.toFixed(2)} cores; ${attempt < 2 ? "again" : "keeping it"})`,
      );
      await sleep(500);
    }
    if (r && !r.pass) {
      await sleep(500); // let an overloaded server settle before the next step
    }
    return r as StepResult;
  }

  /** Warm-up (JIT, SQLite pages, socket buffers); not reported, but its deliveries are checked. */
  async warm(): Promise<void> {
    await this.load.step(this.options(this.o.fixedRate, this.o.warmupMs));
  }

  /** One slot at the fixed rate; the bench alternates slots between the targets. */
  async fixedSlot(): Promise<StepResult> {
    const r = await this.run(this.o.fixedRate, this.o.fixedMs);
    this.fixedSlots.push(r);
    showStep(this.log, `${this.target.kind} fixed`, r);
    return r;
  }

  /**
   * The highest rate with 0 loss and p99 within the limit: from the start rate, climb by
   * `growth` until a step fails (or descend until one passes), then bisect. `hint` (this
   * target's result in an earlier run) starts the search near the answer with finer steps.
   */
  async search(
    hint?: number,
  ): Promise<{ steps: StepResult[]; sustainable: number; best: StepResult | null }> {
    const o = this.o;
    const steps: StepResult[] = [];
    const fixed = mergeSteps(this.fixedSlots);
    if (!fixed.pass) {
      return { steps, sustainable: 0, best: null };
    }
    let lo = o.fixedRate;
    let best: StepResult | null = fixed;
    let hi = 0;
    const hinted = hint !== undefined && hint > o.fixedRate;
    const growth = hinted ? 1.15 : o.growth;
    const bisections = hinted ? Math.min(2, o.bisections) : o.bisections;
    const step = async (rate: number, label: string) => {
      let r = await this.run(rate, o.stepMs);
      steps.push(r);
      showStep(this.log, `${this.target.kind} ${label}`, r);
      if (!r.pass) {
        // One 1.5 s step can fail on a single pause (GC, the hypervisor): a rate fails only if
        // it fails twice in a row. Both steps stay in the JSON.
        await sleep(1000);
        r = await this.run(rate, o.stepMs);
        steps.push(r);
        showStep(this.log, `${this.target.kind} ${label} (again)`, r);
      }
      if (r.pass && rate > lo) {
        lo = rate;
        best = r;
      } else if (!r.pass) {
        hi = hi === 0 ? rate : Math.min(hi, rate);
      }
      return r.pass;
    };
    let rate = hinted ? Math.max(o.startRate, round500((hint as number) * 0.85)) : o.startRate;
    if (await step(rate, "step")) {
      // climb until a step fails
      for (rate = round500(rate * growth); hi === 0 && rate <= o.maxRate; ) {
        await step(rate, "step");
        rate = round500(rate * growth);
      }
    } else {
      // descend until a step passes
      for (rate = round500(rate / growth); lo === o.fixedRate && rate > o.fixedRate; ) {
        await step(rate, "step");
        rate = round500(rate / growth);
      }
    }
    for (let i = 0; i < bisections && hi > 0; i++) {
      const mid = round500((lo + hi) / 2);
      if (mid <= lo || mid >= hi) {
        break;
      }
      await step(mid, "bisect");
    }
    return { steps, sustainable: lo, best };
  }

  /** Waits for every socket to have every message, counts violations, closes the sockets. */
  async close(): Promise<Integrity> {
    try {
      return await integrityOf(this.clients, this.load.maxAckedSeq, 30_000);
    } finally {
      await closeClients(this.clients);
    }
  }
}

function round500(n: number): number {
  return Math.round(n / 500) * 500;
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

export interface HistoryOptions {
  small: number;
  large: number;
  /** measured requests per room (split over two rounds) */
  requests: number;
  warmup: number;
  limit: number;
}

export interface HistoryResult {
  seedMs: { small: number; large: number };
  small: LatencySummary;
  large: LatencySummary;
}

/**
 * Two rooms of one target, one seeded with `small` and one with `large` messages; `round()`
 * measures sequential page requests (random `before` cursors, same sequence everywhere) on both.
 */
export class HistorySession {
  private readonly rooms: RoomAccess;
  private readonly o: HistoryOptions;
  private readonly smallRoom: string;
  private readonly largeRoom: string;
  private readonly seedMs: { small: number; large: number };
  private readonly small = new Samples();
  private readonly large = new Samples();
  private warmed = false;

  private constructor(
    rooms: RoomAccess,
    o: HistoryOptions,
    smallRoom: string,
    largeRoom: string,
    seedMs: { small: number; large: number },
  ) {
    this.rooms = rooms;
    this.o = o;
    this.smallRoom = smallRoom;
    this.largeRoom = largeRoom;
    this.seedMs = seedMs;
  }

  static async prepare(rooms: RoomAccess, o: HistoryOptions): Promise<HistorySession> {
    const smallRoom = await rooms.createRoom("history-small");
    const largeRoom = await rooms.createRoom("history-large");
    let t = performance.now();
    await rooms.seed(smallRoom, o.small);
    const small = performance.now() - t;
    t = performance.now();
    await rooms.seed(largeRoom, o.large);
    const large = performance.now() - t;
    return new HistorySession(rooms, o, smallRoom, largeRoom, { small, large });
  }

  /** Half of the measured requests on each room (after a warm-up on the first call). */
  async round(): Promise<void> {
    const warm = this.warmed ? 0 : this.o.warmup;
    this.warmed = true;
    const n = Math.ceil(this.o.requests / 2);
    await this.pages(this.smallRoom, this.o.small, warm, n, this.small);
    await this.pages(this.largeRoom, this.o.large, warm, n, this.large);
  }

  private async pages(roomId: string, size: number, warm: number, n: number, into: Samples) {
    // Same pseudo-random cursors for both rooms and both targets: a fixed LCG.
    let x = 12345;
    const limit = this.o.limit;
    for (let i = 0; i < warm + n; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const before = limit + 1 + (x % (size - limit));
      const t0 = performance.now();
      const res = await this.rooms.history(roomId, `before=${before}&limit=${limit}`);
      const ms = performance.now() - t0;
      if (res.status !== 200) {
        throw new Error(`history page: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      }
      const got = (JSON.parse(res.body) as { messages: unknown[] }).messages.length;
      if (got !== limit) {
        throw new Error(`history page returned ${got} messages, expected ${limit}`);
      }
      if (i >= warm) {
        into.add(ms);
      }
    }
  }

  result(log: Log, kind: string): HistoryResult {
    const small = this.small.summary();
    const large = this.large.summary();
    log(
      `  ${kind} history p50 ${small.p50.toFixed(2)} ms (${this.o.small} msgs) vs ${large.p50.toFixed(2)} ms (${this.o.large} msgs); seeding ${this.o.large} took ${(this.seedMs.large / 1000).toFixed(1)} s`,
    );
    return { seedMs: this.seedMs, small, large };
  }
}

// ---------------------------------------------------------------------------------------------
// Joins
// ---------------------------------------------------------------------------------------------

export interface JoinResult {
  members: number;
  /** first connect to the last `ready` */
  allReadyMs: number;
  /** first connect until no socket got a frame for `quietMs` (presence traffic done) */
  settledMs: number;
  /** frames (and bytes) all sockets received while joining, `ready` included */
  frames: number;
  bytes: number;
  /** 95th percentile of one socket's connect-to-ready time */
  readyP95Ms: number;
  failures: number;
}

/** Warm-up in a room of its own: the first upgrades compile the code paths. */
export async function warmJoins(rooms: RoomAccess): Promise<void> {
  const warmRoom = await rooms.createRoom("joins-warmup");
  const warm = await openClients(await rooms.members(warmRoom, 20), 20, 30_000);
  await closeClients(warm.clients);
}

/**
 * `n` members (already members: joined over HTTP before the clock starts) open their sockets
 * to one fresh room, at most `concurrency` upgrades in flight.
 */
export async function joinOnce(
  rooms: RoomAccess,
  n: number,
  concurrency: number,
  deadlineMs: number,
  log: Log,
): Promise<JoinResult> {
  const roomId = await rooms.createRoom(`joins-${n}`);
  const endpoints = await rooms.members(roomId, n);
  await waitForQuietMachine(QUIET_CORES, 20_000);
  const t0 = performance.now();
  const opened = await openClients(endpoints, concurrency, deadlineMs);
  try {
    const allReady = performance.now() - t0;
    await waitQuiet(opened.clients, 300, Math.max(1000, t0 + deadlineMs - performance.now()));
    const settled = performance.now() - t0 - 300;
    let frames = 0;
    let bytes = 0;
    const perSocket: number[] = [];
    for (const c of opened.clients) {
      frames += c.frames;
      bytes += c.bytes;
      if (c.ready) {
        perSocket.push(c.readyAt - c.openedAt);
      }
    }
    const r: JoinResult = {
      members: n,
      allReadyMs: allReady,
      settledMs: Math.max(allReady, settled),
      frames,
      bytes,
      readyP95Ms: percentile(perSocket, 0.95),
      failures: n - perSocket.length,
    };
    log(
      `  ${rooms.kind} joins ${n}: all ready in ${allReady.toFixed(0)} ms, settled in ${r.settledMs.toFixed(0)} ms, ${frames} frames (${(bytes / 1e6).toFixed(1)} MB)${r.failures ? `, ${r.failures} FAILED: ${opened.failures.at(-1)}` : ""}`,
    );
    return r;
  } finally {
    await closeClients(opened.clients);
  }
}

// ---------------------------------------------------------------------------------------------
// Idle sockets
// ---------------------------------------------------------------------------------------------

export interface IdleResult {
  /** sockets -> bytes of workerd RSS per socket over the 1-socket baseline */
  perSocket: {
    sockets: number;
    ready: number;
    bytesPerSocket: number;
    rssBytes: number;
    /** the V8 heaps' share (procfs.v8HeapBytes): what counts against an isolate's memory limit */
    v8BytesPerSocket: number;
    v8Bytes: number;
  }[];
  baselineRss: number;
  baselineV8: number;
  /**
   * At the largest count, after two full GCs through the inspector (bare workerd only): what the
   * sockets themselves hold, without the garbage that connecting them left behind.
   */
  afterGc?: { sockets: number; bytesPerSocket: number };
  /** sockets that received the final broadcast / sockets meant to be open (incl. the baseline) */
  live: number;
  open: number;
  connectMs: number;
  failures: number;
  integrity: Integrity;
}

/**
 * RSS per socket once the isolate has collected its garbage (two full GCs via the inspector):
 * the retained cost of an idle socket. RSS proper keeps the high-water of the garbage made while
 * connecting, and workerd runs no GC while idle (an idle isolate keeps its heap as it is).
 */
async function afterFullGc(
  target: Target,
  sockets: number,
  baselineRss: number,
  settleMs: number,
): Promise<NonNullable<IdleResult["afterGc"]>> {
  const session = await openInspector(target.inspectorUrl as string, `${target.url}/bench-poke`);
  try {
    await session.collectGarbage();
  } finally {
    session.close();
  }
  await sleep(settleMs);
  return {
    sockets,
    bytesPerSocket: (rssBytes(target.workerdPids) - baselineRss) / sockets,
  };
}

export async function idle(
  target: Target,
  rooms: RoomAccess,
  counts: readonly number[],
  settleMs: number,
  deadlineMs: number,
  log: Log,
): Promise<IdleResult> {
  const max = Math.max(...counts);
  const roomId = await rooms.createRoom("idle");
  const endpoints = await rooms.members(roomId, max + 1);
  const clients: Client[] = [];
  let failures = 0;
  const t0 = performance.now();
  try {
    const first = await openClients(endpoints.slice(0, 1), 1);
    clients.push(...first.clients);
    await waitForQuietMachine(QUIET_CORES, 20_000);
    await sleep(settleMs);
    const baselineRss = rssBytes(target.workerdPids);
    const baselineV8 = v8HeapBytes(target.workerdPids);
    const perSocket: IdleResult["perSocket"] = [];
    let have = 0;
    for (const n of [...counts].sort((a, b) => a - b)) {
      const left = Math.max(1000, t0 + deadlineMs - performance.now());
      const opened = await openClients(endpoints.slice(1 + have, 1 + n), 50, left);
      clients.push(...opened.clients);
      const missing = n - have - opened.clients.filter((c) => c.ready).length;
      failures += missing;
      if (missing > 0) {
        log(`  idle: ${missing} of ${n - have} sockets not ready: ${opened.failures.at(-1)}`);
      }
      have = n;
      await waitQuiet(clients, 300, Math.max(1000, t0 + deadlineMs - performance.now()));
      await sleep(settleMs);
      const rss = rssBytes(target.workerdPids);
      const v8 = v8HeapBytes(target.workerdPids);
      const ready = clients.filter((c) => c.ready).length - 1;
      perSocket.push({
        sockets: n,
        ready,
        bytesPerSocket: ready === n ? (rss - baselineRss) / n : Number.NaN,
        rssBytes: rss,
        v8BytesPerSocket: ready === n ? (v8 - baselineV8) / n : Number.NaN,
        v8Bytes: v8,
      });
      const kib = (bytes: number) => (bytes / Math.max(1, ready) / 1024).toFixed(1);
      log(
        `  ${target.kind} idle ${ready}/${n} sockets (${((performance.now() - t0) / 1000).toFixed(1)} s): workerd RSS ${(rss / 2 ** 20).toFixed(1)} MiB (+${((rss - baselineRss) / 2 ** 20).toFixed(1)} MiB, ${kib(rss - baselineRss)} KiB/socket), V8 heap ${(v8 / 2 ** 20).toFixed(1)} MiB (${kib(v8 - baselineV8)} KiB/socket)`,
      );
    }
    const afterGc = target.inspectorUrl
      ? await afterFullGc(target, max, baselineRss, settleMs)
      : undefined;
    if (afterGc) {
      log(
        `  ${target.kind} idle ${max} sockets after a full GC: workerd RSS +${(afterGc.bytesPerSocket / 1024).toFixed(1)} KiB/socket`,
      );
    }
    const connectMs = performance.now() - t0;
    // Every socket must still be live: one message, everyone gets it.
    const connected = clients.filter((c) => c.ready);
    const before = connected.map((c) => c.deliveries);
    const sender = connected[0] as Client;
    sender.send(
      JSON.stringify({
        type: "send_message",
        content: "final broadcast: is everyone still here?",
        clientId: `idle-${Date.now()}`,
      }),
    );
    await waitFor(() => connected.every((c, i) => c.deliveries > (before[i] ?? 0)), 30_000, 20);
    const live = connected.filter((c, i) => c.deliveries > (before[i] ?? 0)).length;
    const maxSeq = Math.max(...connected.map((c) => c.lastSeq));
    const integrity = await integrityOf(connected, maxSeq, 5000);
    log(
      `  ${target.kind} idle final broadcast reached ${live}/${max + 1} sockets (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return {
      perSocket,
      baselineRss,
      baselineV8,
      live,
      open: max + 1,
      connectMs,
      failures,
      integrity,
      ...(afterGc ? { afterGc } : {}),
    };
  } finally {
    await closeClients(clients, 20_000);
  }
}
