/**
 * Starting and stopping what the benchmark measures. Each target (the real service, or the
 * ceiling room in bench/ceiling) runs in its own child process that owns one wrangler test
 * harness, so each has its own workerd processes whose CPU and memory we can read alone.
 *
 * The harness puts wrangler's proxy workerd in front of the user worker's workerd. The bench
 * connects straight to the user worker's entry socket instead (found from the processes'
 * listening sockets), so every frame crosses one workerd, as in production; if that port can't be
 * found it falls back to the proxy URL and says so.
 *
 * Every child is tracked and stopped on exit, Ctrl-C and SIGTERM (see stopAll).
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { descendants, listeningPorts } from "./procfs.ts";
import type { HostOptions, HostReply, HostRequest } from "./server-host.ts";

export const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const here = dirname(fileURLToPath(import.meta.url));

const children = new Set<ChildProcess>();
/** workerd pids seen under our hosts, so a host that died badly can't leave them running */
const workerdPids = new Set<number>();
/** temporary folders (DO storage, libSQL file, bundles) removed by stopAll */
const tempDirs = new Set<string>();

/** Removes `dir` (recursively) when the bench stops, however it stops. */
export function removeOnStop(dir: string): void {
  tempDirs.add(dir);
}

/**
 * X_LOCAL_OBSERVABILITY=false: wrangler's local trace explorer streams every invocation of both
 * targets (each upgrade, subrequest, socket message) to a collector object inside the same
 * workerd. Production has no such thing, and it costs ~65 KiB of RSS per idle socket in both
 * targets (docs/performance.md, "Memory only grows"), so the bench leaves it off.
 */
export const childEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  X_LOCAL_OBSERVABILITY: "false",
};

interface Started<T> {
  child: ChildProcess;
  first: T;
  output: () => string;
}

/** Forks a TypeScript child with IPC and waits for its first message (or its death). */
function forkChild<T>(
  script: string,
  args: string[],
  what: string,
  env: Record<string, string> = {},
  timeoutMs = 120_000,
) {
  return new Promise<Started<T>>((resolve, reject) => {
    const child = fork(join(here, script), args, {
      cwd: root,
      env: { ...childEnv, ...env },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    children.add(child);
    let output = "";
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("exit", () => children.delete(child));
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve({ child, first: m as T, output: () => output });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

/** Records a process the bench started so stopAll stops it (and counts it as workerd). */
export function trackChild(child: ChildProcess, isWorkerd = false): void {
  children.add(child);
  child.on("exit", () => children.delete(child));
  if (isWorkerd && child.pid !== undefined) {
    workerdPids.add(child.pid);
  }
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process has exited. */
export async function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every child we started and any workerd they left behind. Safe to call twice. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c)));
  for (const pid of workerdPids) {
    try {
      process.kill(pid, 0);
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  workerdPids.clear();
  for (const dir of tempDirs) {
    rmSync(dir, { recursive: true, force: true });
  }
  tempDirs.clear();
}

export type TargetKind = "service" | "ceiling";

let serviceConfigPath = join(root, "wrangler.toml");

/** The wrangler.toml a target runs from (the service's copy without assets, once written). */
export function configPathOf(kind: TargetKind): string {
  return kind === "service" ? serviceConfigPath : join(root, "bench/ceiling/wrangler.toml");
}

/**
 * Measures the service without its static-assets front: writes a copy of wrangler.toml with the
 * `[assets]` and `[build]` tables removed (and `main` made absolute) into `dir` and uses it from
 * now on. Locally the assets router is one more worker in the same workerd process, in front of
 * every request (upgrades included); in production it runs in Cloudflare's edge, not in the
 * Worker's isolate. The ceiling has no assets either, so this keeps the comparison like for like.
 * The Worker and the room are the same code; `--with-assets` measures the file as it is.
 */
export function useServiceConfigWithoutAssets(dir: string): string {
  const lines = readFileSync(join(root, "wrangler.toml"), "utf8").split("\n");
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    const table = /^\s*\[{1,2}([^\]]+)\]{1,2}\s*$/.exec(line)?.[1]?.trim();
    if (table !== undefined) {
      skipping = table === "assets" || table === "build";
    }
    if (!skipping) {
      kept.push(
        line.replace(
          /^main\s*=\s*"(.*)"/,
          (_m, main: string) => `main = ${JSON.stringify(join(root, main))}`,
        ),
      );
    }
  }
  serviceConfigPath = join(dir, "wrangler.service.toml");
  writeFileSync(serviceConfigPath, kept.join("\n"));
  return serviceConfigPath;
}

/**
 * Bundles a target once, as `npm run build` does (`wrangler deploy --dry-run --outdir`), so every
 * restart of it during the bench skips bundling.
 */
export async function buildTarget(kind: TargetKind, outdir: string): Promise<string> {
  const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
  const args = [
    wrangler,
    "deploy",
    "--dry-run",
    "--config",
    configPathOf(kind),
    "--outdir",
    outdir,
  ];
  await new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let output = "";
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("exit", (code) => {
      children.delete(child);
      if (code === 0) {
        done();
      } else {
        fail(new Error(`building the ${kind} failed (${code}):\n${output}`));
      }
    });
  });
  return outdir;
}

export interface Target {
  kind: TargetKind;
  /** http://127.0.0.1:PORT of the user worker (no trailing slash) */
  url: string;
  wsUrl: string;
  /** true when the URL is the user worker's own socket, false when it goes through the proxy */
  direct: boolean;
  /** the workerd processes of this target (proxy + user worker) */
  workerdPids: number[];
  /** the harness's Node process (it relays the worker's outbound fetches, e.g. to libSQL) */
  hostPid: number;
  /** The isolate's inspector (bare workerd only): the idle scenario forces a full GC through it. */
  inspectorUrl?: string;
  /** Runs SQL in a Durable Object's storage, through the harness. */
  sql(className: string, name: string, query: string, ...params: unknown[]): Promise<unknown[]>;
  /** Evicts a Durable Object (its sockets are closed) so it re-reads its storage. */
  evict(className: string, name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts one target. For the service, `vars` override wrangler.toml [vars] (the libSQL URL,
 * raised rate limits, a low bcrypt cost). `tmpDir` becomes the harness's TMPDIR, which is where
 * miniflare keeps the Durable Objects' SQLite files when nothing is persisted.
 */
export async function startTarget(
  kind: TargetKind,
  vars: Record<string, string>,
  tmpDir: string,
  prebuiltWorkerDir?: string,
  configPath = configPathOf(kind),
): Promise<Target> {
  const options: HostOptions = { configPath, vars, prebuiltWorkerDir };
  const started = await forkChild<HostReply>(
    "server-host.ts",
    [JSON.stringify(options)],
    `${kind} harness`,
    { TMPDIR: tmpDir },
  );
  const { child } = started;
  const first = started.first;
  if (first.type !== "ready") {
    await stopChild(child);
    throw new Error(`${kind} harness: unexpected first message ${JSON.stringify(first)}`);
  }
  const hostPid = child.pid as number;
  const pids = descendants(hostPid, "workerd");
  for (const pid of pids) {
    workerdPids.add(pid);
  }
  const proxyPort = Number(new URL(first.url).port);
  const userPorts = pids.flatMap((pid) => listeningPorts(pid)).filter((p) => p !== proxyPort);
  const direct = userPorts.length === 1;
  const url = direct ? `http://127.0.0.1:${userPorts[0]}` : first.url;

  let nextId = 1;
  const waiting = new Map<number, (r: HostReply) => void>();
  child.on("message", (m: HostReply) => {
    if (m.type === "reply") {
      waiting.get(m.id)?.(m);
      waiting.delete(m.id);
    }
  });
  const call = (req: Omit<HostRequest, "id">): Promise<unknown> => {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, (r) => {
        if (r.type === "reply" && r.ok) {
          resolve(r.result);
        } else {
          reject(new Error(r.type === "reply" && !r.ok ? r.error : "bad reply"));
        }
      });
      child.send({ ...req, id } as HostRequest);
    });
  };

  return {
    kind,
    url,
    wsUrl: url.replace(/^http/, "ws"),
    direct,
    workerdPids: pids,
    hostPid,
    sql: async (className, name, query, ...params) =>
      (await call({ op: "sql", className, name, sql: query, params } as Omit<HostRequest, "id">)) as
        | unknown[]
        | [],
    evict: async (className, name) => {
      await call({ op: "evict", className, name } as Omit<HostRequest, "id">);
    },
    async close() {
      const exited = new Promise<void>((r) => {
        if (child.exitCode !== null) {
          r();
        } else {
          child.once("exit", () => r());
        }
      });
      try {
        child.send({ id: nextId++, op: "close" } satisfies HostRequest);
      } catch {
        // channel already closed
      }
      const timer = setTimeout(() => child.kill("SIGTERM"), 15_000);
      await exited;
      clearTimeout(timer);
      for (const pid of pids) {
        workerdPids.delete(pid);
      }
    },
  };
}

export interface LibsqlProcess {
  url: string;
  pid: number;
  close(): Promise<void>;
}

/** Starts the project's libSQL server (migrated) on `file` in a child process. */
export async function startLibsql(file: string): Promise<LibsqlProcess> {
  const { child, first } = await forkChild<{ type: string; url: string }>(
    "libsql-host.ts",
    [file],
    "libSQL server",
  );
  return { url: first.url, pid: child.pid as number, close: () => stopChild(child) };
}
