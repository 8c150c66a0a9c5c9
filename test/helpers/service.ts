import { resolve } from "node:path";
import { inject } from "vitest";
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
