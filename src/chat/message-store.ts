import { NO_WATERMARKS, type Watermarks } from "./receipts";
import { MIGRATIONS } from "./room-schema";

/**
 * The room's SQLite (ctx.storage.sql): the schema, the timeline, messages, receipts, tickets and
 * moderation guards (typing and presence live in PresenceStore). Every method is synchronous: the
 * DO's SQL API never yields, so a store call and the broadcast after it run in one turn, and the
 * output gate holds the frames until the write is durable (never `allowUnconfirmed`).
 *
 * The structural type below is the subset of DurableObjectStorage we use, so unit tests can run
 * the same SQL in Node over the `libsql` package.
 */
export type SqlValue = string | number | null | ArrayBuffer;
export type Row = Record<string, SqlValue>;
export interface RoomStorage {
  sql: { exec<T extends Row>(query: string, ...bindings: SqlValue[]): { toArray(): T[] } };
  transactionSync<T>(closure: () => T): T;
}

/** A stored message. `seq` is its creation seq (its address); deleted ones have content "". */
export interface StoredMessage {
  seq: number;
  id: string;
  authorId: string;
  authorName: string;
  content: string;
  clientId: string | null;
  replyTo: number | null;
  createdAt: number;
  editedAt: number | null;
  deletedAt: number | null;
}

export type TimelineKind = "created" | "edited" | "deleted";

/** One timeline event with the message as it is now (a deleted message's text is never replayed). */
export interface TimelineEvent {
  seq: number;
  kind: TimelineKind;
  message: StoredMessage;
}

/** Unread counts saturate here: a badge shows "999+" and the count stays cheap in huge rooms. */
export const UNREAD_COUNT_CAP = 1000;

interface MessageRowRaw extends Row {
  seq: number;
  id: string;
  author_id: string;
  author_name: string;
  content: string;
  client_id: string | null;
  reply_to: number | null;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
}

const MESSAGE_COLUMNS =
  "m.seq, m.id, m.author_id, m.author_name, m.content, m.client_id, m.reply_to, m.created_at, m.edited_at, m.deleted_at";

function toMessage(r: MessageRowRaw): StoredMessage {
  return {
    seq: r.seq,
    id: r.id,
    authorId: r.author_id,
    authorName: r.author_name,
    content: r.content,
    clientId: r.client_id,
    replyTo: r.reply_to,
    createdAt: r.created_at,
    editedAt: r.edited_at,
    deletedAt: r.deleted_at,
  };
}

export class MessageStore {
  /** Last timeline seq, cached: this object is the only writer. Null until migrate() ran. */
  private last: number | null = null;
  private epochValue = "";

  constructor(private readonly storage: RoomStorage) {}

  private exec<T extends Row>(query: string, ...bindings: SqlValue[]): T[] {
    return this.storage.sql.exec<T>(query, ...bindings).toArray();
  }

  /**
   * Creates or upgrades the schema, and makes the room's epoch the first time storage is
   * created. Idempotent; runs in the constructor under blockConcurrencyWhile, and again after
   * deleteAll() wiped everything. `upTo` stops at an older version (tests build old rooms).
   */
  migrate(newEpoch: () => string, upTo = MIGRATIONS.length): void {
    this.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const version = Number(this.meta("schema_version") ?? "0");
    MIGRATIONS.forEach((statements, i) => {
      if (i + 1 <= version || i + 1 > upTo) {
        return;
      }
      this.storage.transactionSync(() => {
        for (const s of statements) {
          this.exec(s);
        }
        this.setMeta("schema_version", String(i + 1));
      });
    });
    if (this.meta("epoch") === null) {
      this.setMeta("epoch", newEpoch());
    }
    this.epochValue = this.meta("epoch") ?? "";
    const top = this.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM timeline")[0];
    this.last = top?.s ?? 0;
  }

  /** Forgets cached state after ctx.storage.deleteAll(); the next migrate() starts afresh. */
  forget(): void {
    this.last = null;
    this.epochValue = "";
  }

  get isReady(): boolean {
    return this.last !== null;
  }

  private meta(key: string): string | null {
    return (
      this.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key)[0]?.value ?? null
    );
  }

  private setMeta(key: string, value: string): void {
    this.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  get epoch(): string {
    return this.epochValue;
  }

  get lastSeq(): number {
    return this.last ?? 0;
  }

  // ---- messages and the timeline ------------------------------------------------------------

  findBySeq(seq: number): StoredMessage | null {
    const r = this.exec<MessageRowRaw>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.seq = ?`,
      seq,
    )[0];
    return r ? toMessage(r) : null;
  }

  findByClientId(authorId: string, clientId: string): StoredMessage | null {
    const r = this.exec<MessageRowRaw>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.author_id = ? AND m.client_id = ?`,
      authorId,
      clientId,
    )[0];
    return r ? toMessage(r) : null;
  }

  /**
   * The times of the user's timeline changes (sends, edits, own deletes) after `from`, newest
   * first, at most `n` (rate-limit.RecentActions loads a user's list with this). One walk of the
   * timeline_actor_at index.
   */
  newestActionTimes(actorId: string, from: number, n: number): number[] {
    return this.exec<{ t: number }>(
      `SELECT at AS t FROM timeline WHERE actor_id = ? AND at > ? ORDER BY at DESC LIMIT ?`,
      actorId,
      from,
      n,
    ).map((r) => r.t);
  }

  /**
   * Stores a new message under the next seq; the messages_created trigger adds its timeline
   * event and moves the author's watermarks, in the same statement. Returns null, storing
   * nothing, when the author already has a message with this clientId (a retry: the caller
   * looks that one up). No other conflict is swallowed.
   */
  insertMessage(m: Omit<StoredMessage, "seq" | "editedAt" | "deletedAt">): StoredMessage | null {
    const seq = this.lastSeq + 1;
    const inserted = this.exec(
      `INSERT INTO messages (seq, id, author_id, author_name, content, client_id, reply_to, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (author_id, client_id) DO NOTHING RETURNING seq`,
      seq,
      m.id,
      m.authorId,
      m.authorName,
      m.content,
      m.clientId,
      m.replyTo,
      m.createdAt,
    );
    if (inserted.length === 0) {
      return null;
    }
    this.last = seq;
    return { ...m, seq, editedAt: null, deletedAt: null };
  }

  /**
   * Records an edit (new content) or a deletion (tombstone: the text is overwritten) as a new
   * event. `countedActor` is who the rate limit charges for it (null: nobody, e.g. a moderator
   * deleting someone else's message).
   */
  applyChange(
    messageSeq: number,
    change: { kind: "edited"; content: string } | { kind: "deleted" },
    now: number,
    countedActor: string | null,
  ): TimelineEvent {
    return this.storage.transactionSync(() => {
      const seq = this.lastSeq + 1;
      if (change.kind === "edited") {
        this.exec(
          "UPDATE messages SET content = ?, edited_at = ? WHERE seq = ?",
          change.content,
          now,
          messageSeq,
        );
      } else {
        this.exec(
          "UPDATE messages SET content = '', deleted_at = ? WHERE seq = ?",
          now,
          messageSeq,
        );
      }
      this.exec(
        "INSERT INTO timeline (seq, kind, message_seq, actor_id, at) VALUES (?, ?, ?, ?, ?)",
        seq,
        change.kind,
        messageSeq,
        countedActor,
        now,
      );
      const message = this.findBySeq(messageSeq);
      if (!message) {
        throw new Error(`message ${messageSeq} vanished inside its own transaction`);
      }
      this.last = seq;
      return { seq, kind: change.kind, message };
    });
  }

  /** Timeline events after `after`, oldest first, at most `limit` (resume replay). */
  eventsAfter(after: number, limit: number): TimelineEvent[] {
    return this.exec<MessageRowRaw & { event_seq: number; kind: string }>(
      `SELECT t.seq AS event_seq, t.kind, ${MESSAGE_COLUMNS}
       FROM timeline t JOIN messages m ON m.seq = t.message_seq
       WHERE t.seq > ? ORDER BY t.seq LIMIT ?`,
      after,
      limit,
    ).map((r) => ({ seq: r.event_seq, kind: r.kind as TimelineKind, message: toMessage(r) }));
  }

  /**
   * One history page by creation seq: `before` walks back (newest `limit` below it), `after`
   * walks forward. Both are primary-key range seeks with LIMIT: no OFFSET, no COUNT. One extra
   * row is read to know whether another page exists.
   */
  page(
    cursor: { before: number } | { after: number },
    limit: number,
  ): { messages: StoredMessage[]; more: boolean } {
    const rows =
      "after" in cursor
        ? this.exec<MessageRowRaw>(
            `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.seq > ? ORDER BY m.seq ASC LIMIT ?`,
            cursor.after,
            limit + 1,
          )
        : this.exec<MessageRowRaw>(
            `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.seq < ? ORDER BY m.seq DESC LIMIT ?`,
            cursor.before,
            limit + 1,
          );
    const more = rows.length > limit;
    const messages = rows.slice(0, limit).map(toMessage);
    if (!("after" in cursor)) {
      messages.reverse();
    }
    return { messages, more };
  }

  /** The newest message (a tombstone if the newest was deleted), or null in an empty room. */
  latestMessage(): StoredMessage | null {
    const r = this.exec<MessageRowRaw>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m ORDER BY m.seq DESC LIMIT 1`,
    )[0];
    return r ? toMessage(r) : null;
  }

  /** Others' live messages above the user's read watermark, counted up to UNREAD_COUNT_CAP. */
  unreadCount(userId: string): number {
    const { readSeq } = this.watermarks(userId);
    const r = this.exec<{ n: number }>(
      `SELECT COUNT(*) AS n FROM (SELECT 1 FROM messages
       WHERE seq > ? AND author_id <> ? AND deleted_at IS NULL LIMIT ?)`,
      readSeq,
      userId,
      UNREAD_COUNT_CAP,
    )[0];
    return r?.n ?? 0;
  }

  // ---- receipts -----------------------------------------------------------------------------

  watermarks(userId: string): Watermarks {
    const r = this.exec<{ d: number; r: number }>(
      "SELECT delivered_seq AS d, read_seq AS r FROM receipts WHERE user_id = ?",
      userId,
    )[0];
    return r ? { deliveredSeq: r.d, readSeq: r.r } : NO_WATERMARKS;
  }

  /** Writes watermarks; MAX() in SQL keeps them monotone even if a caller passed stale values. */
  saveWatermarks(userId: string, w: Watermarks): void {
    this.exec(
      `INSERT INTO receipts (user_id, delivered_seq, read_seq) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET delivered_seq = MAX(delivered_seq, excluded.delivered_seq),
         read_seq = MAX(read_seq, excluded.read_seq)`,
      userId,
      w.deliveredSeq,
      w.readSeq,
    );
  }

  // ---- WebSocket tickets --------------------------------------------------------------------

  insertTicket(
    t: { hash: string; userId: string; sessionId: string; expiresAt: number },
    now: number,
  ): void {
    // Tickets live 60 s; sweeping expired ones here keeps the table tiny without a timer.
    this.exec("DELETE FROM tickets WHERE expires_at <= ?", now);
    this.exec(
      "INSERT INTO tickets (hash, user_id, session_id, expires_at) VALUES (?, ?, ?, ?)",
      t.hash,
      t.userId,
      t.sessionId,
      t.expiresAt,
    );
  }

  /** Single use: the row is deleted whether or not it is still valid. */
  consumeTicket(hash: string, now: number): { userId: string; sessionId: string } | null {
    const r = this.exec<{ user_id: string; session_id: string; expires_at: number }>(
      "DELETE FROM tickets WHERE hash = ? RETURNING user_id, session_id, expires_at",
      hash,
    )[0];
    return r && r.expires_at > now ? { userId: r.user_id, sessionId: r.session_id } : null;
  }

  // ---- moderation guards --------------------------------------------------------------------

  markRemoved(userId: string, at: number): void {
    this.exec(
      `INSERT INTO removed_members (user_id, removed_at) VALUES (?, ?)
       ON CONFLICT (user_id) DO UPDATE SET removed_at = MAX(removed_at, excluded.removed_at)`,
      userId,
      at,
    );
  }

  removedAt(userId: string): number | null {
    return (
      this.exec<{ at: number }>(
        "SELECT removed_at AS at FROM removed_members WHERE user_id = ?",
        userId,
      )[0]?.at ?? null
    );
  }

  /** Remembers a revoked session for an hour (longer than an access token lives). */
  markSessionRevoked(sessionId: string, now: number): void {
    this.exec("DELETE FROM revoked_sessions WHERE revoked_at < ?", now - 3_600_000);
    this.exec(
      "INSERT OR IGNORE INTO revoked_sessions (session_id, revoked_at) VALUES (?, ?)",
      sessionId,
      now,
    );
  }

  isSessionRevoked(sessionId: string): boolean {
    return (
      this.exec("SELECT 1 AS x FROM revoked_sessions WHERE session_id = ?", sessionId).length > 0
    );
  }
}
