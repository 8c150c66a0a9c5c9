import { expect, it } from "vitest";
import WebSocket from "ws";
import { classifySeq } from "../../src/chat/resume";
import { apiClient } from "../helpers/api";
import { addMember, createRoom, registerUser, type TestUser } from "../helpers/factories";
import { useService } from "../helpers/service";
import { sleep, waitFor, wsUrl } from "./chat-helpers";

// A small Jepsen-style run (reliability-testing.md §4, DLV-1 at CI size): CLIENTS clients each send
// PER_CLIENT messages into one room, pipelining up to WINDOW unacked sends, dropping their socket
// at random and resending unacked messages under the same clientId after reconnecting with
// since=<last applied seq>, while a nemesis restarts and hibernates the room's object. A checker
// then reads every client's log and the stored history.

const CLIENTS = 5;
const PER_CLIENT = 200;
const WINDOW = 5;
const DROP_P = 0.02;

const service = useService({
  AUTH_RATE_LIMIT: "100000",
  MESSAGE_RATE_LIMIT: "100000",
  PRESENCE_GRACE_MS: "300",
});
const api = apiClient(service);
/** Set by the nemesis: clients hold new sends (not resends) while it evicts the room. */
let paused = false;

interface Received {
  seq: number;
  id: string;
  authorId: string;
  clientId: string | null;
}
interface Interval {
  since: number;
  resume: string;
  readyLastSeq: number;
  received: Received[];
}

/** One chat client with a durable outbox, as a real SDK would keep. */
class ChurnClient {
  readonly intervals: Interval[] = [];
  readonly acks = new Map<string, { seq: number; id: string }>();
  readonly violations: string[] = [];
  applied = 0;
  epoch: string | null = null;
  reconnects = 0;
  private next = 0;
  private readonly pending = new Map<string, number>();
  private ws: WebSocket | null = null;
  private finished = false;

  constructor(
    readonly index: number,
    readonly user: TestUser,
    readonly roomId: string,
  ) {}

  clientIdOf = (i: number) => `c${this.index}-${i}`;
  get done(): boolean {
    return this.acks.size === PER_CLIENT;
  }

  connect(): void {
    if (this.finished) {
      return;
    }
    const url = wsUrl(service, this.roomId, {
      since: this.applied,
      ...(this.epoch ? { epoch: this.epoch } : {}),
    });
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.user.token}` } });
    this.ws = ws;
    let interval: Interval | null = null;
    ws.on("message", (data) => {
      const f = JSON.parse(String(data));
      if (f.type === "ready") {
        interval = { since: this.applied, resume: f.resume, readyLastSeq: f.lastSeq, received: [] };
        this.intervals.push(interval);
        if (f.resume !== "ok") {
          this.violations.push(`resume ${f.resume} from since=${this.applied}`);
        }
        this.epoch = f.epoch;
        this.resendPending();
        this.pump();
      } else if (f.type === "receive_message" || f.type === "message_updated") {
        const verdict = classifySeq(this.applied, f.seq);
        if (verdict !== "next") {
          this.violations.push(`${verdict}: got ${f.seq} after ${this.applied}`);
        }
        this.applied = Math.max(this.applied, f.seq);
        interval?.received.push({
          seq: f.seq,
          id: f.message.id,
          authorId: f.message.authorId,
          clientId: f.message.clientId,
        });
      } else if (f.type === "ack") {
        this.onAck(f.clientId, f.seq, f.id);
      } else if (f.type === "error") {
        this.violations.push(`error ${f.code}: ${f.message}`);
      }
    });
    ws.on("close", () => {
      if (this.ws === ws && !this.finished) {
        this.reconnects++;
        setTimeout(() => this.connect(), 10 + Math.random() * 40);
      }
    });
    ws.on("error", () => {
      // A refused or reset connection; "close" follows and reconnects.
    });
  }

  private onAck(clientId: string, seq: number, id: string): void {
    const before = this.acks.get(clientId);
    if (before && (before.seq !== seq || before.id !== id)) {
      this.violations.push(
        `ack for ${clientId} changed: ${JSON.stringify(before)} -> ${seq}/${id}`,
      );
    }
    this.acks.set(clientId, { seq, id });
    this.pending.delete(clientId);
    this.pump();
  }

  private sendOne(clientId: string): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return;
    }
    ws.send(JSON.stringify({ type: "send_message", content: `content of ${clientId}`, clientId }));
    if (Math.random() < DROP_P) {
      ws.terminate(); // the send may or may not have reached the room
    }
  }

  /** After a reconnect, every unacked message goes again, in order, under the same clientId. */
  private resendPending(): void {
    for (const clientId of [...this.pending.keys()]) {
      this.sendOne(clientId);
    }
  }

  pump(): void {
    while (!paused && this.pending.size < WINDOW && this.next < PER_CLIENT) {
      const clientId = this.clientIdOf(this.next);
      this.pending.set(clientId, this.next);
      this.next++;
      this.sendOne(clientId);
    }
  }

  stop(): void {
    this.finished = true;
    this.ws?.close();
  }
}

/**
 * The runtime evicts an object only between events ("still has active references" otherwise), so
 * the nemesis holds new sends, lets in-flight ones settle, and retries. Sockets stay open for a
 * hibernation; a restart drops them all while their clients may still have unacked sends.
 */
async function evictWhenIdle(roomId: string, mode: "close" | "hibernate"): Promise<void> {
  paused = true;
  try {
    for (let attempt = 1; ; attempt++) {
      await sleep(100);
      try {
        await service.evictRoom(roomId, mode);
        return;
      } catch (err) {
        if (attempt >= 10) {
          throw err;
        }
      }
    }
  } finally {
    paused = false;
  }
}

async function fullHistory(roomId: string, user: TestUser) {
  const all: { seq: number; id: string; authorId: string; clientId: string | null }[] = [];
  let after = 0;
  for (;;) {
    const res = await api("GET", `/api/rooms/${roomId}/messages?after=${after}&limit=200`, {
      token: user.token,
    });
    expect(res.status).toBe(200);
    all.push(...res.body.messages);
    if (res.body.nextCursor === null) {
      return { messages: all, latestSeq: res.body.latestSeq as number };
    }
    after = res.body.nextCursor;
  }
}

it("loses no acked message and delivers every message once, in order, through drops and restarts", async () => {
  const users = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => registerUser(api, `Churn ${i}`)),
  );
  const owner = users[0] as TestUser;
  const room = await createRoom(api, owner, { isPrivate: true });
  for (const u of users.slice(1)) {
    await addMember(api, room, owner, u);
  }
  const clients = users.map((u, i) => new ChurnClient(i, u, room.id));
  for (const c of clients) {
    c.connect();
  }
  const totalAcks = () => clients.reduce((n, c) => n + c.acks.size, 0);
  const total = CLIENTS * PER_CLIENT;

  // The nemesis: restart (sockets dropped), hibernate, restart again, at fixed points of progress.
  const nemesis: string[] = [];
  for (const [at, mode] of [
    [0.3, "close"],
    [0.55, "hibernate"],
    [0.8, "close"],
  ] as const) {
    await waitFor(
      () => (totalAcks() >= total * at ? true : undefined),
      60_000,
      `${at * 100}% of acks`,
    );
    await evictWhenIdle(room.id, mode);
    nemesis.push(`${mode} at ${totalAcks()} acks`);
    for (const c of clients) {
      c.pump();
    }
  }
  await waitFor(
    () => (clients.every((c) => c.done) ? true : undefined),
    60_000,
    "every client to have all its messages acked",
  );

  const { messages, latestSeq } = await fullHistory(room.id, owner);
  // Every client that stays catches up to the end of the timeline.
  await waitFor(
    () => (clients.every((c) => c.applied >= latestSeq) ? true : undefined),
    20_000,
    "every client to apply the timeline up to its last seq",
  );
  for (const c of clients) {
    c.stop();
  }

  // 0. Nothing odd was seen live: no gap, no duplicate, no error, no changed ack.
  expect(clients.flatMap((c) => c.violations.map((v) => `client ${c.index}: ${v}`))).toEqual([]);

  // 1. No lost acked write, and acks name what is stored. 6. No phantoms.
  const byKey = new Map(messages.map((m) => [`${m.authorId}/${m.clientId}`, m]));
  for (const c of clients) {
    for (const [clientId, ack] of c.acks) {
      const stored = byKey.get(`${c.user.id}/${clientId}`);
      expect(stored, `acked ${clientId} is stored`).toBeDefined();
      expect({ seq: stored?.seq, id: stored?.id }).toEqual(ack);
    }
  }
  for (const m of messages) {
    const owner = clients.find((c) => c.user.id === m.authorId);
    expect(owner && m.clientId?.startsWith(`c${owner.index}-`), `no phantom ${m.clientId}`).toBe(
      true,
    );
  }

  // 2. Exactly once, and 3. total order: seqs 1..N contiguous (nothing was edited or deleted).
  expect(messages).toHaveLength(total);
  expect(byKey.size).toBe(total);
  expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(latestSeq).toBe(total);

  // 4. Per-sender FIFO: a client's messages got increasing seqs in the order it sent them.
  for (const c of clients) {
    const seqs = Array.from(
      { length: PER_CLIENT },
      (_, i) => c.acks.get(c.clientIdOf(i))?.seq ?? 0,
    );
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  }

  // 5. Gap-free delivery per connection: each interval starts right after its since, runs without
  // holes, and together the intervals give every client each seq exactly once.
  for (const c of clients) {
    for (const iv of c.intervals) {
      const seqs = iv.received.map((r) => r.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => iv.since + 1 + i));
    }
    const all = c.intervals.flatMap((iv) => iv.received);
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const r of all) {
      expect(byKey.get(`${r.authorId}/${r.clientId}`)?.id).toBe(r.id);
    }
  }

  // The run really exercised the faults it claims to.
  expect(nemesis).toHaveLength(3);
  expect(clients.reduce((n, c) => n + c.reconnects, 0)).toBeGreaterThanOrEqual(CLIENTS * 2);
  await sleep(0);
}, 150_000);
