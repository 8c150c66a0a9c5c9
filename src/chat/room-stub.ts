import type { Bindings } from "../env";

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
