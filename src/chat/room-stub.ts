import * as z from "zod";
import type { Bindings } from "../env";
import { roleSchema, roomSchema } from "../shared/api";

/**
 * The Worker's handle on a room's Durable Object (one per room, named by the room id). Other
 * features use it to make membership changes reach live sockets at once.
 */
export function roomStub(env: Bindings, roomId: string) {
  return env.CHAT_ROOM.getByName(roomId);
}

export type RoomStub = ReturnType<typeof roomStub>;

/**
 * Runs `fn` against several rooms' objects in parallel. Used for fan-out after a change that is
 * already committed in libSQL (kick, leave, role change, logout, profile change, room delete):
 * the room calls are idempotent, so one that fails with an error the runtime marks transient is
 * retried (callWithRetries) on a fresh stub. A room that still fails is logged and skipped: its
 * next upgrade re-checks the database, but its open sockets would miss the change until then.
 */
export async function forEachRoom(
  env: Bindings,
  roomIds: readonly string[],
  fn: (stub: RoomStub) => Promise<unknown>,
): Promise<void> {
  const results = await Promise.allSettled(
    roomIds.map((id) => callWithRetries(() => fn(roomStub(env, id)))),
  );
  results.forEach((r, i) => {
    if (r.status === "rejected") {
      const log = { level: "error", message: "room fan-out failed", room: roomIds[i] };
      console.error(JSON.stringify({ ...log, error: String(r.reason) }));
    }
  });
}

/**
 * Whether a Durable Object call may be retried: the runtime sets `retryable` on errors that are
 * transient (a network blip, an object reset by a deploy), and `overloaded` on ones where
 * retrying only adds load (Cloudflare's guidance: don't).
 */
export function isRetryable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) {
    return false;
  }
  const e = err as { retryable?: unknown; overloaded?: unknown };
  return e.retryable === true && e.overloaded !== true;
}

export interface RetryOptions {
  attempts: number;
  /** first delay; each retry doubles it, with ±50% jitter */
  backoffMs: number;
  sleep: (ms: number) => Promise<void>;
}

const defaultRetry: RetryOptions = {
  attempts: 3,
  backoffMs: 100,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Calls `call` until it succeeds, fails with an error that isn't retryable, or attempts run out. */
export async function callWithRetries<T>(
  call: () => Promise<T>,
  options: RetryOptions = defaultRetry,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= options.attempts || !isRetryable(err)) {
        throw err;
      }
      const base = options.backoffMs * 2 ** (attempt - 1);
      await options.sleep(base * (0.5 + Math.random()));
    }
  }
}

/**
 * What the Worker established about a WebSocket upgrade, forwarded to the room in one header.
 * The room trusts nothing else about the connection: not the URL, not any other header.
 */
export const upgradeContextSchema = z.object({
  user: z.object({
    id: z.string(),
    displayName: z.string(),
    isGuest: z.boolean(),
    sessionId: z.string(),
  }),
  role: roleSchema,
  /** Membership start (ms); lets the room refuse an upgrade approved before a removal. */
  joinedAt: z.number(),
  room: roomSchema,
  since: z.number().int().min(0).nullable(),
  epoch: z.string().nullable(),
});
export type UpgradeContext = z.infer<typeof upgradeContextSchema>;

/** Identity headers are ours alone: every client-sent header with this prefix is dropped. */
const PREFIX = "x-chat-";
export const UPGRADE_CONTEXT_HEADER = "X-Chat-Context";

/**
 * Builds the request forwarded to the room: the client's upgrade (so the runtime can complete
 * the WebSocket handshake) minus any X-Chat-* header the client sent and its Authorization,
 * plus the verified context.
 * The value is percent-encoded JSON because header values must be Latin-1 and names aren't.
 */
export function buildUpgradeRequest(incoming: Request, ctx: UpgradeContext): Request {
  const headers = new Headers(incoming.headers);
  for (const name of [...headers.keys()]) {
    if (name.toLowerCase().startsWith(PREFIX)) {
      headers.delete(name);
    }
  }
  headers.delete("authorization");
  headers.set(UPGRADE_CONTEXT_HEADER, encodeURIComponent(JSON.stringify(ctx)));
  // The query (ticket, since, epoch) stays behind: the room reads only the context.
  const url = new URL(incoming.url);
  url.search = "";
  return new Request(url, { method: "GET", headers });
}

/** The room's side: reads the context the Worker set; null if absent or malformed. */
export function readUpgradeContext(req: Request): UpgradeContext | null {
  const raw = req.headers.get(UPGRADE_CONTEXT_HEADER);
  if (raw === null) {
    return null;
  }
  try {
    const parsed = upgradeContextSchema.safeParse(JSON.parse(decodeURIComponent(raw)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
