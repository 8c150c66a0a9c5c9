import type { Role } from "../shared/api";
import type { RoomStorage, Row, SqlValue } from "./message-store";
import type { GraceRow, QueuedPresence, TypingRow } from "./presence";

/**
 * The room's typing and presence tables (typing, presence_grace, last_seen_outbox,
 * presence_outbox): the small state that must survive hibernation so typing expires, grace
 * periods end and presence flushes still happen after a wake-up. Same rules as MessageStore
 * (synchronous, one turn with the frames it causes); MessageStore.migrate creates the tables.
 */
export class PresenceStore {
  /** The typing table in memory (see typists()); null until first read. */
  private typingCache: Map<string, TypingRow> | null = null;

  constructor(private readonly storage: RoomStorage) {}

  private exec<T extends Row>(query: string, ...bindings: SqlValue[]): T[] {
    return this.storage.sql.exec<T>(query, ...bindings).toArray();
  }

  /** Forgets cached state after ctx.storage.deleteAll(). */
  forget(): void {
    this.typingCache = null;
  }

  // ---- typing -------------------------------------------------------------------------------

  /** The user's typing row; served from memory (see typists()), since every send asks. */
  typing(userId: string): TypingRow | null {
    return this.typists().get(userId) ?? null;
  }

  allTyping(): TypingRow[] {
    return [...this.typists().values()];
  }

  /**
   * The typing table, cached: loaded once per wake-up, then written through by putTyping and
   * deleteTyping (this object is the table's only writer). Nobody typing, the common case,
   * then costs a send no SQL at all.
   */
  private typists(): Map<string, TypingRow> {
    if (this.typingCache === null) {
      const rows = this.exec<{
        user_id: string;
        display_name: string;
        expires_at: number;
        broadcast_at: number;
      }>("SELECT user_id, display_name, expires_at, broadcast_at FROM typing");
      this.typingCache = new Map(
        rows.map((r) => [
          r.user_id,
          {
            userId: r.user_id,
            displayName: r.display_name,
            expiresAt: r.expires_at,
            broadcastAt: r.broadcast_at,
          },
        ]),
      );
    }
    return this.typingCache;
  }

  putTyping(t: TypingRow): void {
    this.exec(
      `INSERT INTO typing (user_id, display_name, expires_at, broadcast_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,
         expires_at = excluded.expires_at, broadcast_at = excluded.broadcast_at`,
      t.userId,
      t.displayName,
      t.expiresAt,
      t.broadcastAt,
    );
    this.typists().set(t.userId, { ...t });
  }

  deleteTyping(userId: string): void {
    if (this.typists().delete(userId)) {
      this.exec("DELETE FROM typing WHERE user_id = ?", userId);
    }
  }

  // ---- presence grace and last-seen outbox --------------------------------------------------

  grace(userId: string): GraceRow | null {
    return this.graceRows("WHERE user_id = ?", userId)[0] ?? null;
  }

  allGrace(): GraceRow[] {
    return this.graceRows("");
  }

  private graceRows(where: string, ...bindings: SqlValue[]): GraceRow[] {
    return this.exec<{
      user_id: string;
      display_name: string;
      role: string;
      joined_at: number;
      gone_at: number;
    }>(
      `SELECT user_id, display_name, role, joined_at, gone_at FROM presence_grace ${where}`,
      ...bindings,
    ).map((r) => ({
      userId: r.user_id,
      displayName: r.display_name,
      role: r.role as Role,
      joinedAt: r.joined_at,
      goneAt: r.gone_at,
    }));
  }

  putGrace(g: GraceRow): void {
    this.exec(
      `INSERT INTO presence_grace (user_id, display_name, role, joined_at, gone_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, role = excluded.role,
         joined_at = excluded.joined_at, gone_at = excluded.gone_at`,
      g.userId,
      g.displayName,
      g.role,
      g.joinedAt,
      g.goneAt,
    );
  }

  /** Returns whether a row was there (the user was in their grace period). */
  deleteGrace(userId: string): boolean {
    return (
      this.exec("DELETE FROM presence_grace WHERE user_id = ? RETURNING user_id", userId).length > 0
    );
  }

  /** Updates the identity kept for a user in grace (profile or role changed meanwhile). */
  updateGraceIdentity(userId: string, fields: { displayName?: string; role?: Role }): void {
    const g = this.grace(userId);
    if (g) {
      this.putGrace({ ...g, ...fields });
    }
  }

  queueLastSeen(userId: string, at: number): void {
    this.exec(
      `INSERT INTO last_seen_outbox (user_id, at, attempts) VALUES (?, ?, 0)
       ON CONFLICT (user_id) DO UPDATE SET at = MAX(at, excluded.at), attempts = 0`,
      userId,
      at,
    );
  }

  pendingLastSeen(): { userId: string; at: number; attempts: number }[] {
    return this.exec<{ user_id: string; at: number; attempts: number }>(
      "SELECT user_id, at, attempts FROM last_seen_outbox ORDER BY at",
    ).map((r) => ({ userId: r.user_id, at: r.at, attempts: r.attempts }));
  }

  /** Removes a written entry, unless a newer last-seen was queued while the write was in flight. */
  lastSeenWritten(userId: string, at: number): void {
    this.exec("DELETE FROM last_seen_outbox WHERE user_id = ? AND at <= ?", userId, at);
  }

  lastSeenFailed(userId: string): void {
    this.exec("UPDATE last_seen_outbox SET attempts = attempts + 1 WHERE user_id = ?", userId);
  }

  // ---- presence outbox ----------------------------------------------------------------------

  /**
   * Queues a presence change (presence.enqueuePresence as an upsert): it replaces the user's
   * pending change but keeps that one's place and queued_at, so the flush deadline never moves.
   */
  queuePresence(change: QueuedPresence, now: number): void {
    this.exec(
      `INSERT INTO presence_outbox (user_id, status, display_name, last_seen_at, queued_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET status = excluded.status,
         display_name = excluded.display_name, last_seen_at = excluded.last_seen_at`,
      change.userId,
      change.status,
      change.displayName,
      change.lastSeenAt,
      now,
    );
  }

  /** Pending presence changes in the order they were first queued; the earliest queue time. */
  pendingPresence(): { changes: QueuedPresence[]; firstQueuedAt: number | null } {
    const rows = this.exec<{
      user_id: string;
      status: string;
      display_name: string | null;
      last_seen_at: number | null;
      queued_at: number;
    }>(
      `SELECT user_id, status, display_name, last_seen_at, queued_at FROM presence_outbox
       ORDER BY queued_at, rowid`,
    );
    return {
      changes: rows.map((r) => ({
        userId: r.user_id,
        status: r.status === "offline" ? "offline" : "online",
        displayName: r.display_name,
        lastSeenAt: r.last_seen_at,
      })),
      firstQueuedAt: rows[0]?.queued_at ?? null,
    };
  }

  /** Empties the presence outbox (its changes were just sent, in the same turn). */
  clearPresence(): void {
    this.exec("DELETE FROM presence_outbox");
  }

  /** When the oldest pending presence change was queued (the flush deadline's base), or null. */
  firstPresenceQueuedAt(): number | null {
    return (
      this.exec<{ p: number | null }>("SELECT MIN(queued_at) AS p FROM presence_outbox")[0]?.p ??
      null
    );
  }

  /** Earliest deadlines for the alarm (see presence.nextAlarmAt; with firstPresenceQueuedAt). */
  deadlines(): {
    earliestTypingExpiry: number | null;
    earliestGoneAt: number | null;
    lastSeenPending: boolean;
  } {
    const r = this.exec<{ t: number | null; g: number | null; o: number }>(
      `SELECT (SELECT MIN(expires_at) FROM typing) AS t, (SELECT MIN(gone_at) FROM presence_grace) AS g,
         (SELECT COUNT(*) FROM last_seen_outbox) AS o`,
    )[0];
    return {
      earliestTypingExpiry: r?.t ?? null,
      earliestGoneAt: r?.g ?? null,
      lastSeenPending: (r?.o ?? 0) > 0,
    };
  }
}
