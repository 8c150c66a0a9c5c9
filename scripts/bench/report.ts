/**
 * Turns the per-run results into the figures of issue 3 (median of the runs, each figure also as
 * a ratio to the ceiling measured in the same run), prints the table and writes the JSON.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type {
  FanoutResult,
  HistoryResult,
  IdleResult,
  Integrity,
  JoinResult,
} from "./scenarios.ts";
import { median, ratio } from "./stats.ts";

export interface TargetRun {
  fanout?: FanoutResult;
  history?: HistoryResult;
  joins?: JoinResult[];
  /** idle sockets under a bare workerd (raw-workerd.ts): the figure the target is about */
  idle?: IdleResult;
  /** the same under wrangler's test harness, whose local tooling shares the process */
  idleHarness?: IdleResult;
  /** a bare workerd with its inspector open, for `afterGc` (the inspector itself costs RSS) */
  idleGc?: IdleResult;
  integrity: Integrity;
  failures: string[];
}

export interface RunResult {
  run: number;
  service?: TargetRun;
  ceiling?: TargetRun;
}

export interface Figure {
  figure: string;
  unit: string;
  service: number;
  ceiling: number;
  /** median over runs of the per-run ratio service / ceiling (NaN when not a ratio figure) */
  ratio: number;
  target: string;
  /** true/false when there is a target, null when informational */
  pass: boolean | null;
  note?: string;
}

type Pick = (t: TargetRun) => number | undefined;

const fixedP =
  (q: "p50" | "p99"): Pick =>
  (t) =>
    t.fanout?.fixed.latency[q];
const joinOf =
  (n: number, f: (j: JoinResult) => number): Pick =>
  (t) => {
    const j = t.joins?.find((x) => x.members === n);
    return j ? f(j) : undefined;
  };
const idleAt =
  (
    n: number,
    field: "bytesPerSocket" | "v8BytesPerSocket" = "bytesPerSocket",
    key: "idle" | "idleHarness" = "idle",
  ): Pick =>
  (t) =>
    t[key]?.perSocket.find((p) => p.sockets === n)?.[field];

function values(runs: readonly RunResult[], side: "service" | "ceiling", pick: Pick): number[] {
  return runs.map((r) => (r[side] ? pick(r[side]) : undefined)).filter(isNum);
}

function isNum(x: number | undefined): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

function perRunRatios(runs: readonly RunResult[], pick: Pick): number[] {
  const out: number[] = [];
  for (const r of runs) {
    const s = r.service ? pick(r.service) : undefined;
    const c = r.ceiling ? pick(r.ceiling) : undefined;
    if (isNum(s) && isNum(c)) {
      out.push(ratio(s, c));
    }
  }
  return out;
}

/** Joins time scaling exponent: time(N2)/time(N1) = (N2/N1)^k; k 1 = linear, 2 = quadratic. */
function joinExponent(t: TargetRun, small: number, large: number): number | undefined {
  const a = t.joins?.find((j) => j.members === small);
  const b = t.joins?.find((j) => j.members === large);
  if (!a || !b || a.settledMs <= 0) {
    return undefined;
  }
  return Math.log(b.settledMs / a.settledMs) / Math.log(large / small);
}

function historyRatio(t: TargetRun): number | undefined {
  return t.history ? t.history.large.p50 / t.history.small.p50 : undefined;
}

/** A target on the ratio ("<= 1.25x") needs both sides; one on the service alone needs only it. */
function passOf(
  check: ((ratio: number, service: number) => boolean) | null,
  target: string,
  r: number,
  s: number,
): boolean | null {
  if (!check || !Number.isFinite(s)) {
    return null;
  }
  const onRatio = /\dx\b/.test(target) && !target.startsWith("service");
  if (onRatio && !Number.isFinite(r)) {
    return null;
  }
  return check(r, s);
}

export interface FigureOptions {
  fixedRate: number;
  idleCounts: number[];
  joinSizes: number[];
  historySizes: { small: number; large: number };
}

export function figures(runs: readonly RunResult[], o: FigureOptions): Figure[] {
  const out: Figure[] = [];
  const row = (
    figure: string,
    unit: string,
    pick: Pick,
    target: string,
    check: ((ratio: number, service: number) => boolean) | null,
    note?: string,
  ) => {
    const s = median(values(runs, "service", pick));
    const c = median(values(runs, "ceiling", pick));
    const r = median(perRunRatios(runs, pick));
    out.push({
      figure,
      unit,
      service: s,
      ceiling: c,
      ratio: r,
      target,
      pass: passOf(check, target, r, s),
      note,
    });
  };
  const fixed = `${o.fixedRate / 1000}k/s`;
  row(`fan-out p50 @ ${fixed}`, "ms", fixedP("p50"), "<= 1.25x", (r) => r <= 1.25);
  row(`fan-out p99 @ ${fixed}`, "ms", fixedP("p99"), "<= 2x", (r) => r <= 2);
  row(`fan-out p95 @ ${fixed}`, "ms", (t) => t.fanout?.fixed.latency.p95, "", null);
  row(`ack p50 @ ${fixed}`, "ms", (t) => t.fanout?.fixed.ack.p50, "", null);
  row(`ack p99 @ ${fixed}`, "ms", (t) => t.fanout?.fixed.ack.p99, "", null);
  row(
    `server CPU per delivery @ ${fixed}`,
    "µs",
    (t) => t.fanout?.fixed.serverCpuPerDeliveryUs,
    "<= 1.2x",
    (r) => r <= 1.2,
  );
  row(
    "sustainable deliveries/s (0 loss, p99 <= 100 ms)",
    "/s",
    (t) => t.fanout?.sustainable,
    ">= 0.6x (stretch 0.8x)",
    (r) => r >= 0.6,
  );
  row(
    "  p99 at the sustainable rate",
    "ms",
    (t) => t.fanout?.sustainableStep?.latency.p99,
    "",
    null,
  );
  row(
    "  server CPU per delivery at the sustainable rate",
    "µs",
    (t) => t.fanout?.sustainableStep?.serverCpuPerDeliveryUs,
    "",
    null,
  );
  const sortedIdle = [...o.idleCounts].sort((a, b) => a - b);
  for (const n of sortedIdle) {
    const isMax = n === sortedIdle[sortedIdle.length - 1];
    row(
      `memory per idle socket, ${n} sockets`,
      "KiB",
      (t) => {
        const b = idleAt(n)(t);
        return b === undefined ? undefined : b / 1024;
      },
      isMax ? "<= 1.25x" : "",
      isMax ? (r) => r <= 1.25 : null,
    );
  }
  for (const n of sortedIdle) {
    row(
      `  V8 heap per idle socket, ${n} sockets`,
      "KiB",
      (t) => {
        const b = idleAt(n, "v8BytesPerSocket")(t);
        return b === undefined ? undefined : b / 1024;
      },
      "",
      null,
    );
  }
  const maxIdle = sortedIdle[sortedIdle.length - 1];
  row(
    `  retained after a full GC, ${maxIdle} sockets`,
    "KiB",
    (t) => (t.idleGc?.afterGc ? t.idleGc.afterGc.bytesPerSocket / 1024 : undefined),
    "",
    null,
  );
  for (const n of sortedIdle) {
    row(
      `  under wrangler's test harness, ${n} sockets`,
      "KiB",
      (t) => {
        const b = idleAt(n, "bytesPerSocket", "idleHarness")(t);
        return b === undefined ? undefined : b / 1024;
      },
      "",
      null,
    );
  }
  row(
    `idle sockets live after ${Math.max(...o.idleCounts)} connected`,
    "%",
    (t) => (t.idle ? (100 * t.idle.live) / Math.max(1, t.idle.open) : undefined),
    "100%",
    (_r, s) => s >= 100,
  );
  for (const n of o.joinSizes) {
    row(
      `joins: ${n} members, all ready`,
      "ms",
      joinOf(n, (j) => j.allReadyMs),
      "",
      null,
    );
    row(
      `joins: ${n} members, presence settled`,
      "ms",
      joinOf(n, (j) => j.settledMs),
      "",
      null,
    );
    row(
      `joins: ${n} members, frames per join`,
      "",
      joinOf(n, (j) => j.frames / j.members),
      "",
      null,
    );
    row(
      `joins: ${n} members, received per join`,
      "KiB",
      joinOf(n, (j) => j.bytes / j.members / 1024),
      "",
      null,
    );
  }
  if (o.joinSizes.length >= 2) {
    const small = Math.min(...o.joinSizes);
    const large = Math.max(...o.joinSizes);
    row(
      `joins: time scaling exponent ${small}->${large}`,
      "",
      (t) => joinExponent(t, small, large),
      "service < 1.5 (1 linear, 2 quadratic)",
      (_r, s) => s < 1.5,
    );
  }
  row(
    `history page p50, ${o.historySizes.small} msgs`,
    "ms",
    (t) => t.history?.small.p50,
    "",
    null,
  );
  row(
    `history page p50, ${o.historySizes.large} msgs`,
    "ms",
    (t) => t.history?.large.p50,
    "",
    null,
  );
  row(
    `history: ${o.historySizes.large} vs ${o.historySizes.small} msgs (p50 ratio)`,
    "x",
    historyRatio,
    "service <= 1.5",
    (_r, s) => s <= 1.5,
  );
  return out.filter((f) => Number.isFinite(f.service) || Number.isFinite(f.ceiling));
}

function fmt(n: number, unit: string): string {
  if (!Number.isFinite(n)) {
    return "-";
  }
  if (unit === "/s") {
    return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
  }
  if (Math.abs(n) >= 100) {
    return n.toFixed(0);
  }
  if (Math.abs(n) >= 10) {
    return n.toFixed(1);
  }
  return n.toFixed(2);
}

export function printTable(rows: readonly Figure[]): string {
  const header = ["figure", "service", "ceiling", "ratio", "target", "pass?"];
  const body = rows.map((f) => [
    f.unit && f.unit !== "x" ? `${f.figure} (${f.unit})` : f.figure,
    fmt(f.service, f.unit),
    fmt(f.ceiling, f.unit),
    Number.isFinite(f.ratio) &&
    f.unit !== "x" &&
    f.unit !== "" &&
    f.unit !== "%" &&
    !f.figure.includes("per join")
      ? `${f.ratio.toFixed(2)}x`
      : "",
    f.target,
    f.pass === null ? "" : f.pass ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export function writeJson(dir: string, data: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  // Raw latency samples stay out of the file (the summaries are in it).
  const json = JSON.stringify(data, (key, value) => (key === "samples" ? undefined : value), 2);
  writeFileSync(file, `${json}\n`);
  return file;
}
