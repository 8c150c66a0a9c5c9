/**
 * How the bench gets a room with N members on each target, a socket URL per member, history
 * requests, and a room seeded with many messages.
 *
 * - service: real guest users (POST /api/auth/guest), a public room (POST /api/rooms), members
 *   joined over HTTP (POST /api/rooms/:id/join) before anything is timed, sockets authenticated
 *   with `Authorization: Bearer`. Users live in the libSQL file, so they are made once per bench
 *   and reused by every run (the service process restarts between runs, the database doesn't).
 * - ceiling: no accounts; the identity rides in the socket URL's query.
 *
 * Seeding writes straight into the room object's SQLite through the harness
 * (getDurableObjectStorage().exec) with a recursive CTE, matching the schema in
 * src/chat/message-store.ts, then evicts the object so it re-reads its cached last seq.
 */
import type { Endpoint } from "./driver.ts";
import type { Target } from "./server.ts";

export interface RoomAccess {
  readonly kind: Target["kind"];
  /** Makes the pool of identities big enough for `count` members (not timed); true if it made any. */
  prepareUsers(count: number): Promise<boolean>;
  /** A fresh room. */
  createRoom(label: string): Promise<string>;
  /** Makes members 0..count-1 of the pool members of the room and returns their socket URLs. */
  members(roomId: string, count: number): Promise<Endpoint[]>;
  /** One history request as the room's owner; resolves with the HTTP status once the body is read. */
  history(roomId: string, query: string): Promise<{ status: number; body: string }>;
  /** Puts `count` messages (seq 1..count) into an empty room's storage. */
  seed(roomId: string, count: number): Promise<void>;
}

/** Runs `fn` over 0..n-1 with at most `concurrency` in flight. */
export async function pool(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      await fn(next++);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  }
  return JSON.parse(text) as T;
}

/** 60-ish characters, like the fan-out messages. */
const SEED_CONTENT = "seeded history message, the quick brown fox jumps over the dog";

interface User {
  id: string;
  token: string;
}

export class ServiceRooms implements RoomAccess {
  readonly kind = "service" as const;
  private readonly users: User[] = [];
  private readonly joined = new Map<string, number>();
  private readonly owners = new Map<string, User>();
  /** label -> room id: rooms (and their memberships) live in libSQL and are reused by later runs */
  private readonly byLabel = new Map<string, string>();
  private target: Target;

  constructor(target: Target) {
    this.target = target;
  }

  /** The service restarts between runs; the users (in libSQL) and their tokens stay valid. */
  retarget(target: Target): void {
    this.target = target;
  }

  async prepareUsers(count: number): Promise<boolean> {
    const start = this.users.length;
    if (start >= count) {
      return false;
    }
    const made: User[] = new Array(count - start);
    await pool(count - start, 16, async (i) => {
      const res = await fetch(`${this.target.url}/api/auth/guest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ displayName: `Bench user ${start + i}` }),
      });
      const body = await json<{ token: string; user: { id: string } }>(res, "POST /api/auth/guest");
      made[i] = { id: body.user.id, token: body.token };
    });
    this.users.push(...made);
    return true;
  }

  private user(i: number): User {
    const u = this.users[i];
    if (!u) {
      throw new Error(`bench user ${i} was not prepared`);
    }
    return u;
  }

  /**
   * A room for `label`, made on first use and reused by later runs: each run starts a fresh
   * workerd whose Durable Object storage is new, so the room's timeline, presence and sockets
   * start empty while its libSQL row and memberships (made over HTTP, not timed) carry over.
   */
  async createRoom(label: string): Promise<string> {
    const known = this.byLabel.get(label);
    if (known) {
      return known;
    }
    const owner = this.user(0);
    const res = await fetch(`${this.target.url}/api/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ name: `bench ${label}`, isPrivate: false }),
    });
    const room = await json<{ id: string }>(res, "POST /api/rooms");
    this.joined.set(room.id, 1);
    this.owners.set(room.id, owner);
    this.byLabel.set(label, room.id);
    return room.id;
  }

  async members(roomId: string, count: number): Promise<Endpoint[]> {
    await this.prepareUsers(count);
    const have = this.joined.get(roomId) ?? 0;
    if (have < count) {
      await pool(count - have, 16, async (k) => {
        const u = this.user(have + k);
        const res = await fetch(`${this.target.url}/api/rooms/${roomId}/join`, {
          method: "POST",
          headers: { authorization: `Bearer ${u.token}` },
        });
        await json(res, `POST /api/rooms/${roomId}/join`);
      });
      this.joined.set(roomId, count);
    }
    const url = `${this.target.wsUrl}/api/rooms/${roomId}/ws`;
    return this.users.slice(0, count).map((u) => ({
      url,
      userId: u.id,
      headers: { authorization: `Bearer ${u.token}` },
    }));
  }

  async history(roomId: string, query: string): Promise<{ status: number; body: string }> {
    const owner = this.owners.get(roomId) ?? this.user(0);
    const res = await fetch(`${this.target.url}/api/rooms/${roomId}/messages?${query}`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    return { status: res.status, body: await res.text() };
  }

  async seed(roomId: string, count: number): Promise<void> {
    // The first request creates the object and its schema (MessageStore.migrate).
    const first = await this.history(roomId, "limit=1");
    if (first.status !== 200) {
      throw new Error(`history before seeding: HTTP ${first.status} ${first.body.slice(0, 200)}`);
    }
    const owner = this.owners.get(roomId) ?? this.user(0);
    const t0 = Date.now() - count;
    // The room's messages_created trigger writes each row's timeline event, as for a real send.
    await this.target.sql(
      "ChatRoom",
      roomId,
      `INSERT INTO messages (seq, id, author_id, author_name, content, client_id, reply_to, created_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       SELECT i, 'msg_seed' || i, ?, 'Bench user 0', ? || ' #' || i, 'seed-' || i, NULL, ? + i FROM n`,
      count,
      owner.id,
      SEED_CONTENT,
      t0,
    );
    // MessageStore caches the last seq: make the object start over from storage.
    await this.target.evict("ChatRoom", roomId);
    const check = await this.history(roomId, "limit=1");
    const latest = (JSON.parse(check.body) as { latestSeq?: number }).latestSeq;
    if (latest !== count) {
      throw new Error(`seeded ${count} messages but the room reports latestSeq ${latest}`);
    }
  }
}

export class CeilingRooms implements RoomAccess {
  readonly kind = "ceiling" as const;
  private target: Target;
  private counter = 0;

  constructor(target: Target) {
    this.target = target;
  }

  retarget(target: Target): void {
    this.target = target;
  }

  async prepareUsers(): Promise<boolean> {
    return false;
  }

  async createRoom(label: string): Promise<string> {
    return `${label}-${Date.now().toString(36)}-${++this.counter}`;
  }

  async members(roomId: string, count: number): Promise<Endpoint[]> {
    const base = `${this.target.wsUrl}/api/rooms/${encodeURIComponent(roomId)}/ws`;
    return Array.from({ length: count }, (_, i) => ({
      url: `${base}?user=user_${i}&name=${encodeURIComponent(`Bench user ${i}`)}`,
      userId: `user_${i}`,
    }));
  }

  async history(roomId: string, query: string): Promise<{ status: number; body: string }> {
    const res = await fetch(
      `${this.target.url}/api/rooms/${encodeURIComponent(roomId)}/messages?${query}`,
    );
    return { status: res.status, body: await res.text() };
  }

  async seed(roomId: string, count: number): Promise<void> {
    await this.history(roomId, "limit=1");
    const t0 = Date.now() - count;
    // The room's messages_created trigger writes each row's timeline event, as for a real send.
    await this.target.sql(
      "CeilingRoom",
      roomId,
      `INSERT INTO messages (seq, id, author_id, author_name, content, client_id, reply_to, created_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       SELECT i, 'msg_seed' || i, 'user_0', 'Bench user 0', ? || ' #' || i, 'seed-' || i, NULL, ? + i FROM n`,
      count,
      SEED_CONTENT,
      t0,
    );
    const check = await this.history(roomId, "limit=1");
    const latest = (JSON.parse(check.body) as { latestSeq?: number }).latestSeq;
    if (latest !== count) {
      throw new Error(`seeded ${count} messages but the ceiling reports latestSeq ${latest}`);
    }
  }
}
