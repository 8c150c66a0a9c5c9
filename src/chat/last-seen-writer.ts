import { createDb } from "../db/client";
import { touchLastSeen } from "../users/users-repo";
import type { PresenceStore } from "./presence-store";

/** A failed users.last_seen_at write is retried with backoff (1 s doubling, max 64 s), then dropped. */
const MAX_ATTEMPTS = 12;
/** The backoff stops doubling here: 2^6 s = 64 s. */
const MAX_BACKOFF_DOUBLINGS = 6;

/**
 * The room's write-behind of users.last_seen_at to libSQL. Going offline queues the time in the
 * room's SQLite (PresenceStore's last-seen outbox, in the same turn as the offline broadcast);
 * the alarm then calls flush(), the room's only await on another system. A queued time survives
 * hibernation and restarts, is written once, and a failed write is retried by a later alarm.
 */
export class LastSeenWriter {
  constructor(
    private readonly presence: PresenceStore,
    private readonly turso: { url: string | undefined; authToken: string | undefined },
    private readonly roomId: () => string,
  ) {}

  /** How long the next alarm should wait before retrying a failed write (1 s doubling, max 64 s). */
  retryMs(): number {
    const attempts = this.presence.pendingLastSeen().map((p) => p.attempts);
    return 1000 * 2 ** Math.min(MAX_BACKOFF_DOUBLINGS, ...attempts);
  }

  /**
   * Writes the queued values, once each. A failure is logged and retried later with backoff,
   * never thrown (a throwing alarm is retried only a few times, then dropped).
   */
  async flush(): Promise<void> {
    const pending = this.presence.pendingLastSeen();
    if (pending.length === 0) {
      return;
    }
    const db = this.turso.url ? createDb(this.turso.url, this.turso.authToken) : null;
    for (const p of pending) {
      try {
        if (!db) {
          throw new Error("TURSO_DATABASE_URL is not set");
        }
        await touchLastSeen(db, p.userId, p.at);
        this.presence.lastSeenWritten(p.userId, p.at);
      } catch (err) {
        const giveUp = p.attempts + 1 >= MAX_ATTEMPTS;
        const log = { level: "error", message: "last_seen_at write failed", giveUp };
        console.error(JSON.stringify({ ...log, room: this.roomId(), error: String(err) }));
        if (giveUp) {
          this.presence.lastSeenWritten(p.userId, p.at);
        } else {
          this.presence.lastSeenFailed(p.userId);
        }
      }
    }
  }
}
