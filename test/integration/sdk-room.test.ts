import { describe, expect, it, vi } from "vitest";
import {
  type ChatClient,
  createChatClient,
  type Message,
  type RoomConnection,
  type RoomOptions,
} from "../../src/client/index";
import { apiClient } from "../helpers/api";
import { registerUser, type TestUser, uniq } from "../helpers/factories";
import { useService } from "../helpers/service";

// The SDK's live rooms against the real Worker + Durable Objects (workerd) and libSQL, through
// Node's global WebSocket and fetch, exactly as an app would use them.

const service = useService({
  AUTH_RATE_LIMIT: "1000000",
  MESSAGE_RATE_LIMIT: "1000000",
  PRESENCE_GRACE_MS: "300",
});
const api = apiClient(service);

/** Polls until `check` returns a value (not undefined), or fails saying what it waited for. */
async function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A switchable network between the SDK and the service: `cut()` drops every open socket (a
 * client-side close, as when Wi-Fi goes away) and makes new connections and requests fail until
 * `restore()`. `deaf` swallows incoming frames, so a frame the server processed never gets its
 * answer back (an ack lost with the connection).
 */
class Network {
  down = false;
  deaf = false;
  readonly sockets = new Set<WebSocket>();

  readonly fetch = (input: string, init?: RequestInit): Promise<Response> =>
    this.down ? Promise.reject(new TypeError("network down")) : fetch(input, init);

  readonly WebSocket = (() => {
    const net = this;
    return class NetSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        // A closed port: the attempt fails like an unreachable host would.
        super(net.down ? "ws://127.0.0.1:9/" : url, protocols);
        net.sockets.add(this);
        super.addEventListener("close", () => net.sockets.delete(this));
      }

      override addEventListener(
        type: string,
        listener: EventListenerOrEventListenerObject,
        options?: boolean | AddEventListenerOptions,
      ): void {
        if (type === "message" && typeof listener === "function") {
          const wrapped = (e: Event) => {
            if (!net.deaf) {
              listener.call(this, e);
            }
          };
          wrappers.set(listener, wrapped);
          super.addEventListener(type, wrapped, options);
          return;
        }
        super.addEventListener(type, listener, options);
      }

      override removeEventListener(
        type: string,
        listener: EventListenerOrEventListenerObject,
        options?: boolean | EventListenerOptions,
      ): void {
        const wrapped = typeof listener === "function" ? wrappers.get(listener) : undefined;
        super.removeEventListener(type, wrapped ?? listener, options);
      }
    };
  })();

  cut(): void {
    this.down = true;
    for (const s of this.sockets) {
      s.close(4000, "network cut");
    }
  }

  restore(): void {
    this.down = false;
    this.deaf = false;
  }
}

const wrappers = new WeakMap<object, (e: Event) => void>();

/** Fast reconnects so tests don't wait on production backoff. */
const fast: RoomOptions = { minReconnectDelayMs: 100, maxReconnectDelayMs: 400 };

function clientFor(user: TestUser, net?: Network): ChatClient {
  return createChatClient({
    baseUrl: service.url,
    tokens: { token: user.token, refreshToken: user.refreshToken },
    ...(net ? { fetch: net.fetch, WebSocket: net.WebSocket } : {}),
  });
}

async function openRoom(
  client: ChatClient,
  roomId: string,
  options: RoomOptions = {},
): Promise<RoomConnection> {
  const room = client.room(roomId, { ...fast, ...options });
  await room.whenOpen(10_000);
  return room;
}

/** Every stored message of a room, straight from the HTTP API (the ground truth). */
async function stored(roomId: string, as: TestUser): Promise<Message[]> {
  const out: Message[] = [];
  let after = 0;
  for (;;) {
    const res = await api("GET", `/api/rooms/${roomId}/messages?after=${after}&limit=200`, {
      token: as.token,
    });
    expect(res.status).toBe(200);
    out.push(...res.body.messages);
    if (res.body.nextCursor === null) {
      return out;
    }
    after = res.body.nextCursor;
  }
}

async function postAs(user: TestUser, roomId: string, content: string): Promise<Message> {
  const res = await api("POST", `/api/rooms/${roomId}/messages`, {
    token: user.token,
    json: { content },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function setup(isPrivate = false) {
  const owner = await registerUser(api, `Owner ${uniq()}`);
  const guest = await registerUser(api, `Member ${uniq()}`);
  const ownerClient = clientFor(owner);
  const room = await ownerClient.rooms.create({ name: `SDK ${uniq()}`, isPrivate });
  if (isPrivate) {
    const invite = await ownerClient.invites.create(room.id, { maxUses: 1 });
    await clientFor(guest).invites.accept(invite.token);
  } else {
    await clientFor(guest).rooms.join(room.id);
  }
  return { owner, guest, ownerClient, room };
}

describe("client.room: live rooms against the real service", () => {
  it("sends, acks with the stored message and delivers to the other member in order", async () => {
    const { owner, guest, ownerClient, room } = await setup();
    const guestClient = clientFor(guest);
    const a = await openRoom(ownerClient, room.id);
    const b = await openRoom(guestClient, room.id);
    const received: Message[] = [];
    b.on("message", (m) => received.push(m));

    const sending = a.send("hello");
    expect(a.pending.map((p) => p.clientId)).toEqual([sending.clientId]);
    const sent = await sending;
    expect(sent).toMatchObject({
      content: "hello",
      authorId: owner.id,
      roomId: room.id,
      clientId: sending.clientId,
    });
    expect(a.timeline.map((m) => m.content)).toEqual(["hello"]);
    expect(a.pending).toEqual([]);
    const second = await a.send("world", { replyTo: sent.seq });
    expect(second.replyTo).toBe(sent.seq);

    await waitFor(() => (received.length === 2 ? true : undefined), 5000, "both messages at b");
    expect(received.map((m) => m.seq)).toEqual([sent.seq, second.seq]);
    expect(b.unread, "others' messages above b's read watermark").toBe(2);
    b.markRead();
    expect(b.unread).toBe(0);
    expect(a.unread, "your own messages are never unread").toBe(0);

    await a.edit(sent.seq, "hello, edited");
    await waitFor(
      () => (b.timeline[0]?.content === "hello, edited" ? true : undefined),
      5000,
      "the edit at b",
    );
    await a.remove(second.seq);
    await waitFor(() => (b.timeline[1]?.deletedAt ? true : undefined), 5000, "the tombstone at b");
    expect(b.timeline[1]?.content).toBe("");
    ownerClient.close();
    guestClient.close();
  });

  it("shows typing (throttled, cleared on send), presence with a grace period and read receipts", async () => {
    const { owner, guest, ownerClient, room } = await setup();
    const guestClient = clientFor(guest);
    const a = await openRoom(ownerClient, room.id);
    const typing: string[] = [];
    const presence: string[] = [];
    const receipts: string[] = [];
    a.on("typing", (t) => typing.push(`${t.displayName}:${t.isTyping}`));
    a.on("presence", (p) => presence.push(`${p.userId === guest.id ? "guest" : "?"}:${p.status}`));
    a.on("receipt", (r) =>
      receipts.push(`${r.userId === owner.id ? "owner" : "guest"}:${r.kind}:${r.seq}`),
    );

    const b = await openRoom(guestClient, room.id);
    await waitFor(
      () => (presence.includes("guest:online") ? true : undefined),
      5000,
      "guest online",
    );
    expect(a.online.map((u) => u.userId).sort()).toEqual([owner.id, guest.id].sort());
    expect(b.online.map((u) => u.userId).sort()).toEqual([owner.id, guest.id].sort());

    b.typing();
    b.typing();
    b.typing();
    await waitFor(() => (a.typingUsers.length === 1 ? true : undefined), 5000, "guest typing at a");
    expect(a.typingUsers[0]?.userId).toBe(guest.id);
    const m = await b.send("done typing");
    await waitFor(
      () => (a.typingUsers.length === 0 ? true : undefined),
      5000,
      "typing cleared by the send",
    );
    expect(typing).toEqual([`${guest.displayName}:true`, `${guest.displayName}:false`]);

    await waitFor(() => (a.timeline.length === 1 ? true : undefined), 5000, "the message at a");
    expect(a.unread).toBe(1);
    a.markRead(m.seq);
    expect(a.unread).toBe(0);
    // The server moves the sender's read watermark by itself; a's read is a receipt b sees.
    await waitFor(
      () => (b.receipts.get(owner.id)?.readSeq === m.seq ? true : undefined),
      5000,
      "owner's read receipt at guest",
    );

    b.close();
    await waitFor(
      () => (presence.includes("guest:offline") ? true : undefined),
      5000,
      "guest offline after the 300 ms grace period",
    );
    expect(a.online.map((u) => u.userId)).toEqual([owner.id]);
    // The sender's own watermarks moved with the send, silently; a's read (which implies
    // delivered) was broadcast.
    expect(receipts).toEqual([`owner:delivered:${m.seq}`, `owner:read:${m.seq}`]);
    ownerClient.close();
    guestClient.close();
  });

  it("resumes after a forced disconnect with every message sent meanwhile, in order, once", async () => {
    const { owner, guest, ownerClient, room } = await setup();
    const net = new Network();
    const guestClient = clientFor(guest, net);
    await postAs(owner, room.id, "before");
    const b = await openRoom(guestClient, room.id);
    expect(b.timeline.map((m) => m.content)).toEqual(["before"]);
    const seen: number[] = [];
    b.on("message", (m) => seen.push(m.seq));
    const statuses: string[] = [];
    b.on("status", (s) => statuses.push(s.status));

    // The room's object drops every socket, and the network stays down while others talk.
    net.down = true;
    await service.evictRoom(room.id, "close");
    await waitFor(
      () => (b.status === "reconnecting" ? true : undefined),
      5000,
      "b to notice the drop",
    );
    const meanwhile: Message[] = [];
    for (let i = 0; i < 8; i++) {
      meanwhile.push(await postAs(owner, room.id, `meanwhile ${i}`));
    }
    const edited = meanwhile[2]!;
    await api("PATCH", `/api/rooms/${room.id}/messages/${edited.seq}`, {
      token: owner.token,
      json: { content: "meanwhile 2, edited" },
    });
    await api("DELETE", `/api/rooms/${room.id}/messages/${meanwhile[5]!.seq}`, {
      token: owner.token,
    });

    net.restore();
    b.reconnect();
    await waitFor(() => (b.status === "open" ? true : undefined), 10_000, "b to reconnect");
    const truth = await stored(room.id, owner);
    await waitFor(
      () => (b.cursor?.since === truth.length + 2 ? true : undefined),
      5000,
      "b to apply every event (8 sends, an edit, a delete)",
    );
    expect(b.timeline).toEqual(truth);
    expect(seen, "each missed message announced once, in order").toEqual(
      meanwhile.map((m) => m.seq),
    );
    expect(b.info?.resume).toBe("ok");
    expect(statuses).toEqual(["reconnecting", "open"]);
    ownerClient.close();
    guestClient.close();
  });

  it("keeps a send made while offline and delivers it once the network is back", async () => {
    const { guest, owner, ownerClient, room } = await setup();
    const net = new Network();
    const guestClient = clientFor(guest, net);
    const b = await openRoom(guestClient, room.id);
    net.cut();
    await waitFor(() => (b.status !== "open" ? true : undefined), 5000, "b to see the cut");
    const sending = b.send("written offline");
    expect(b.pending.map((p) => [p.content, p.state])).toEqual([["written offline", "queued"]]);
    net.restore();
    b.reconnect();
    const m = await sending;
    expect(m.content).toBe("written offline");
    const truth = await stored(room.id, owner);
    expect(truth.filter((x) => x.content === "written offline")).toHaveLength(1);
    ownerClient.close();
    guestClient.close();
  });

  it("drops the socket when the browser goes offline and on online reconnects and delivers what was sent meanwhile", async () => {
    const { guest, owner, ownerClient, room } = await setup();
    // Stands in for `window`: the room listens on globalThis where it has addEventListener.
    const win = new EventTarget();
    vi.stubGlobal("addEventListener", win.addEventListener.bind(win));
    vi.stubGlobal("removeEventListener", win.removeEventListener.bind(win));
    try {
      const net = new Network();
      const guestClient = clientFor(guest, net);
      const b = await openRoom(guestClient, room.id);
      expect(net.sockets.size).toBe(1);

      // The network itself stays up: only the browser's event can keep the room off it.
      win.dispatchEvent(new Event("offline"));
      expect(b.status).toBe("reconnecting");
      await waitFor(() => (net.sockets.size === 0 ? true : undefined), 5000, "the socket to close");
      const sending = b.send("written offline");
      expect(b.pending.map((p) => [p.clientId, p.state])).toEqual([[sending.clientId, "queued"]]);
      await new Promise((r) => setTimeout(r, 800)); // twice the reconnect backoff's cap
      expect(net.sockets.size, "no socket while offline").toBe(0);
      expect(b.status).toBe("reconnecting");
      expect((await stored(room.id, owner)).map((m) => m.content)).toEqual([]);

      win.dispatchEvent(new Event("online"));
      const m = await sending;
      expect(m).toMatchObject({ content: "written offline", clientId: sending.clientId });
      expect(b.status).toBe("open");
      const truth = await stored(room.id, owner);
      expect(truth.filter((x) => x.clientId === sending.clientId)).toHaveLength(1);
      ownerClient.close();
      guestClient.close();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("stores a message exactly once when the connection drops after the server got it but before the ack came back", async () => {
    const { guest, owner, ownerClient, room } = await setup();
    const net = new Network();
    const guestClient = clientFor(guest, net);
    const b = await openRoom(guestClient, room.id);

    net.deaf = true; // the frame goes out and is stored; the ack and the broadcast are lost
    const sending = b.send("mid-send");
    await waitFor(
      () => (b.pending[0]?.state === "sent" ? true : undefined),
      2000,
      "the frame to be written to the socket",
    );
    // Wait until the server has it, so the re-send after reconnect is a true duplicate.
    const deadline = Date.now() + 5000;
    let storedOnce: Message[] = [];
    while (Date.now() < deadline) {
      storedOnce = (await stored(room.id, owner)).filter((m) => m.content === "mid-send");
      if (storedOnce.length > 0) {
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(storedOnce, "the server stored the message before the drop").toHaveLength(1);
    expect(b.pending).toHaveLength(1);

    net.cut();
    net.restore();
    b.reconnect();
    const m = await sending;
    expect(m.id).toBe(storedOnce[0]!.id);
    expect(m.seq).toBe(storedOnce[0]!.seq);
    const all = await stored(room.id, owner);
    expect(
      all.filter((x) => x.content === "mid-send"),
      "exactly one stored message",
    ).toHaveLength(1);
    expect(b.timeline.filter((x) => x.content === "mid-send")).toHaveLength(1);
    expect(b.pending).toEqual([]);
    ownerClient.close();
    guestClient.close();
  });

  it("reloads the newest page and emits reset when the saved cursor is from another epoch", async () => {
    const { owner, ownerClient, room } = await setup();
    for (let i = 0; i < 3; i++) {
      await postAs(owner, room.id, `m${i}`);
    }
    const resets: string[] = [];
    const room2 = ownerClient.room(room.id, {
      ...fast,
      resume: { since: 2, epoch: "an-old-epoch" },
      messages: [],
    });
    room2.on("reset", (r) => resets.push(r.reason));
    await room2.whenOpen(10_000);
    await waitFor(() => (resets.length > 0 ? true : undefined), 5000, "the reset event");
    expect(resets).toEqual(["reset"]);
    expect(room2.info?.resume).toBe("reset");
    expect(room2.timeline.map((m) => m.content)).toEqual(["m0", "m1", "m2"]);
    expect(room2.cursor?.epoch).not.toBe("an-old-epoch");
    ownerClient.close();
  });

  it("drops a cursor beyond the room's last seq after the upgrade is refused, and starts from the newest page", async () => {
    const { owner, ownerClient, room } = await setup();
    const first = await postAs(owner, room.id, "only");
    const page = await ownerClient.messages.list(room.id);
    const r = ownerClient.room(room.id, { ...fast, resume: { since: 999, epoch: page.epoch } });
    await r.whenOpen(15_000);
    expect(r.timeline.map((m) => m.seq)).toEqual([first.seq]);
    expect(r.cursor).toEqual({ since: page.latestSeq, epoch: page.epoch });
    ownerClient.close();
  });

  it("persists the cursor through a store and resumes from it in a new session", async () => {
    const { owner, ownerClient, room } = await setup();
    let saved: { since: number; epoch: string } | null = null;
    const store = {
      load: () => saved,
      save: (c: { since: number; epoch: string }) => {
        saved = c;
      },
    };
    const r1 = await openRoom(ownerClient, room.id, { store });
    await r1.send("one");
    expect(saved).toEqual(r1.cursor);
    r1.close();
    await postAs(owner, room.id, "two");
    const seen: string[] = [];
    const r2 = ownerClient.room(room.id, { ...fast, store });
    r2.on("message", (m) => seen.push(m.content));
    await r2.whenOpen(10_000);
    await waitFor(() => (seen.length === 1 ? true : undefined), 5000, "the missed message");
    expect(seen).toEqual(["two"]);
    expect(r2.info?.resume).toBe("ok");
    ownerClient.close();
  });

  it("pages older history in with loadOlder until there is none", async () => {
    const { owner, ownerClient, room } = await setup();
    for (let i = 0; i < 7; i++) {
      await postAs(owner, room.id, `m${i}`);
    }
    const r = await openRoom(ownerClient, room.id, { historyLimit: 3 });
    expect(r.timeline.map((m) => m.content)).toEqual(["m4", "m5", "m6"]);
    expect(r.hasOlder).toBe(true);
    const older = await r.loadOlder();
    expect(older.map((m) => m.content)).toEqual(["m1", "m2", "m3"]);
    await r.loadOlder();
    expect(r.timeline.map((m) => m.content)).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
    expect(r.hasOlder).toBe(false);
    expect(await r.loadOlder()).toEqual([]);
    ownerClient.close();
  });

  it("stops reconnecting with reason kicked when removed, and rejects the pending send", async () => {
    const { guest, ownerClient, room } = await setup(true);
    const net = new Network();
    const guestClient = clientFor(guest, net);
    const b = await openRoom(guestClient, room.id);
    const closed = new Promise((resolve) => b.on("status", (s) => s.reason && resolve(s.reason)));
    net.deaf = true; // keep the send pending
    const pending = b.send("about to be kicked").catch((e: unknown) => e);
    await ownerClient.rooms.kick(room.id, guest.id);
    await expect(closed).resolves.toMatchObject({ kind: "kicked", closeCode: 4003 });
    expect(b.status).toBe("closed");
    await expect(pending).resolves.toMatchObject({ name: "ChatApiError", code: "forbidden" });
    ownerClient.close();
    guestClient.close();
  });

  it("closes with reason room_deleted when the owner deletes the room", async () => {
    const { guest, ownerClient, room } = await setup();
    const guestClient = clientFor(guest);
    const b = await openRoom(guestClient, room.id);
    const closed = new Promise((resolve) => b.on("status", (s) => s.reason && resolve(s.reason)));
    await ownerClient.rooms.remove(room.id);
    await expect(closed).resolves.toMatchObject({ kind: "room_deleted", closeCode: 4004 });
    await expect(b.send("too late")).rejects.toMatchObject({ code: "not_found" });
    ownerClient.close();
    guestClient.close();
  });

  it("closes with reason unauthorized when the session is logged out elsewhere", async () => {
    const { guest, ownerClient, room } = await setup();
    const guestClient = clientFor(guest);
    const b = await openRoom(guestClient, room.id);
    const closed = new Promise((resolve) => b.on("status", (s) => s.reason && resolve(s.reason)));
    await clientFor(guest).auth.logout();
    await expect(closed).resolves.toMatchObject({ kind: "unauthorized", closeCode: 4001 });
    ownerClient.close();
    guestClient.close();
  });
});
