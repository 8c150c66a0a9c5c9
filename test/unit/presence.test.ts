import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MessageStore, type RoomStorage } from "../../src/chat/message-store";
import {
  type ConnectedUser,
  decideTyping,
  dueOffline,
  enqueuePresence,
  expiredTypists,
  type GraceRow,
  nextAlarmAt,
  offlineChange,
  onlineChange,
  onlineUsers,
  onSocketClosed,
  onSocketOpened,
  presenceDueAt,
  presenceFrames,
  type QueuedPresence,
  readyPresence,
} from "../../src/chat/presence";
import { PresenceStore } from "../../src/chat/presence-store";
import { Emitter } from "../../src/client/emitter";
import { RoomPeers } from "../../src/client/peers";
import type { RoomEvents } from "../../src/client/room-types";
import { iso } from "../../src/shared/api";
import {
  PRESENCE_BATCH_MAX,
  PRESENCE_BATCH_MS,
  PRESENCE_BIG_ROOM_BATCH_MS,
  type PresenceFrame,
  readyFrameSchema,
  serverFrameSchema,
  TYPING_REBROADCAST_MS,
  TYPING_TTL_MS,
} from "../../src/shared/protocol";
import { memoryRoomStorage } from "./sqlite-storage";

const ada = { userId: "usr_ada", displayName: "Ada" };

describe("typing", () => {
  it("broadcasts a start, sets the expiry TYPING_TTL_MS ahead", () => {
    const r = decideTyping(null, true, ada, 1000);
    expect(r).toEqual({
      next: { ...ada, expiresAt: 1000 + TYPING_TTL_MS, broadcastAt: 1000 },
      broadcast: true,
    });
  });

  it("extends on refresh but re-broadcasts at most every TYPING_REBROADCAST_MS", () => {
    const start = decideTyping(null, true, ada, 1000).next;
    const soon = decideTyping(start, true, ada, 1500);
    expect(soon.broadcast).toBe(false);
    expect(soon.next?.expiresAt).toBe(1500 + TYPING_TTL_MS);
    expect(soon.next?.broadcastAt).toBe(1000);
    const later = decideTyping(soon.next, true, ada, 1000 + TYPING_REBROADCAST_MS);
    expect(later.broadcast).toBe(true);
  });

  it("broadcasts a start again after the previous indicator expired", () => {
    const start = decideTyping(null, true, ada, 1000).next;
    expect(decideTyping(start, true, ada, 1000 + TYPING_TTL_MS).broadcast).toBe(true);
  });

  it("broadcasts a stop only for someone shown as typing", () => {
    const start = decideTyping(null, true, ada, 1000).next;
    expect(decideTyping(start, false, ada, 1100)).toEqual({ next: null, broadcast: true });
    expect(decideTyping(null, false, ada, 1100)).toEqual({ next: null, broadcast: false });
  });

  it("expires typists whose time ran out, and only those", () => {
    const rows = [
      { ...ada, expiresAt: 100, broadcastAt: 0 },
      { userId: "usr_bo", displayName: "Bo", expiresAt: 200, broadcastAt: 0 },
    ];
    expect(expiredTypists(rows, 150).map((r) => r.userId)).toEqual(["usr_ada"]);
  });
});

describe("presence", () => {
  it("announces only a user who really was offline", () => {
    expect(onSocketOpened(0, false)).toEqual({ announceOnline: true, endGrace: false });
    expect(onSocketOpened(1, false)).toEqual({ announceOnline: false, endGrace: false });
    expect(onSocketOpened(0, true)).toEqual({ announceOnline: false, endGrace: true });
  });

  it("keeps a user with another tab online, graces the last socket, drops a removed user at once", () => {
    expect(onSocketClosed(1, false)).toBe("stay_online");
    expect(onSocketClosed(0, false)).toBe("start_grace");
    expect(onSocketClosed(0, true)).toBe("offline_now");
  });

  it("takes users offline once their grace period has fully passed", () => {
    const g = (userId: string, goneAt: number): GraceRow => ({
      userId,
      displayName: userId,
      role: "member",
      joinedAt: 0,
      goneAt,
    });
    expect(dueOffline([g("a", 0), g("b", 500)], 1000, 1000).map((r) => r.userId)).toEqual(["a"]);
    expect(dueOffline([g("a", 0)], 999, 1000)).toEqual([]);
  });

  it("arms one alarm for the earliest deadline, or none", () => {
    const base = { graceMs: 1000, now: 50, retryMs: 5000, presenceDueAt: null };
    expect(
      nextAlarmAt({
        ...base,
        earliestTypingExpiry: null,
        earliestGoneAt: null,
        lastSeenPending: false,
      }),
    ).toBeNull();
    expect(
      nextAlarmAt({
        ...base,
        earliestTypingExpiry: 3000,
        earliestGoneAt: 100,
        lastSeenPending: true,
      }),
    ).toBe(1100);
    expect(
      nextAlarmAt({
        ...base,
        earliestTypingExpiry: null,
        earliestGoneAt: null,
        lastSeenPending: true,
      }),
    ).toBe(5050);
    expect(
      nextAlarmAt({
        ...base,
        earliestTypingExpiry: 3000,
        earliestGoneAt: 100,
        presenceDueAt: 40 + PRESENCE_BATCH_MS,
        lastSeenPending: true,
      }),
    ).toBe(40 + PRESENCE_BATCH_MS);
  });
});

// ---- ready.online and ready.onlineCount -------------------------------------------------------

const user = (userId: string, displayName: string): ConnectedUser => ({
  userId,
  displayName,
  role: "member",
  joinedAt: 0,
});

/** The room's per-user index of open sockets (RoomSockets.openUsers): one entry per user. */
const openIndex = (sockets: ConnectedUser[]) => onlineUsers(sockets, []);

describe("the online list of a ready frame", () => {
  const connected = openIndex([user("usr_b", "Bo"), user("usr_a", "Ada"), user("usr_b", "Bo")]);
  const grace = [{ ...user("usr_c", "Cy"), role: "admin" as const, goneAt: 5 }];

  it("lists each online user once, grace users included, you first, then by name", () => {
    const { online, onlineCount } = readyPresence(connected, grace, "usr_c", 100, iso);
    expect(online.map((m) => m.userId)).toEqual(["usr_c", "usr_a", "usr_b"]);
    expect(onlineCount).toBe(3);
    expect(online[0]).toEqual({
      userId: "usr_c",
      displayName: "Cy",
      role: "admin",
      joinedAt: "1970-01-01T00:00:00.000Z",
    });
  });

  it("lists everyone up to the limit, only you above it, and counts everyone", () => {
    const three = [user("usr_1", "Cat"), user("usr_2", "Ann"), user("usr_3", "Ben")];
    const full = readyPresence(openIndex(three), [], "usr_3", 3, iso);
    expect(full.online.map((m) => m.displayName)).toEqual(["Ben", "Ann", "Cat"]);
    expect(full.onlineCount).toBe(3);
    // The 4th joiner makes it a big room (occupancy mode): the list is only you.
    const four = openIndex([...three, user("usr_4", "Dan")]);
    for (const youId of ["usr_4", "usr_2"]) {
      const r = readyPresence(four, [], youId, 3, iso);
      expect(r.online.map((m) => m.userId)).toEqual([youId]);
      expect(r.onlineCount).toBe(4);
    }
    // Someone in the grace period counts towards the limit too.
    const inGrace = [{ ...user("usr_5", "Eve"), goneAt: 1 }];
    const graced = readyPresence(openIndex(three), inGrace, "usr_1", 3, iso);
    expect(graced.online.map((m) => m.userId)).toEqual(["usr_1"]);
    expect(graced.onlineCount).toBe(4);
  });

  it("is everyone (you first, then by name) up to the limit, only you above it, whatever the room", () => {
    // Few distinct names, so ties fall to the id.
    const someone = fc
      .record({ id: fc.integer({ min: 0, max: 80 }), name: fc.constantFrom("a", "B", "b", "é") })
      .map(({ id, name }) => user(`usr_${id}`, name));
    fc.assert(
      fc.property(
        fc.array(someone, { maxLength: 60 }),
        fc.array(someone, { maxLength: 10 }),
        fc.integer({ min: 1, max: 12 }),
        (conn, inGrace, limit) => {
          const youId = conn[0]?.userId ?? "usr_nobody";
          // presence_grace has one row per user (its primary key).
          const rows = [...openIndex(inGrace).values()].map((u) => ({ ...u, goneAt: 1 }));
          const r = readyPresence(openIndex(conn), rows, youId, limit, iso);
          const everyone = new Set([...conn, ...inGrace].map((u) => u.userId));
          expect(r.onlineCount).toBe(everyone.size);
          const ids = r.online.map((m) => m.userId);
          const you = everyone.has(youId) ? [youId] : [];
          if (everyone.size > limit) {
            expect(ids).toEqual(you);
            return;
          }
          expect(new Set(ids)).toEqual(everyone);
          expect(ids.length).toBe(everyone.size);
          expect(ids.slice(0, you.length)).toEqual(you);
          const others = r.online.filter((m) => m.userId !== youId);
          const byName = (a: { displayName: string; userId: string }, b: typeof a) =>
            a.displayName.localeCompare(b.displayName) ||
            (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
          expect(others).toEqual([...others].sort(byName));
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---- batched presence ------------------------------------------------------------------------

const wire = (f: unknown) => serverFrameSchema.parse(JSON.parse(JSON.stringify(f)));

describe("the presence outbox", () => {
  const bo = { userId: "usr_bo", displayName: "Bo" };

  it("keeps one change per user, the newest, in the place of the first", () => {
    let q: QueuedPresence[] = [];
    q = enqueuePresence(q, onlineChange(ada));
    q = enqueuePresence(q, onlineChange(bo));
    q = enqueuePresence(q, offlineChange(ada.userId, 5000));
    expect(q).toEqual([
      { userId: "usr_ada", status: "offline", displayName: null, lastSeenAt: 5000 },
      { userId: "usr_bo", status: "online", displayName: "Bo", lastSeenAt: null },
    ]);
  });

  it("is due PRESENCE_BATCH_MS after its first change (a second in a big room), never when empty", () => {
    expect(presenceDueAt(null, 5, 100)).toBeNull();
    expect(presenceDueAt(1000, 5, 100)).toBe(1000 + PRESENCE_BATCH_MS);
    expect(presenceDueAt(1000, 100, 100)).toBe(1000 + PRESENCE_BATCH_MS);
    // A big room's flushes are mostly a count: one a second is enough.
    expect(presenceDueAt(1000, 101, 100)).toBe(1000 + PRESENCE_BIG_ROOM_BATCH_MS);
  });

  it("flushes one change as the plain user_status frame, with the count and no extra keys", () => {
    expect(presenceFrames([], 0, iso, 100)).toEqual([]);
    const [online] = presenceFrames([onlineChange(bo)], 2, iso, 100);
    expect(JSON.stringify(online)).toBe(
      '{"type":"user_status","userId":"usr_bo","displayName":"Bo","status":"online","onlineCount":2}',
    );
    const [offline] = presenceFrames([offlineChange(bo.userId, 0)], 1, iso, 100);
    expect(JSON.stringify(offline)).toBe(
      '{"type":"user_status","userId":"usr_bo","status":"offline","lastSeenAt":"1970-01-01T00:00:00.000Z","onlineCount":1}',
    );
    expect(wire(online)).toEqual(online);
    expect(wire(offline)).toEqual(offline);
  });

  it("flushes several changes as one user_status_batch, in queue order", () => {
    const frames = presenceFrames([onlineChange(ada), offlineChange(bo.userId, 0)], 7, iso, 100);
    expect(frames).toEqual([
      {
        type: "user_status_batch",
        changes: [
          { userId: "usr_ada", displayName: "Ada", status: "online" },
          { userId: "usr_bo", status: "offline", lastSeenAt: "1970-01-01T00:00:00.000Z" },
        ],
        onlineCount: 7,
      },
    ]);
    expect(wire(frames[0])).toEqual(frames[0]);
  });

  it("splits a huge flush into frames of at most PRESENCE_BATCH_MAX changes", () => {
    const n = PRESENCE_BATCH_MAX * 2 + 1;
    const queue = Array.from({ length: n }, (_, i) =>
      onlineChange({ userId: `usr_${i}`, displayName: `U${i}` }),
    );
    const frames = presenceFrames(queue, n + 3, iso, n + 3);
    expect(frames.map((f) => f.type)).toEqual([
      "user_status_batch",
      "user_status_batch",
      "user_status",
    ]);
    // Sent back to back in one turn: each says the count once the whole flush is applied.
    expect(frames.map((f) => f.onlineCount)).toEqual([n + 3, n + 3, n + 3]);
    const ids = frames.flatMap((f) =>
      f.type === "user_status_batch"
        ? f.changes.map((c) => c.userId)
        : [(f as PresenceFrame & { userId: string }).userId],
    );
    expect(ids).toEqual(queue.map((q) => q.userId));
  });
});

describe("presence in a big room (more online than the ready list holds)", () => {
  const bo = { userId: "usr_bo", displayName: "Bo" };

  it("tells departures and the count, not arrivals", () => {
    const queue = [onlineChange(ada), offlineChange(bo.userId, 0)];
    expect(presenceFrames(queue, 4, iso, 3)).toEqual([
      {
        type: "user_status",
        userId: "usr_bo",
        status: "offline",
        lastSeenAt: "1970-01-01T00:00:00.000Z",
        onlineCount: 4,
      },
    ]);
    // At the limit the list can still be complete: everything goes out.
    expect(presenceFrames(queue, 3, iso, 3)[0]).toMatchObject({
      type: "user_status_batch",
      changes: [{ userId: "usr_ada" }, { userId: "usr_bo" }],
    });
  });

  it("sends only the count when every change is an arrival", () => {
    const frames = presenceFrames([onlineChange(ada), onlineChange(bo)], 101, iso, 100);
    expect(frames).toEqual([{ type: "user_status_batch", changes: [], onlineCount: 101 }]);
    expect(wire(frames[0])).toEqual(frames[0]);
  });

  it("never announces an arrival in a flush whose count is over the limit", () => {
    const change = fc.record({ u: fc.nat({ max: 20 }), on: fc.boolean() });
    fc.assert(
      fc.property(
        fc.array(change, { maxLength: 20 }),
        fc.nat({ max: 30 }),
        fc.nat({ max: 30 }),
        (changes, count, limit) => {
          const queue = changes.map(({ u, on }) =>
            on
              ? onlineChange({ userId: `usr_${u}`, displayName: `U${u}` })
              : offlineChange(`usr_${u}`, u),
          );
          const told = presenceFrames(queue, count, iso, limit).flatMap((f) =>
            f.type === "user_status_batch" ? f.changes : [f],
          );
          const expected = count > limit ? queue.filter((q) => q.status === "offline") : queue;
          expect(told.map((c) => [c.userId, c.status])).toEqual(
            expected.map((q) => [q.userId, q.status]),
          );
        },
      ),
    );
  });
});

describe("the presence outbox in SQLite", () => {
  let storage: RoomStorage & { close(): void };
  let store: PresenceStore;
  beforeEach(() => {
    storage = memoryRoomStorage();
    new MessageStore(storage).migrate(() => "epoch");
    store = new PresenceStore(storage);
  });
  afterEach(() => storage.close());

  it("is the pure queue as an upsert, and keeps the first queue time for the deadline", () => {
    const change = fc.oneof(
      fc.record({ u: fc.integer({ min: 0, max: 4 }), on: fc.constant(true) }),
      fc.record({ u: fc.integer({ min: 0, max: 4 }), on: fc.constant(false) }),
    );
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), (changes) => {
        store.clearPresence();
        let model: QueuedPresence[] = [];
        changes.forEach(({ u, on }, t) => {
          const c = on
            ? onlineChange({ userId: `usr_${u}`, displayName: `U${u}` })
            : offlineChange(`usr_${u}`, 1000 + t);
          model = enqueuePresence(model, c);
          store.queuePresence(c, 1000 + t);
        });
        const pending = store.pendingPresence();
        expect(pending.changes).toEqual(model);
        const first = changes.length === 0 ? null : 1000;
        expect(pending.firstQueuedAt).toBe(first);
        expect(store.firstPresenceQueuedAt()).toBe(first);
      }),
    );
    store.clearPresence();
    expect(store.pendingPresence()).toEqual({ changes: [], firstQueuedAt: null });
  });

  it("is added to a room whose storage predates it (a new migration step)", () => {
    // A room created at schema version 1: no presence outbox yet.
    storage.close();
    storage = memoryRoomStorage();
    new MessageStore(storage).migrate(() => "epoch", 1);
    new PresenceStore(storage).putGrace({ ...ada, role: "member", joinedAt: 0, goneAt: 1 });
    const again = new MessageStore(storage);
    again.migrate(() => "other");
    expect(again.epoch).toBe("epoch");
    const presence = new PresenceStore(storage);
    expect(presence.grace(ada.userId)).not.toBeNull();
    presence.queuePresence(onlineChange(ada), 5);
    expect(presence.pendingPresence().firstQueuedAt).toBe(5);
  });
});

/**
 * The room's presence as the DO runs it, over the pure decisions (sockets, grace rows, the
 * outbox), with every socket's client being the SDK's RoomPeers fed `ready.online` (at most
 * `limit` members) and `ready.onlineCount`, then the flushed frames over the wire schema.
 */
class PresenceModel {
  private readonly sockets: {
    userId: string;
    peers: RoomPeers;
    open: boolean;
    /** The room had more online than `limit` at some point since this socket's ready. */
    sawBigRoom: boolean;
  }[] = [];
  private readonly grace = new Map<string, GraceRow>();
  private queue: QueuedPresence[] = [];
  private now = 0;

  constructor(private readonly limit: number) {}

  private openOf(userId: string) {
    return this.sockets.filter((s) => s.open && s.userId === userId);
  }

  /** The server's online set: an open socket, or in the grace period. */
  online(): string[] {
    const ids = new Set([...this.sockets.filter((s) => s.open).map((s) => s.userId)]);
    for (const id of this.grace.keys()) {
      ids.add(id);
    }
    return [...ids].sort();
  }

  connect(userId: string): void {
    this.now++;
    const others = this.openOf(userId).length;
    const r = onSocketOpened(others, others === 0 && this.grace.has(userId));
    if (r.endGrace) {
      this.grace.delete(userId);
    }
    const peers = new RoomPeers(new Emitter<RoomEvents>());
    const socket = { userId, peers, open: true, sawBigRoom: false };
    this.sockets.push(socket);
    const connected: ConnectedUser[] = this.sockets
      .filter((s) => s.open)
      .map((s) => ({ userId: s.userId, displayName: s.userId, role: "member", joinedAt: 0 }));
    const ready = readyPresence(
      onlineUsers(connected, []),
      [...this.grace.values()],
      userId,
      this.limit,
      iso,
    );
    expect(ready.onlineCount).toBe(this.online().length);
    const frame = readyFrameSchema.parse(
      JSON.parse(JSON.stringify({ type: "ready", ...readyBase, ...ready })),
    );
    peers.replaceOnline(frame.online, frame.onlineCount);
    socket.sawBigRoom = ready.onlineCount > this.limit;
    if (r.announceOnline) {
      this.queue = enqueuePresence(this.queue, onlineChange({ userId, displayName: userId }));
    }
  }

  disconnect(userId: string, pick: number): void {
    this.now++;
    const mine = this.openOf(userId);
    const s = mine[pick % Math.max(1, mine.length)];
    if (!s) {
      return;
    }
    s.open = false;
    if (onSocketClosed(this.openOf(userId).length, false) === "start_grace") {
      this.grace.set(userId, {
        userId,
        displayName: userId,
        role: "member",
        joinedAt: 0,
        goneAt: this.now,
      });
    }
  }

  graceEnds(userId: string): void {
    this.now++;
    if (this.grace.delete(userId) && this.openOf(userId).length === 0) {
      this.queue = enqueuePresence(this.queue, offlineChange(userId, this.now));
    }
  }

  remove(userId: string): void {
    this.now++;
    const closed = this.openOf(userId);
    for (const s of closed) {
      s.open = false;
    }
    const wasInGrace = this.grace.delete(userId);
    if (closed.length > 0 || wasInGrace) {
      this.queue = enqueuePresence(this.queue, offlineChange(userId, this.now));
    }
  }

  /** Every pending change says what the user's status is now (why "last wins" is enough). */
  queueIsCurrent(): boolean {
    const online = new Set(this.online());
    return this.queue.every((q) => (q.status === "online") === online.has(q.userId));
  }

  flush(): void {
    const count = this.online().length;
    const frames = presenceFrames(this.queue, count, iso, this.limit).map(wire);
    this.queue = [];
    for (const s of this.sockets.filter((x) => x.open)) {
      s.sawBigRoom ||= count > this.limit;
      for (const f of frames) {
        if (f.type === "user_status" || f.type === "user_status_batch") {
          s.peers.presence(f);
        }
      }
    }
  }

  /** What each open socket's client believes is online. */
  clientViews(): string[][] {
    return this.sockets
      .filter((s) => s.open)
      .map((s) => s.peers.onlineUsers.map((u) => u.userId).sort());
  }

  /** Like clientViews, for the sockets whose room never had more online than `limit`. */
  smallRoomViews(): string[][] {
    return this.sockets
      .filter((s) => s.open && !s.sawBigRoom)
      .map((s) => s.peers.onlineUsers.map((u) => u.userId).sort());
  }

  /** How many each open socket's client believes are online. */
  clientCounts(): number[] {
    return this.sockets.filter((s) => s.open).map((s) => s.peers.onlineCount);
  }
}

/** The rest of a ready frame, for sending the model's lists through the wire schema. */
const readyBase = {
  room: {
    id: "room_1",
    name: "R",
    isPrivate: false,
    ownerId: "usr_0",
    createdAt: iso(0),
    memberCount: 6,
  },
  you: { userId: "usr_0", displayName: "usr_0", role: "member" },
  lastSeq: 0,
  readSeq: 0,
  epoch: "e",
  resume: "none",
};

const userArb = fc.integer({ min: 0, max: 5 }).map((i) => `usr_${i}`);
const opsArb = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant("connect" as const), user: userArb }) },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant("disconnect" as const),
        user: userArb,
        pick: fc.nat({ max: 3 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("graceEnds" as const), user: userArb }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("remove" as const), user: userArb }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("flush" as const) }) },
  ),
  { maxLength: 60 },
);

type Ops = typeof opsArb extends fc.Arbitrary<infer T> ? T : never;

/** Runs `ops` on a room whose ready lists `limit` members; `settled` runs after every flush. */
function runPresence(ops: Ops, limit: number, settled: (room: PresenceModel) => void): void {
  const room = new PresenceModel(limit);
  for (const o of ops) {
    if (o.k === "flush") {
      room.flush();
      settled(room);
    } else if (o.k === "disconnect") {
      room.disconnect(o.user, o.pick);
    } else {
      room[o.k](o.user);
    }
    expect(room.queueIsCurrent()).toBe(true);
  }
  room.flush();
  settled(room);
}

describe("batched presence converges", () => {
  it("ready.online plus the flushes, applied in order, is the server's online set", () => {
    fc.assert(
      fc.property(opsArb, (ops) =>
        runPresence(ops, 100, (room) => {
          // Right after a flush, every socket agrees with the server.
          for (const view of room.clientViews()) {
            expect(view).toEqual(room.online());
          }
          for (const count of room.clientCounts()) {
            expect(count).toBe(room.online().length);
          }
        }),
      ),
      { numRuns: 500 },
    );
  });

  it("with a partial ready.online, the count is exact and the list never shows anyone offline", () => {
    fc.assert(
      fc.property(opsArb, fc.integer({ min: 1, max: 3 }), (ops, limit) =>
        runPresence(ops, limit, (room) => {
          const online = room.online();
          const counts = room.clientCounts();
          room.clientViews().forEach((view, i) => {
            expect(counts[i]).toBe(online.length);
            expect(online).toEqual(expect.arrayContaining(view));
            if (view.length === counts[i]) {
              expect(view).toEqual(online);
            }
          });
        }),
      ),
      { numRuns: 500 },
    );
  });

  it("keeps every list complete while the room stays within the limit, even when it once was over", () => {
    fc.assert(
      fc.property(opsArb, fc.integer({ min: 1, max: 4 }), (ops, limit) =>
        runPresence(ops, limit, (room) => {
          const online = room.online();
          for (const view of room.smallRoomViews()) {
            // A ready in a room within the limit lists everyone, and nothing is left out after.
            expect(view).toEqual(online);
          }
        }),
      ),
      { numRuns: 500 },
    );
  });
});
