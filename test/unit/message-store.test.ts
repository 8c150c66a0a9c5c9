import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MessageStore, type RoomStorage, UNREAD_COUNT_CAP } from "../../src/chat/message-store";
import { PresenceStore } from "../../src/chat/presence-store";
import { memoryRoomStorage } from "./sqlite-storage";

let storage: RoomStorage & { close(): void };
let store: MessageStore;
let n = 0;

function send(
  authorId: string,
  over: { clientId?: string | null; createdAt?: number; content?: string } = {},
) {
  const m = insert(authorId, over);
  if (!m) {
    throw new Error(`clientId ${over.clientId} taken`);
  }
  return m;
}

/** Like send, but null when (author, clientId) is taken. */
function insert(
  authorId: string,
  over: { clientId?: string | null; createdAt?: number; content?: string } = {},
) {
  n++;
  return store.insertMessage({
    id: `msg_${n}`,
    authorId,
    authorName: authorId.toUpperCase(),
    content: over.content ?? `text ${n}`,
    clientId: over.clientId === undefined ? `c-${n}` : over.clientId,
    replyTo: null,
    createdAt: over.createdAt ?? 1000 + n,
  });
}

beforeEach(() => {
  storage = memoryRoomStorage();
  store = new MessageStore(storage);
  store.migrate(() => "epoch-A");
});
afterEach(() => storage.close());

describe("MessageStore schema", () => {
  it("makes the epoch once and keeps it across migrations and restarts", () => {
    send("u1");
    const again = new MessageStore(storage);
    again.migrate(() => "epoch-B");
    expect(again.epoch).toBe("epoch-A");
    expect(again.lastSeq).toBe(1);
  });

  it("upgrades a version-2 room (timeline written from JS, no actors): sends, edits and the rate limit work on", () => {
    storage.close();
    storage = memoryRoomStorage();
    const old = new MessageStore(storage);
    old.migrate(() => "epoch-old", 2);
    // What version 2 wrote for a send: the message, its timeline row and the author's receipts.
    storage.sql.exec(
      `INSERT INTO messages (seq, id, author_id, author_name, content, client_id, reply_to, created_at)
       VALUES (1, 'msg_old', 'u1', 'U1', 'old', 'c-old', NULL, 900)`,
    );
    storage.sql.exec("INSERT INTO timeline (seq, kind, message_seq) VALUES (1, 'created', 1)");
    store = new MessageStore(storage);
    store.migrate(() => "unused");
    expect(store.epoch).toBe("epoch-old");
    const m = send("u2", { createdAt: 1000 });
    expect(m.seq).toBe(2);
    store.applyChange(1, { kind: "edited", content: "new" }, 1100, "u1");
    expect(store.eventsAfter(0, 10).map((e) => [e.seq, e.kind])).toEqual([
      [1, "created"],
      [2, "created"],
      [3, "edited"],
    ]);
    expect(store.watermarks("u2")).toEqual({ deliveredSeq: 2, readSeq: 2 });
    // Old events have no actor and don't count; new ones do.
    expect(store.newestActionTimes("u1", 0, 10)).toEqual([1100]);
    expect(store.newestActionTimes("u2", 0, 10)).toEqual([1000]);
  });

  it("starts over with a new epoch after the storage is wiped", () => {
    send("u1");
    for (const { name } of storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()) {
      storage.sql.exec(`DROP TABLE ${name}`);
    }
    store.forget();
    expect(store.isReady).toBe(false);
    store.migrate(() => "epoch-C");
    expect(store.epoch).toBe("epoch-C");
    expect(store.lastSeq).toBe(0);
  });
});

describe("MessageStore timeline", () => {
  it("gives every create, edit and delete the next seq, and addresses messages by creation seq", () => {
    const a = send("u1");
    const b = send("u2");
    const edit = store.applyChange(a.seq, { kind: "edited", content: "new" }, 5000, "u1");
    const del = store.applyChange(b.seq, { kind: "deleted" }, 6000, "u2");
    expect([a.seq, b.seq, edit.seq, del.seq]).toEqual([1, 2, 3, 4]);
    expect(store.lastSeq).toBe(4);
    expect(store.findBySeq(1)).toMatchObject({ content: "new", editedAt: 5000 });
    expect(store.findBySeq(2)).toMatchObject({ content: "", deletedAt: 6000 });
  });

  it("finds a retried send by (author, clientId), and only for that author", () => {
    const m = send("u1", { clientId: "same" });
    expect(store.findByClientId("u1", "same")).toEqual(m);
    expect(store.findByClientId("u2", "same")).toBeNull();
    expect(insert("u1", { clientId: "same", content: "again" })).toBeNull();
    expect(store.lastSeq).toBe(1);
    expect(store.findByClientId("u1", "same")).toEqual(m);
    expect(store.eventsAfter(0, 10)).toHaveLength(1);
    send("u2", { clientId: "same" });
    send("u1", { clientId: null });
    send("u1", { clientId: null });
    expect(store.lastSeq).toBe(4);
  });

  it("replays events with the message as it is now, so deleted text never comes back", () => {
    const a = send("u1", { content: "secret" });
    store.applyChange(a.seq, { kind: "deleted" }, 9, "u1");
    const events = store.eventsAfter(0, 10);
    expect(events.map((e) => [e.seq, e.kind])).toEqual([
      [1, "created"],
      [2, "deleted"],
    ]);
    expect(events.every((e) => e.message.content === "")).toBe(true);
    expect(store.eventsAfter(1, 10).map((e) => e.seq)).toEqual([2]);
    expect(store.eventsAfter(0, 1).map((e) => e.seq)).toEqual([1]);
  });

  it("moves the author's watermarks to a message they send", () => {
    send("u1");
    send("u2");
    expect(store.watermarks("u2")).toEqual({ deliveredSeq: 2, readSeq: 2 });
    expect(store.watermarks("u1")).toEqual({ deliveredSeq: 1, readSeq: 1 });
    expect(store.watermarks("nobody")).toEqual({ deliveredSeq: 0, readSeq: 0 });
  });

  it("never lowers watermarks in SQL, even when asked to", () => {
    store.saveWatermarks("u1", { deliveredSeq: 9, readSeq: 5 });
    store.saveWatermarks("u1", { deliveredSeq: 3, readSeq: 1 });
    expect(store.watermarks("u1")).toEqual({ deliveredSeq: 9, readSeq: 5 });
  });
});

describe("MessageStore history pages", () => {
  beforeEach(() => {
    for (let i = 0; i < 7; i++) {
      send(i % 2 === 0 ? "u1" : "u2");
    }
  });

  it("returns the newest page ascending, and says whether older ones exist", () => {
    const p = store.page({ before: Number.MAX_SAFE_INTEGER }, 3);
    expect(p.messages.map((m) => m.seq)).toEqual([5, 6, 7]);
    expect(p.more).toBe(true);
    const q = store.page({ before: 5 }, 3);
    expect(q.messages.map((m) => m.seq)).toEqual([2, 3, 4]);
    const r = store.page({ before: 2 }, 3);
    expect(r).toMatchObject({ more: false });
    expect(r.messages.map((m) => m.seq)).toEqual([1]);
  });

  it("walks forward with after, ending without more", () => {
    expect(store.page({ after: 0 }, 4).messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    const end = store.page({ after: 4 }, 4);
    expect(end.messages.map((m) => m.seq)).toEqual([5, 6, 7]);
    expect(end.more).toBe(false);
  });

  it("keeps tombstones in place in history", () => {
    store.applyChange(3, { kind: "deleted" }, 1, null);
    const p = store.page({ after: 2 }, 1);
    expect(p.messages[0]).toMatchObject({ seq: 3, content: "", deletedAt: 1 });
  });

  it("pages, dedupes and rate-limits through indexes, never a scan of the room", () => {
    const plan = (sql: string, ...b: (string | number)[]) =>
      storage.sql
        .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...b)
        .toArray()
        .map((r) => r.detail)
        .join(" | ");
    const cols = "m.seq, m.content";
    expect(
      plan(`SELECT ${cols} FROM messages m WHERE m.seq < ? ORDER BY m.seq DESC LIMIT ?`, 5, 3),
    ).toMatch(/SEARCH m USING INTEGER PRIMARY KEY/);
    expect(
      plan(`SELECT ${cols} FROM messages m WHERE m.seq > ? ORDER BY m.seq ASC LIMIT ?`, 5, 3),
    ).toMatch(/SEARCH m USING INTEGER PRIMARY KEY/);
    expect(
      plan("SELECT 1 FROM messages m WHERE m.author_id = ? AND m.client_id = ?", "u", "c"),
    ).toMatch(/messages_author_client/);
    expect(
      plan(
        "SELECT at FROM timeline WHERE actor_id = ? AND at > ? ORDER BY at DESC LIMIT ?",
        "u",
        0,
        5,
      ),
    ).toMatch(/timeline_actor_at/);
    expect(
      plan(
        "SELECT t.seq FROM timeline t JOIN messages m ON m.seq = t.message_seq WHERE t.seq > ? ORDER BY t.seq LIMIT ?",
        1,
        5,
      ),
    ).toMatch(/SEARCH t USING INTEGER PRIMARY KEY/);
  });
});

describe("MessageStore summaries and rate facts", () => {
  it("counts others' live messages above the read watermark", () => {
    send("u1");
    send("u2");
    send("u2");
    const del = send("u2");
    store.applyChange(del.seq, { kind: "deleted" }, 1, "u2");
    expect(store.unreadCount("u1")).toBe(2);
    store.saveWatermarks("u1", { deliveredSeq: 2, readSeq: 2 });
    expect(store.unreadCount("u1")).toBe(1);
    expect(store.unreadCount("u2")).toBe(0);
    expect(store.latestMessage()).toMatchObject({ seq: 4, content: "" });
  });

  it("caps the unread count", () => {
    for (let i = 0; i < UNREAD_COUNT_CAP + 5; i++) {
      send("u2");
    }
    expect(store.unreadCount("u1")).toBe(UNREAD_COUNT_CAP);
  });

  it("lists a user's newest actions inside the window (sends, edits, charged deletes), newest first", () => {
    const m = send("u1", { createdAt: 100 });
    send("u1", { createdAt: 200 });
    store.applyChange(m.seq, { kind: "edited", content: "fixed" }, 300, "u1");
    send("u2", { createdAt: 350 });
    // A moderator's delete of u2's message is charged to nobody.
    store.applyChange(m.seq + 3, { kind: "deleted" }, 360, null);
    send("u1", { createdAt: 400 });
    expect(store.newestActionTimes("u1", 150, 10)).toEqual([400, 300, 200]);
    expect(store.newestActionTimes("u1", 150, 2)).toEqual([400, 300]);
    expect(store.newestActionTimes("u1", 400, 2)).toEqual([]);
    expect(store.newestActionTimes("u2", 0, 10)).toEqual([350]);
  });
});

describe("MessageStore tickets and guards", () => {
  it("consumes a ticket once, and never an expired one", () => {
    store.insertTicket({ hash: "h1", userId: "u1", sessionId: "s1", expiresAt: 2000 }, 1000);
    store.insertTicket({ hash: "h2", userId: "u1", sessionId: "s1", expiresAt: 1500 }, 1000);
    expect(store.consumeTicket("h1", 1999)).toEqual({ userId: "u1", sessionId: "s1" });
    expect(store.consumeTicket("h1", 1999)).toBeNull();
    expect(store.consumeTicket("h2", 1500)).toBeNull();
    expect(store.consumeTicket("nope", 0)).toBeNull();
  });

  it("sweeps expired tickets when a new one is stored", () => {
    store.insertTicket({ hash: "old", userId: "u1", sessionId: "s1", expiresAt: 10 }, 0);
    store.insertTicket({ hash: "new", userId: "u1", sessionId: "s1", expiresAt: 100 }, 50);
    expect(storage.sql.exec("SELECT hash FROM tickets").toArray()).toEqual([{ hash: "new" }]);
  });

  it("remembers removals and revoked sessions", () => {
    expect(store.removedAt("u1")).toBeNull();
    store.markRemoved("u1", 500);
    store.markRemoved("u1", 400);
    expect(store.removedAt("u1")).toBe(500);
    store.markSessionRevoked("s1", 1000);
    expect(store.isSessionRevoked("s1")).toBe(true);
    expect(store.isSessionRevoked("s2")).toBe(false);
  });
});

describe("PresenceStore (typing, grace, last-seen outbox)", () => {
  let presence: PresenceStore;
  beforeEach(() => {
    presence = new PresenceStore(storage);
  });

  it("reports the earliest deadlines for the alarm", () => {
    expect(presence.deadlines()).toEqual({
      earliestTypingExpiry: null,
      earliestGoneAt: null,
      lastSeenPending: false,
    });
    presence.putTyping({ userId: "u1", displayName: "A", expiresAt: 700, broadcastAt: 0 });
    presence.putTyping({ userId: "u2", displayName: "B", expiresAt: 600, broadcastAt: 0 });
    presence.putGrace({ userId: "u3", displayName: "C", role: "member", joinedAt: 0, goneAt: 300 });
    presence.queueLastSeen("u4", 10);
    expect(presence.deadlines()).toEqual({
      earliestTypingExpiry: 600,
      earliestGoneAt: 300,
      lastSeenPending: true,
    });
  });

  it("keeps a newer last-seen queued while an older write completes", () => {
    presence.queueLastSeen("u1", 100);
    presence.queueLastSeen("u1", 200);
    presence.lastSeenWritten("u1", 100);
    expect(presence.pendingLastSeen()).toEqual([{ userId: "u1", at: 200, attempts: 0 }]);
    presence.lastSeenFailed("u1");
    expect(presence.pendingLastSeen()[0]?.attempts).toBe(1);
    presence.lastSeenWritten("u1", 200);
    expect(presence.pendingLastSeen()).toEqual([]);
  });

  it("updates the identity of a user in grace, and tells whether a grace row was removed", () => {
    presence.putGrace({ userId: "u1", displayName: "Old", role: "member", joinedAt: 0, goneAt: 1 });
    presence.updateGraceIdentity("u1", { displayName: "New", role: "admin" });
    expect(presence.grace("u1")).toMatchObject({ displayName: "New", role: "admin" });
    expect(presence.deleteGrace("u1")).toBe(true);
    expect(presence.deleteGrace("u1")).toBe(false);
  });
});
