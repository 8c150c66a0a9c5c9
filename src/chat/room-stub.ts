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
 * already committed in libSQL (logout, profile change): a room that fails is logged, not retried,
 * because the next upgrade or send re-checks the database anyway.
 */
export async function forEachRoom(
  env: Bindings,
  roomIds: readonly string[],
  fn: (stub: RoomStub) => Promise<unknown>,
): Promise<void> {
  const results = await Promise.allSettled(roomIds.map((id) => fn(roomStub(env, id))));
  for (const r of results) {
    if (r.status === "rejected") {
      console.error(
        JSON.stringify({ level: "error", message: "room fan-out failed", error: String(r.reason) }),
      );
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
