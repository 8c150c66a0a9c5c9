import { resolve } from "node:path";
import { afterAll, beforeAll, inject } from "vitest";
import { createTestHarness } from "wrangler";

const root = resolve(import.meta.dirname, "../..");

export interface Service {
  /** http://127.0.0.1:PORT (no trailing slash) */
  url: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  /** Evicts a room's Durable Object; sockets hibernate (default) or are closed. */
  evictRoom(roomId: string, webSockets?: "hibernate" | "close"): Promise<void>;
  /** Runs SQL inside a room's Durable Object storage (inspection only). */
  roomSql(roomId: string, sql: string, ...params: unknown[]): Promise<unknown[]>;
  close(): Promise<void>;
}

/**
 * Starts the real Worker + Durable Objects in workerd (miniflare, via wrangler's test harness)
 * against the run's libSQL server. `vars` override wrangler.toml [vars] for this file only.
 * bcrypt runs at cost 4 unless a test asks otherwise: the cost is a config value, and the
 * hashing path is the same.
 */
export async function startService(vars: Record<string, string> = {}): Promise<Service> {
  const harness = createTestHarness({
    workers: [
      {
        configPath: resolve(root, "wrangler.toml"),
        prebuiltWorkerDir: inject("workerDir"),
        vars: { TURSO_DATABASE_URL: inject("libsqlUrl"), BCRYPT_COST: "4", ...vars },
      },
    ],
  });
  const { url } = await harness.listen();
  const base = url.href.replace(/\/$/, "");
  const worker = harness.getWorker();
  return {
    url: base,
    wsUrl: base.replace(/^http/, "ws"),
    evictRoom: (roomId, webSockets = "hibernate") =>
      worker.evictDurableObject("ChatRoom", { name: roomId, webSockets }),
    async roomSql(roomId, sql, ...params) {
      const storage = await worker.getDurableObjectStorage("ChatRoom", { name: roomId });
      return storage.exec(sql, ...params);
    },
    close: () => harness.close(),
  };
}

/**
 * The calling file's service: registers a `beforeAll` that starts it (with `startService(vars)`)
 * and an `afterAll` that closes it, in whichever file or `describe` block calls this. Every
 * integration file used to spell out that start/close pair around a `let`; with this, a file
 * starts one service, shared by its tests, and always closes it after them (even when a later
 * hook or a test fails), while `const service = useService(...)` stays a plain module-level
 * constant (`apiClient(service)` reads its url at call time).
 *
 * The returned object forwards every member to the running service, so it can only be used
 * inside a test or a hook: reading it at module level, before `beforeAll` has run (or after
 * `afterAll`), throws and says so.
 */
export function useService(vars: Record<string, string> = {}): Service {
  let running: Service | undefined;
  const current = (): Service => {
    if (!running) {
      throw new Error(
        "useService(): the service is not running. It starts in beforeAll and closes in afterAll, " +
          "so use it inside a test or a hook, not at module level.",
      );
    }
    return running;
  };
  beforeAll(async () => {
    running = await startService(vars);
  });
  afterAll(async () => {
    const started = running;
    running = undefined;
    await started?.close();
  });
  return {
    get url() {
      return current().url;
    },
    get wsUrl() {
      return current().wsUrl;
    },
    evictRoom: (roomId, webSockets) => current().evictRoom(roomId, webSockets),
    roomSql: (roomId, sql, ...params) => current().roomSql(roomId, sql, ...params),
    close: async () => {
      const started = current();
      running = undefined;
      await started.close();
    },
  };
}
