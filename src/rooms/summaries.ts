import type { MyRoom } from "../shared/api";

export type RoomSummary = Pick<MyRoom, "unreadCount" | "lastMessage">;

/**
 * A slow or failing room object must not fail the room list: its entry falls back to "nothing
 * unread, no last message" after this long (docs/api-decisions.md, "Lists").
 */
export const SUMMARY_TIMEOUT_MS = 2000;
export const EMPTY_SUMMARY: RoomSummary = { unreadCount: 0, lastMessage: null };

/** Runs `load` (the room object's roomSummary RPC) with a deadline and a logged fallback. */
export async function summaryOrEmpty(
  load: () => Promise<RoomSummary>,
  roomId: string,
  timeoutMs = SUMMARY_TIMEOUT_MS,
): Promise<RoomSummary> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([load(), deadline]);
  } catch (err) {
    console.error(
      JSON.stringify({ level: "warn", message: "roomSummary failed", roomId, error: String(err) }),
    );
    return EMPTY_SUMMARY;
  } finally {
    clearTimeout(timer);
  }
}
