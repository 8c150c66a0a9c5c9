/**
 * The room object's SQLite schema, versioned: one list of statements per version, applied in
 * order by MessageStore.migrate. `PRAGMA user_version` is not available in Durable Object
 * SQLite, so the version lives in the `meta` table. Append a new entry to change the schema;
 * never edit an applied one.
 */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    // messages.seq is the creation seq, the primary key: history pages and replyTo lookups are
    // index seeks, so their cost doesn't grow with the room.
    `CREATE TABLE messages (
      seq INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      author_id TEXT NOT NULL,
      author_name TEXT NOT NULL,
      content TEXT NOT NULL,
      client_id TEXT,
      reply_to INTEGER,
      created_at INTEGER NOT NULL,
      edited_at INTEGER,
      deleted_at INTEGER
    )`,
    // A retried send (same author + clientId, over WS or HTTP) finds the first one here.
    "CREATE UNIQUE INDEX messages_author_client ON messages (author_id, client_id)",
    // The rate limit reads a user's newest send times.
    "CREATE INDEX messages_author_time ON messages (author_id, created_at)",
    // Every change takes the next seq: resume replays from here.
    `CREATE TABLE timeline (
      seq INTEGER PRIMARY KEY,
      kind TEXT NOT NULL,
      message_seq INTEGER NOT NULL
    )`,
    `CREATE TABLE receipts (
      user_id TEXT PRIMARY KEY,
      delivered_seq INTEGER NOT NULL,
      read_seq INTEGER NOT NULL
    )`,
    // Only the SHA-256 of a ticket is stored; the room itself is the binding to the room.
    `CREATE TABLE tickets (
      hash TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    )`,
    `CREATE TABLE typing (
      user_id TEXT PRIMARY KEY,
      display_name TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      broadcast_at INTEGER NOT NULL
    )`,
    `CREATE TABLE presence_grace (
      user_id TEXT PRIMARY KEY,
      display_name TEXT NOT NULL,
      role TEXT NOT NULL,
      joined_at INTEGER NOT NULL,
      gone_at INTEGER NOT NULL
    )`,
    `CREATE TABLE last_seen_outbox (
      user_id TEXT PRIMARY KEY,
      at INTEGER NOT NULL,
      attempts INTEGER NOT NULL
    )`,
    // Guards the race where an upgrade the Worker approved arrives after the removal.
    "CREATE TABLE removed_members (user_id TEXT PRIMARY KEY, removed_at INTEGER NOT NULL)",
    "CREATE TABLE revoked_sessions (session_id TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL)",
  ],
  [
    // Presence changes waiting for the next flush (presence.QueuedPresence): one row per user,
    // the newest change wins; queued_at is kept from the first so the batch deadline holds.
    `CREATE TABLE presence_outbox (
      user_id TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      display_name TEXT,
      last_seen_at INTEGER,
      queued_at INTEGER NOT NULL
    )`,
  ],
  [
    // A new message's timeline event, and its author's watermarks moved to it (sending means you
    // have read up to there), inside the INSERT itself: one statement per send instead of three
    // (each exec from JS costs tens of microseconds; a trigger step costs next to nothing).
    `CREATE TRIGGER messages_created AFTER INSERT ON messages BEGIN
      INSERT INTO timeline (seq, kind, message_seq) VALUES (NEW.seq, 'created', NEW.seq);
      INSERT INTO receipts (user_id, delivered_seq, read_seq) VALUES (NEW.author_id, NEW.seq, NEW.seq)
        ON CONFLICT (user_id) DO UPDATE SET delivered_seq = MAX(delivered_seq, excluded.delivered_seq),
          read_seq = MAX(read_seq, excluded.read_seq);
    END`,
  ],
  [
    // Who made each timeline change and when, so the rate limit can count edits and deletes as
    // well as sends (rate-limit.RecentActions loads a user's newest actions from this index).
    // Events stored before this version have no actor and don't count.
    "ALTER TABLE timeline ADD COLUMN actor_id TEXT",
    "ALTER TABLE timeline ADD COLUMN at INTEGER",
    "CREATE INDEX timeline_actor_at ON timeline (actor_id, at)",
    // The rate limit read messages_author_time; it reads timeline_actor_at now.
    "DROP INDEX messages_author_time",
    "DROP TRIGGER messages_created",
    `CREATE TRIGGER messages_created AFTER INSERT ON messages BEGIN
      INSERT INTO timeline (seq, kind, message_seq, actor_id, at)
        VALUES (NEW.seq, 'created', NEW.seq, NEW.author_id, NEW.created_at);
      INSERT INTO receipts (user_id, delivered_seq, read_seq) VALUES (NEW.author_id, NEW.seq, NEW.seq)
        ON CONFLICT (user_id) DO UPDATE SET delivered_seq = MAX(delivered_seq, excluded.delivered_seq),
          read_seq = MAX(read_seq, excluded.read_seq);
    END`,
  ],
];
