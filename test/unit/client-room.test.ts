import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchCatchUp } from "../../src/client/catch-up";
import type { HistoryQuery } from "../../src/client/index";
import { ReadState } from "../../src/client/read-state";
import { RoomConnection } from "../../src/client/room-connection";
import type { RoomTransport } from "../../src/client/room-types";
import type { HistoryPage, Member, Message, Presence } from "../../src/shared/api";
import type { ServerFrame } from "../../src/shared/protocol";

// RoomConnection's reactions, driven through a fake WebSocket (no server): what it sends, when
// it reconnects, and when it gives up.

const EPOCH = "e1";

function message(seq: number, patch: Partial<Message> = {}): Message {
  return {
    id: `msg_${seq}`,
    seq,
    roomId: "room_1",
    authorId: "usr_other",
    authorName: "Other",
    content: `m${seq}`,
    clientId: null,
    replyTo: null,
    createdAt: new Date(seq).toISOString(),
    editedAt: null,
    deletedAt: null,
    ...patch,
  };
}

/** A WebSocket stand-in the test drives: `open()`, `receive(frame)`, `serverClose(code)`. */
class FakeSocket extends EventTarget {
  static all: FakeSocket[] = [];
  readyState = 0;
  binaryType = "blob";
  readonly sent: string[] = [];

  constructor(readonly url: string) {
    super();
    FakeSocket.all.push(this);
  }

  open(): void {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }

  receive(frame: ServerFrame): void {
    this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(frame) }));
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code = 1000, reason = ""): void {
    this.serverClose(code, reason);
  }

  serverClose(code: number, reason = ""): void {
    if (this.readyState === 3) {
      return;
    }
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event("close"), { code, reason }));
  }

  frames(): Array<Record<string, unknown>> {
    return this.sent.filter((s) => s !== '{"type":"ping"}').map((s) => JSON.parse(s));
  }
}

function ready(lastSeq: number, resume: "none" | "ok" | "truncated" | "reset" = "ok"): ServerFrame {
  return {
    type: "ready",
    room: {
      id: "room_1",
      name: "R",
      isPrivate: false,
      ownerId: "usr_me",
      createdAt: new Date(0).toISOString(),
      memberCount: 2,
    },
    you: { userId: "usr_me", displayName: "Me", role: "owner" },
    online: [],
    lastSeq,
    readSeq: 0,
    epoch: EPOCH,
    resume,
  };
}

async function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

const rooms: RoomConnection[] = [];
afterEach(() => {
  for (const r of rooms.splice(0)) {
    r.close();
  }
  FakeSocket.all = [];
});

function openRoom(
  pages: HistoryPage[] = [],
  options: { ackTimeoutMs?: number } = {},
  overrides: Partial<RoomTransport> = {},
) {
  const queries: HistoryQuery[] = [];
  let n = 0;
  const transport: RoomTransport = {
    listMessages: async (_room, q) => {
      queries.push(q);
      return pages.shift() ?? { messages: [], nextCursor: null, latestSeq: 0, epoch: EPOCH };
    },
    editMessage: async () => message(1),
    removeMessage: async () => message(1),
    wsTicket: async () => ({ ticket: `t${++n}`, expiresAt: new Date().toISOString() }),
    presence: async () => ({ online: [], offline: [] }),
    socketUrl: (_id, q) => `ws://fake/?ticket=${q.ticket}&since=${q.since}&epoch=${q.epoch}`,
    WebSocket: FakeSocket,
    newId: () => `cid-${++n}`,
    ...overrides,
  };
  const room = new RoomConnection("room_1", transport, {
    minReconnectDelayMs: 10,
    maxReconnectDelayMs: 20,
    heartbeatMs: 0,
    ...options,
  });
  rooms.push(room);
  return { room, queries };
}

async function nextSocket(index: number): Promise<FakeSocket> {
  return waitFor(() => FakeSocket.all[index], `socket #${index + 1}`);
}

/** An empty room whose first socket is open and ready. */
async function openReadyRoom() {
  const { room } = openRoom();
  const ws = await nextSocket(0);
  ws.open();
  ws.receive(ready(0));
  return { room, ws };
}

describe("RoomConnection over a fake socket", () => {
  it("loads the newest page first, then connects with since and epoch from it", async () => {
    const { room, queries } = openRoom([
      { messages: [message(1), message(2)], nextCursor: null, latestSeq: 2, epoch: EPOCH },
    ]);
    const ws = await nextSocket(0);
    expect(queries).toEqual([{ limit: 50 }]);
    expect(ws.url).toBe("ws://fake/?ticket=t1&since=2&epoch=e1");
    ws.open();
    ws.receive(ready(2));
    expect(room.status).toBe("open");
    expect(room.timeline.map((m) => m.seq)).toEqual([1, 2]);
    expect(room.unread).toBe(2);
  });

  it("resumes from the last contiguous seq when a frame goes missing", async () => {
    const { room } = openRoom();
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(ready(0));
    ws.receive({ type: "receive_message", seq: 1, message: message(1) });
    ws.receive({ type: "receive_message", seq: 3, message: message(3) });
    const next = await nextSocket(1);
    expect(next.url).toContain("since=1&");
    expect(room.timeline.map((m) => m.seq)).toEqual([1]);
    next.open();
    next.receive(ready(3));
    next.receive({ type: "receive_message", seq: 2, message: message(2) });
    next.receive({ type: "receive_message", seq: 3, message: message(3) });
    expect(room.timeline.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it("re-sends an unacked message on the next socket and resolves once, with the stored message", async () => {
    const { room } = openRoom([], { ackTimeoutMs: 50 });
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(ready(0));
    const sending = room.send("hello");
    const first = ws.frames().find((f) => f.type === "send_message");
    expect(first).toMatchObject({ content: "hello", clientId: "cid-2", replyTo: null });
    // No ack within ackTimeoutMs: the socket is presumed dead.
    const next = await nextSocket(1);
    next.open();
    next.receive(ready(0));
    expect(next.frames().filter((f) => f.type === "send_message")).toEqual([first]);
    next.receive({ type: "ack", clientId: "cid-2", seq: 1, id: "msg_1" });
    const stored = message(1, { authorId: "usr_me", clientId: "cid-2", content: "hello" });
    next.receive({ type: "receive_message", seq: 1, message: stored });
    await expect(sending).resolves.toEqual(stored);
    expect(room.pending).toEqual([]);
    expect(room.unread, "your own message isn't unread").toBe(0);
  });

  it("rejects the send an error frame names and reports other errors as events", async () => {
    const { room } = openRoom();
    const errors: string[] = [];
    room.on("error", (e) => errors.push(e.code));
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(ready(0));
    const sending = room.send("too fast");
    ws.receive({
      type: "error",
      code: "rate_limited",
      message: "slow down",
      clientId: "cid-2",
      retryAfterMs: 1234,
    });
    await expect(sending).rejects.toMatchObject({
      status: 429,
      code: "rate_limited",
      retryAfterMs: 1234,
    });
    ws.receive({ type: "error", code: "validation_failed", message: "bad frame" });
    expect(errors).toEqual(["validation_failed"]);
  });

  it("refuses an empty or oversized message without touching the socket", async () => {
    const { room } = openRoom();
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(ready(0));
    await expect(room.send("   ")).rejects.toMatchObject({ code: "validation_failed" });
    await expect(room.send("🙂".repeat(4001))).rejects.toMatchObject({ code: "validation_failed" });
    expect(ws.frames().filter((f) => f.type === "send_message")).toEqual([]);
  });

  it("stops for good on close code 4003 and rejects what was pending", async () => {
    const { room } = openRoom();
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(ready(0));
    const sending = room.send("bye").catch((e: unknown) => e);
    ws.serverClose(4003, "kicked");
    expect(room.status).toBe("closed");
    expect(room.closeReason).toEqual({ kind: "kicked", message: "kicked", closeCode: 4003 });
    await expect(sending).resolves.toMatchObject({ code: "forbidden" });
    await new Promise((r) => setTimeout(r, 60));
    expect(FakeSocket.all, "no reconnect after a final close").toHaveLength(1);
  });

  it("reconnects after an ordinary drop and says so in its status", async () => {
    const { room } = openRoom();
    const statuses: string[] = [];
    room.on("status", (s) => statuses.push(s.status));
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(ready(0));
    ws.serverClose(1006);
    const next = await nextSocket(1);
    next.open();
    next.receive(ready(0));
    expect(statuses).toEqual(["open", "reconnecting", "open"]);
  });

  it("throttles typing to one frame for a burst of keystrokes and stops on send", async () => {
    const { room } = openRoom();
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(ready(0));
    for (let i = 0; i < 10; i++) {
      room.typing();
    }
    void room.send("sent").catch(() => {});
    room.stopTyping();
    expect(ws.frames().map((f) => f.type)).toEqual(["typing", "send_message"]);
  });

  it("sends read marks made while offline on the next connect, and only forward", async () => {
    const { room } = openRoom([
      { messages: [message(1), message(2)], nextCursor: null, latestSeq: 2, epoch: EPOCH },
    ]);
    const ws = await nextSocket(0);
    room.markRead(2);
    room.markRead(1);
    expect(room.unread).toBe(0);
    ws.open();
    ws.receive(ready(2));
    expect(ws.frames()).toEqual([{ type: "read", seq: 2 }]);
  });

  it("holds live frames while a reset reloads the newest page, then applies them on top", async () => {
    const newest = { messages: [message(1)], nextCursor: null, latestSeq: 1, epoch: "e2" };
    const { room } = openRoom([
      { messages: [message(7)], nextCursor: null, latestSeq: 7, epoch: EPOCH },
      newest,
    ]);
    const resets: string[] = [];
    room.on("reset", (r) => resets.push(r.reason));
    const ws = await nextSocket(0);
    ws.open();
    ws.receive({ ...ready(1, "reset"), epoch: "e2" } as ServerFrame);
    ws.receive({ type: "receive_message", seq: 2, message: message(2) });
    await waitFor(() => (resets.length ? true : undefined), "the reset");
    expect(room.timeline.map((m) => m.seq)).toEqual([1, 2]);
    expect(room.cursor).toEqual({ since: 2, epoch: "e2" });
  });
});

describe("send() and its clientId", () => {
  it("returns the clientId it queued the message under, the one its ack, error and stored message carry", async () => {
    const { room, ws } = await openReadyRoom();
    const sending = room.send("hello");
    expect(room.pending.map((p) => p.clientId)).toEqual([sending.clientId]);
    expect(ws.frames().find((f) => f.type === "send_message")?.clientId).toBe(sending.clientId);
    ws.receive({ type: "ack", clientId: sending.clientId, seq: 1, id: "msg_1" });
    const stored = message(1, { authorId: "usr_me", clientId: sending.clientId, content: "hello" });
    ws.receive({ type: "receive_message", seq: 1, message: stored });
    await expect(sending).resolves.toEqual(stored);

    const refused = room.send("too fast");
    ws.receive({
      type: "error",
      code: "rate_limited",
      message: "slow down",
      clientId: refused.clientId,
    });
    await expect(refused).rejects.toMatchObject({ code: "rate_limited" });
  });

  it("returns a clientId with sends refused at once, too", async () => {
    const { room } = openRoom();
    const empty = room.send("   ");
    await expect(empty).rejects.toMatchObject({ code: "validation_failed" });
    room.close();
    const late = room.send("after close");
    await expect(late).rejects.toMatchObject({ code: "unavailable" });
    expect(new Set([empty.clientId, late.clientId]).size, "a fresh clientId per send").toBe(2);
    expect(room.pending).toEqual([]);
  });
});

describe("the browser's offline and online events", () => {
  /** Stands in for `window`: the room listens on globalThis where it has addEventListener. */
  function fakeWindow(): EventTarget {
    const win = new EventTarget();
    vi.stubGlobal("addEventListener", win.addEventListener.bind(win));
    vi.stubGlobal("removeEventListener", win.removeEventListener.bind(win));
    return win;
  }

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("drops the socket on offline, keeps sends in the outbox, and on online reconnects and sends them", async () => {
    const win = fakeWindow();
    const { room, ws } = await openReadyRoom();
    const statuses: string[] = [];
    room.on("status", (s) => statuses.push(s.status));

    win.dispatchEvent(new Event("offline"));
    expect(ws.readyState, "the socket is closed at once").toBe(3);
    expect(room.status).toBe("reconnecting");
    const sending = room.send("written offline");
    expect(room.pending.map((p) => [p.clientId, p.state])).toEqual([[sending.clientId, "queued"]]);
    // Reconnect backoff is 10-20 ms here: several attempts would have been made by now.
    await new Promise((r) => setTimeout(r, 100));
    expect(FakeSocket.all, "no attempt while offline").toHaveLength(1);

    win.dispatchEvent(new Event("online"));
    const next = await nextSocket(1);
    next.open();
    next.receive(ready(0));
    expect(next.frames().filter((f) => f.type === "send_message")).toEqual([
      {
        type: "send_message",
        content: "written offline",
        clientId: sending.clientId,
        replyTo: null,
      },
    ]);
    next.receive({ type: "ack", clientId: sending.clientId, seq: 1, id: "msg_1" });
    const stored = message(1, { authorId: "usr_me", clientId: sending.clientId });
    next.receive({ type: "receive_message", seq: 1, message: stored });
    await expect(sending).resolves.toEqual(stored);
    expect(statuses).toEqual(["reconnecting", "open"]);
  });

  it("makes no socket for a room opened offline until the browser is online", async () => {
    const win = fakeWindow();
    const { room } = openRoom();
    win.dispatchEvent(new Event("offline"));
    await new Promise((r) => setTimeout(r, 100));
    expect(FakeSocket.all).toHaveLength(0);
    expect(room.status).toBe("connecting");
    win.dispatchEvent(new Event("online"));
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(ready(0));
    expect(room.status).toBe("open");
  });

  it("stops listening once the room is closed", async () => {
    const win = fakeWindow();
    const { room } = await openReadyRoom();
    room.close();
    win.dispatchEvent(new Event("offline"));
    win.dispatchEvent(new Event("online"));
    await new Promise((r) => setTimeout(r, 60));
    expect(FakeSocket.all).toHaveLength(1);
    expect(room.status).toBe("closed");
  });
});

describe("presence frames", () => {
  const frames: ServerFrame[] = [
    { type: "user_status", userId: "usr_a", displayName: "A", status: "online" },
    { type: "user_status", userId: "usr_me", displayName: "Me", status: "online" },
    {
      type: "user_status",
      userId: "usr_b",
      status: "offline",
      lastSeenAt: "2026-11-21T10:00:00.000Z",
    },
    { type: "user_status", userId: "usr_c", status: "online" },
  ];
  const batch: ServerFrame = {
    type: "user_status_batch",
    changes: frames.map((f) => {
      const { type: _, ...change } = f as Extract<ServerFrame, { type: "user_status" }>;
      return change;
    }),
  };

  async function run(index: number, received: ServerFrame[]) {
    const { room } = openRoom();
    const events: unknown[] = [];
    room.on("presence", (p) => events.push(p));
    const ws = await nextSocket(index);
    ws.open();
    const r = ready(0);
    ws.receive(
      r.type === "ready"
        ? {
            ...r,
            online: [
              { userId: "usr_me", displayName: "Me", role: "owner", joinedAt: r.room.createdAt },
              { userId: "usr_b", displayName: "B", role: "member", joinedAt: r.room.createdAt },
            ],
          }
        : r,
    );
    for (const f of received) {
      ws.receive(f);
    }
    return { events, online: room.online };
  }

  it("applies a user_status_batch exactly like that many user_status frames", async () => {
    const one = await run(0, frames);
    const many = await run(1, [batch]);
    expect(many).toEqual(one);
    expect(one.events).toHaveLength(4);
    expect(one.events[2]).toEqual({
      userId: "usr_b",
      displayName: "B",
      status: "offline",
      lastSeenAt: "2026-11-21T10:00:00.000Z",
    });
    expect(one.online.map((u) => u.userId).sort()).toEqual(["usr_a", "usr_c", "usr_me"]);
  });
});

describe("onlineCount and loadPresence", () => {
  const member = (userId: string): Member => ({
    userId,
    displayName: userId.replace("usr_", "").toUpperCase(),
    role: "member",
    joinedAt: new Date(0).toISOString(),
  });
  const names = (room: RoomConnection) => room.online.map((u) => u.userId).sort();
  const readyWith = (online: Member[], onlineCount?: number): ServerFrame => {
    const r = ready(0);
    return r.type === "ready"
      ? { ...r, online, ...(onlineCount === undefined ? {} : { onlineCount }) }
      : r;
  };

  /**
   * A room open with a ready listing `online` and counting `onlineCount`, whose GET /presence
   * answers are released by the test, one call at a time.
   */
  async function roomWithPresence(online: Member[], onlineCount: number) {
    const calls: Array<(p: Presence) => void> = [];
    const { room } = openRoom(
      [],
      {},
      {
        presence: () => new Promise<Presence>((resolve) => calls.push(resolve)),
      },
    );
    const countsSeen: number[] = [];
    room.on("presence", () => countsSeen.push(room.onlineCount));
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(readyWith(online, onlineCount));
    return { room, calls, ws, countsSeen };
  }

  it("keeps an exact onlineCount from ready and presence frames while online stays partial", async () => {
    const { room, calls, ws, countsSeen } = await roomWithPresence(
      [member("usr_me"), member("usr_a")],
      250,
    );
    expect(names(room)).toEqual(["usr_a", "usr_me"]);
    expect(room.onlineCount).toBe(250);
    ws.receive({
      type: "user_status",
      userId: "usr_z",
      displayName: "Z",
      status: "online",
      onlineCount: 251,
    });
    // An offline for someone the partial list never had only lowers the count.
    ws.receive({ type: "user_status", userId: "usr_q", status: "offline", onlineCount: 250 });
    ws.receive({
      type: "user_status_batch",
      changes: [
        { userId: "usr_a", status: "offline" },
        { userId: "usr_r", status: "offline" },
      ],
      onlineCount: 248,
    });
    expect(names(room)).toEqual(["usr_me", "usr_z"]);
    expect(room.onlineCount).toBe(248);
    // Listeners see the frame's count already applied, for every change of a batch.
    expect(countsSeen).toEqual([251, 250, 248, 248]);
    // Nothing loaded the full list by itself.
    expect(calls).toHaveLength(0);
  });

  it("counts the list itself when a server older than onlineCount sends none", async () => {
    const { room } = openRoom();
    const ws = await nextSocket(0);
    ws.open();
    ws.receive(readyWith([member("usr_me"), member("usr_a")]));
    expect(room.onlineCount).toBe(2);
    ws.receive({ type: "user_status", userId: "usr_b", displayName: "B", status: "online" });
    expect(room.onlineCount).toBe(3);
  });

  it("loadPresence fills online over HTTP, with the changes that arrived meanwhile on top", async () => {
    const { room, calls, ws } = await roomWithPresence([member("usr_me")], 4);
    const loading = room.loadPresence();
    await waitFor(() => calls[0], "the GET /presence call");
    ws.receive({ type: "user_status", userId: "usr_x", status: "offline", onlineCount: 3 });
    calls[0]?.({
      online: ["usr_me", "usr_a", "usr_b", "usr_x"].map(member),
      offline: [],
    });
    const loaded = await loading;
    expect(loaded.map((u) => u.userId).sort()).toEqual(["usr_a", "usr_b", "usr_me"]);
    expect(names(room)).toEqual(["usr_a", "usr_b", "usr_me"]);
    expect(room.onlineCount).toBe(room.online.length);
    // Later frames keep the complete list complete.
    ws.receive({ type: "user_status", userId: "usr_a", status: "offline", onlineCount: 2 });
    expect(names(room)).toEqual(["usr_b", "usr_me"]);
    expect(room.onlineCount).toBe(2);
    expect(calls).toHaveLength(1);
  });

  it("loadPresence loads again when the socket reconnected during the request", async () => {
    const { room, calls, ws } = await roomWithPresence([member("usr_me")], 3);
    const loading = room.loadPresence();
    await waitFor(() => calls[0], "the first GET /presence call");
    ws.serverClose(1006);
    const next = await nextSocket(1);
    next.open();
    next.receive(readyWith([member("usr_me")], 2));
    // Answered from before the reconnect: someone may have left while the socket was down.
    calls[0]?.({ online: ["usr_me", "usr_a", "usr_gone"].map(member), offline: [] });
    await waitFor(() => calls[1], "the second GET /presence call");
    calls[1]?.({ online: ["usr_me", "usr_a"].map(member), offline: [] });
    expect((await loading).map((u) => u.userId).sort()).toEqual(["usr_a", "usr_me"]);
    expect(room.onlineCount).toBe(2);
  });
});

describe("fetchCatchUp", () => {
  const page = (seqs: number[], nextCursor: number | null, epoch = EPOCH): HistoryPage => ({
    messages: seqs.map((s) => message(s)),
    nextCursor,
    latestSeq: 100,
    epoch,
  });

  it("pages forward from just below the oldest held message to the end", async () => {
    const pages = [page([5, 6], 6), page([7], null)];
    const queries: HistoryQuery[] = [];
    const out = await fetchCatchUp(
      async (q) => {
        queries.push(q);
        return pages.shift() ?? page([], null);
      },
      {
        mode: "truncated",
        epoch: EPOCH,
        oldestHeldSeq: 5,
        newestPageLimit: 50,
        cancelled: () => false,
      },
    );
    expect(queries).toEqual([
      { after: 4, limit: 200 },
      { after: 6, limit: 200 },
    ]);
    expect(out?.kind).toBe("refresh");
  });

  it("falls back to the newest page when the epoch changes mid-way, or when cancelled returns null", async () => {
    const pages = [page([5], 5), page([1], null, "e2"), page([1], null, "e2")];
    const out = await fetchCatchUp(async () => pages.shift() ?? page([], null), {
      mode: "truncated",
      epoch: EPOCH,
      oldestHeldSeq: 5,
      newestPageLimit: 50,
      cancelled: () => false,
    });
    expect(out).toMatchObject({ kind: "reset", page: { epoch: "e2" } });
    const none = await fetchCatchUp(async () => page([], null), {
      mode: "reset",
      epoch: EPOCH,
      oldestHeldSeq: null,
      newestPageLimit: 50,
      cancelled: () => true,
    });
    expect(none).toBeNull();
  });
});

describe("ReadState", () => {
  it("moves marks only up, implies delivered from read, and sends each change once", () => {
    const s = new ReadState();
    s.connected(3);
    expect(s.outgoing()).toEqual([]);
    expect(s.mark("read", 2)).toBe(false);
    expect(s.mark("read", 5)).toBe(true);
    expect(s.delivered).toBe(5);
    expect(s.outgoing()).toEqual([{ type: "read", seq: 5 }]);
    expect(s.outgoing()).toEqual([]);
    s.mark("delivered", 9);
    s.confirm("read", 7); // another device read up to 7: nothing to send for it
    expect(s.outgoing()).toEqual([{ type: "delivered", seq: 9 }]);
    expect(s.read).toBe(7);
  });
});
