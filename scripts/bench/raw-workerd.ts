/**
 * A target run by a bare `workerd serve`, the way a deployed Worker runs: one worker, its
 * Durable Objects on a local disk, outbound fetches straight to the network. None of the local
 * tooling wrangler's test harness adds around a worker in the same process: an entry worker in
 * front of every request, an outbound interceptor worker behind every subrequest, the relay of
 * subrequests through Node, the trace collector. That tooling costs RSS per request and per
 * subrequest, which taxes the target that makes a subrequest per upgrade (the service's libSQL
 * read) for work production never does. So the idle scenario's memory figure is taken here
 * (docs/performance.md, "Idle sockets"); the bench also measures it under the harness.
 *
 * The config is written from the target's wrangler.toml as wrangler reads it: the bundle (from
 * buildTarget), compatibility date and flags, [vars] (overridden by `vars`), and the Durable
 * Object bindings with SQLite storage. No static assets (as the bench runs the service by
 * default). It has no `sql`/`evict` (they need the harness); the idle scenario uses neither.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join, relative } from "node:path";
import { unstable_readConfig } from "wrangler";
import { stopChild, type Target, type TargetKind } from "./server.ts";

export interface WorkerShape {
  compatibilityDate: string;
  compatibilityFlags: string[];
  vars: Record<string, string>;
  /** binding name -> Durable Object class (SQLite-backed) */
  durableObjects: Record<string, string>;
}

/** What a bare workerd config needs from a wrangler.toml, as wrangler itself reads the file. */
export function workerShapeOf(configPath: string): WorkerShape {
  const c = unstable_readConfig({ config: configPath });
  return {
    compatibilityDate: c.compatibility_date ?? "",
    compatibilityFlags: c.compatibility_flags ?? [],
    vars: Object.fromEntries(Object.entries(c.vars ?? {}).map(([k, v]) => [k, String(v)])),
    durableObjects: Object.fromEntries(
      c.durable_objects.bindings.map((b: { name: string; class_name: string }) => [
        b.name,
        b.class_name,
      ]),
    ),
  };
}

/** The workerd config (capnp text) for one worker listening on 127.0.0.1:`port`. */
export function workerdConfig(
  shape: WorkerShape,
  modules: { name: string; path: string }[],
  storageDir: string,
  port: number,
): string {
  const q = (s: string) => JSON.stringify(s);
  const classes = [...new Set(Object.values(shape.durableObjects))];
  const bindings = [
    ...Object.entries(shape.vars).map(([name, value]) => `(name = ${q(name)}, text = ${q(value)})`),
    ...Object.entries(shape.durableObjects).map(
      ([name, cls]) => `(name = ${q(name)}, durableObjectNamespace = ${q(cls)})`,
    ),
  ];
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "do-storage", disk = (path = ${q(storageDir)}, writable = true)),
    # Outbound fetches go straight out; "local" so the service reaches the libSQL server here.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = ${q(`127.0.0.1:${port}`)}, http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [${modules.map((m) => `(name = ${q(m.name)}, esModule = embed ${q(m.path)})`).join(", ")}],
  compatibilityDate = ${q(shape.compatibilityDate)},
  compatibilityFlags = [${shape.compatibilityFlags.map(q).join(", ")}],
  bindings = [${bindings.join(", ")}],
  durableObjectNamespaces = [${classes.map((c) => `(className = ${q(c)}, uniqueKey = ${q(c)}, enableSql = true)`).join(", ")}],
  durableObjectStorage = (localDisk = "do-storage"),
  globalOutbound = "internet",
);
`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`workerd exited (${child.exitCode}):\n${output()}`);
    }
    try {
      await (await fetch(`${url}/health`)).arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`workerd did not listen on ${url} within 20 s:\n${output()}`);
}

/**
 * Starts `kind` (bundled in `buildDir` by buildTarget, configured by `configPath`) under a bare
 * workerd with its Durable Objects in `dir`. `track` records the process so stopAll kills it.
 */
export async function startRawTarget(
  kind: TargetKind,
  configPath: string,
  buildDir: string,
  vars: Record<string, string>,
  dir: string,
  env: NodeJS.ProcessEnv,
  track: (child: ChildProcess) => void,
  inspect = false,
): Promise<Target> {
  const shape = workerShapeOf(configPath);
  shape.vars = { ...shape.vars, ...vars };
  const modules = readdirSync(buildDir)
    .filter((f) => f.endsWith(".js") || f.endsWith(".mjs"))
    .map((name) => ({ name, path: join(buildDir, name) }));
  const port = await freePort();
  const file = join(dir, `workerd-${kind}.capnp`);
  // capnp reads an absolute embed path against its import path, not the file system root.
  const embedded = modules.map((m) => ({ ...m, path: relative(dirname(file), m.path) }));
  writeFileSync(file, workerdConfig(shape, embedded, dir, port));
  // The workerd binary wrangler runs (miniflare's dependency), so both runtimes are one build.
  const bin = createRequire(createRequire(import.meta.url).resolve("miniflare"))("workerd")
    .default as string;
  // With `inspect`, the isolate's inspector is open so the idle scenario can force a full GC
  // ("after a full GC"). Only then: an open inspector alone adds ~2 KiB of RSS per idle socket.
  const inspectorPort = inspect ? await freePort() : null;
  const args = ["serve", file, "--experimental"];
  if (inspectorPort !== null) {
    args.push(`--inspector-addr=127.0.0.1:${inspectorPort}`);
  }
  const child = spawn(bin, args, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  track(child);
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url, child, () => output);
  const unsupported = () => Promise.reject(new Error("not available under a bare workerd"));
  return {
    kind,
    url,
    wsUrl: url.replace(/^http/, "ws"),
    direct: true,
    workerdPids: [child.pid as number],
    hostPid: child.pid as number,
    ...(inspectorPort !== null ? { inspectorUrl: `http://127.0.0.1:${inspectorPort}` } : {}),
    sql: unsupported,
    evict: unsupported,
    close: () => stopChild(child),
  };
}
