/**
 * Process metrics from Linux /proc, for the processes the bench itself started: CPU time
 * (utime + stime of all threads, in seconds), resident memory (VmRSS) and listening TCP ports.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

let ticksPerSecond: number | null = null;

/** Clock ticks per second (USER_HZ) that /proc/<pid>/stat counts in; 100 on Linux x86-64. */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface StatLine {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime of the process (all its threads), in clock ticks */
  ticks: number;
}

function readStat(pid: number): StatLine | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (comm) state ppid ..." where comm may contain spaces and parentheses.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const comm = text.slice(open + 1, close);
  const rest = text
    .slice(close + 2)
    .trim()
    .split(" ");
  // rest[0] = state (field 3), so field N is rest[N - 3]: ppid 4, utime 14, stime 15.
  const ppid = Number(rest[1]);
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { pid, comm, ppid, ticks };
}

/** Every live process, as pid -> stat. */
function allProcesses(): Map<number, StatLine> {
  const out = new Map<number, StatLine>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    const stat = readStat(Number(name));
    if (stat) {
      out.set(stat.pid, stat);
    }
  }
  return out;
}

/** Descendants of `root` (not including it), optionally only those whose comm matches. */
export function descendants(root: number, comm?: string): number[] {
  const procs = allProcesses();
  const children = new Map<number, number[]>();
  for (const p of procs.values()) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const p = procs.get(pid);
    if (p && (comm === undefined || p.comm === comm)) {
      found.push(pid);
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return found.sort((a, b) => a - b);
}

/** CPU seconds (user + system) consumed so far by the given processes together. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    ticks += readStat(pid)?.ticks ?? 0;
  }
  return ticks / clockTicks();
}

/** Resident set size in bytes (VmRSS), summed over the given processes. */
export function rssBytes(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // process gone
    }
  }
  return kb * 1024;
}

const CAGE = 2 ** 32;

/**
 * Resident bytes of the V8 heaps (the JavaScript objects of every isolate), summed over the given
 * processes. V8 keeps each isolate's heap inside a 4 GiB pointer-compression cage: a 4 GiB-aligned
 * range that is almost all reserved (---p) with the committed heap pages mapped read-write inside
 * it. So: group /proc/<pid>/smaps by 4 GiB slot, and in every slot whose mappings cover nearly
 * all of it, add up the Rss of the read-write mappings. Everything else in RSS is native memory
 * (sockets, buffers, SQLite, the runtime's own allocations).
 */
export function v8HeapBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/smaps`, "utf8");
    } catch {
      continue; // process gone
    }
    const slots = new Map<number, { covered: number; rwKb: number }>();
    let current: { covered: number; rwKb: number } | null = null;
    let writable = false;
    for (const line of text.split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+)/.exec(line);
      if (m) {
        const start = Number.parseInt(m[1] as string, 16);
        const end = Number.parseInt(m[2] as string, 16);
        const slot = Math.floor(start / CAGE);
        current = slots.get(slot) ?? { covered: 0, rwKb: 0 };
        slots.set(slot, current);
        current.covered += Math.min(end, (slot + 1) * CAGE) - start;
        writable = (m[3] as string).startsWith("rw");
      } else if (current && writable && line.startsWith("Rss:")) {
        current.rwKb += Number(line.split(/\s+/)[1] ?? 0);
      }
    }
    for (const s of slots.values()) {
      if (s.covered >= CAGE * 0.99) {
        total += s.rwKb * 1024;
      }
    }
  }
  return total;
}

/** TCP ports the process listens on (IPv4/IPv6), found through its socket inodes. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1]) {
          inodes.add(m[1]);
        }
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl local rem st tx:rx tr:when retrnsmt uid timeout inode
      if (cols[3] === "0A" && cols[9] && inodes.has(cols[9])) {
        const port = Number.parseInt(cols[1]?.split(":")[1] ?? "", 16);
        if (Number.isFinite(port)) {
          ports.push(port);
        }
      }
    }
  }
  return ports;
}

/** This machine, for the report. */
export function machineInfo(): {
  cpus: number;
  cpuModel: string;
  memTotalMiB: number;
  kernel: string;
} {
  let cpuModel = "unknown";
  let cpus = 0;
  let memTotalMiB = 0;
  let kernel = "";
  try {
    const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpuModel;
    cpus = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  } catch {
    // not Linux
  }
  try {
    const kb = /^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1];
    memTotalMiB = Math.round(Number(kb ?? 0) / 1024);
  } catch {
    // not Linux
  }
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    // not Linux
  }
  return { cpus, cpuModel, memTotalMiB, kernel };
}

/** CPU seconds the whole machine spent busy (all cores: user, nice, system, irq, softirq, steal). */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return (user + nice + system + irq + softirq + steal) / clockTicks();
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by this process and everything it started (targets, libSQL, hosts). */
export function benchTreeSeconds(): number {
  return cpuSeconds([process.pid, ...descendants(process.pid)]);
}

/**
 * Waits (bounded) until the rest of the machine uses less than `cores` of CPU over a 250 ms
 * sample, so a measurement doesn't start while someone else's build or tests are running.
 * Returns the last sample, in cores.
 */
export async function waitForQuietMachine(cores: number, maxWaitMs: number): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  for (;;) {
    const busy0 = machineBusySeconds();
    const tree0 = benchTreeSeconds();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 250));
    const seconds = (performance.now() - t0) / 1000;
    const other = Math.max(
      0,
      (machineBusySeconds() - busy0 - (benchTreeSeconds() - tree0)) / seconds,
    );
    if (other < cores || performance.now() >= deadline) {
      return other;
    }
  }
}
