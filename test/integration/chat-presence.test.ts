import { describe, expect, it } from "vitest";
import { SPREAD_SLICE } from "../../src/chat/sockets";
import { createChatClient } from "../../src/client/index";
import { PRESENCE_BATCH_MS } from "../../src/shared/protocol";
import { apiClient } from "../helpers/api";
import {
  adaAndBoInRoom,
  addMember,
  createRoom,
  registerUser,
  type TestUser,
} from "../helpers/factories";
import { useService } from "../helpers/service";
import {
  connect,
  expectSilence,
  framesOf,
  isStatusOf,
  nextStatus,
  sendAcked,
  sleep,
  statusChanges,
  waitFor,
} from "./chat-helpers";

// Presence counts sockets per user with a grace period (one alarm), typing expires on the
// server; neither uses timers in the object. PRESENCE_GRACE_MS is small here for speed.
// Changes are batched (PRESENCE_BATCH_MS): a change may come as `user_status` or inside a
// `user_status_batch`, so these tests look at changes (nextStatus), not at frame types.
// READY_ONLINE_LIMIT is 3 here (100 in wrangler.toml), so four people online make a big room:
// a ready lists everyone up to 3 (you first, then by name), only you above that, and counts
// everyone in onlineCount.

const GRACE_MS = 1000;
const LIMIT = 3;
const service = useService({
  AUTH_RATE_LIMIT: "100000",
  PRESENCE_GRACE_MS: String(GRACE_MS),
  MESSAGE_RATE_LIMIT: "1000",
  READY_ONLINE_LIMIT: String(LIMIT),
});
const api = apiClient(service);

const setup = () => adaAndBoInRoom(api);

describe("presence", () => {
  it("announces a user on their first socket only, and a second tab keeps them online", async () => {
    const { ada, bo, room } = await setup();
    const watcher = await connect(service, room.id, ada);
    const tab1 = await connect(service, room.id, bo);
    const online = await nextStatus(watcher.socket, bo.id, undefined, 3000, "bo online");
    expect(online).toEqual({
      type: "user_status",
      userId: bo.id,
      displayName: "Bo",
      status: "online",
      onlineCount: 2,
    });
    expect(tab1.ready.online.map((m: { userId: string }) => m.userId).sort()).toEqual(
      [ada.id, bo.id].sort(),
    );
    const tab2 = await connect(service, room.id, bo);
    expect(tab2.ready.online.filter((m: { userId: string }) => m.userId === bo.id)).toHaveLength(1);
    tab1.socket.close();
    await expectSilence(
      watcher.socket,
      isStatusOf(bo.id),
      GRACE_MS + 400,
      "a status change while a tab is open",
    );
    tab2.socket.close();
    const offline = await nextStatus(
      watcher.socket,
      bo.id,
      undefined,
      3000,
      "bo offline after the last tab",
    );
    expect(offline).toMatchObject({ status: "offline", lastSeenAt: expect.any(String) });
    watcher.socket.close();
  });

  it("sends offline only after the grace period, and writes users.last_seen_at", async () => {
    const { ada, bo, room } = await setup();
    const watcher = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    await nextStatus(watcher.socket, bo.id);
    const closedAt = Date.now();
    b.socket.close();
    const offline = await nextStatus(watcher.socket, bo.id, undefined, 3000, "bo offline");
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 50);
    const lastSeenAt = offline.lastSeenAt as string;
    expect(Math.abs(Date.parse(lastSeenAt) - closedAt)).toBeLessThan(1000);
    const me = await waitFor(
      async () => {
        const r = await api("GET", "/api/me", { token: bo.token });
        return r.body.lastSeenAt === lastSeenAt ? r.body : undefined;
      },
      5000,
      "users.last_seen_at to be written",
    );
    expect(me.lastSeenAt).toBe(lastSeenAt);
    // Written once: nothing is left queued for another write.
    const queued = await waitFor(
      async () => {
        const rows = await service.roomSql(room.id, "SELECT user_id FROM last_seen_outbox");
        return rows.length === 0 ? rows : undefined;
      },
      3000,
      "the last-seen outbox to drain",
    );
    expect(queued).toEqual([]);
    watcher.socket.close();
  });

  it("shows nothing to others when a user reconnects within the grace period", async () => {
    const { ada, bo, room } = await setup();
    const watcher = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    await nextStatus(watcher.socket, bo.id);
    b.socket.close();
    await b.socket.closed();
    const again = await connect(service, room.id, bo);
    await expectSilence(
      watcher.socket,
      isStatusOf(bo.id),
      GRACE_MS + 400,
      "offline/online for a quick reconnect",
    );
    again.socket.close();
    watcher.socket.close();
  });

  it("lists online members and the others' lastSeenAt over HTTP", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    b.socket.close();
    await nextStatus(a.socket, bo.id, "offline", 3000, "bo offline");
    const res = await api("GET", `/api/rooms/${room.id}/presence`, { token: bo.token });
    expect(res.status).toBe(200);
    expect(res.body.online.map((m: { userId: string }) => m.userId)).toEqual([ada.id]);
    expect(res.body.offline).toEqual([
      {
        userId: bo.id,
        displayName: "Bo",
        role: "member",
        joinedAt: expect.any(String),
        lastSeenAt: expect.any(String),
      },
    ]);
    a.socket.close();
  });
});

describe("batched presence", () => {
  it("tells a crowd joining at once in far fewer frames than joins, arrivals only while the room is small", async () => {
    const { ada, room } = await setup();
    const crowd = await Promise.all(
      Array.from({ length: 10 }, (_, i) => registerUser(api, `Crowd ${i}`)),
    );
    for (const u of crowd) {
      await addMember(api, room, ada, u);
    }
    const watcher = await connect(service, room.id, ada);
    // Its own arrival is flushed to it too (harmless: ready.online already listed it).
    await nextStatus(watcher.socket, ada.id, "online");
    const before = watcher.socket.frames.length;
    const isPresence = (f: { type: string }) =>
      f.type === "user_status" || f.type === "user_status_batch";
    const joined = await Promise.all(crowd.map((u) => connect(service, room.id, u)));
    const everyone = crowd.length + 1;
    await watcher.socket.next(
      (f) => isPresence(f) && f.onlineCount === everyone,
      5000,
      "a presence frame counting the whole crowd",
    );
    await sleep(PRESENCE_BATCH_MS * 3);
    const frames = watcher.socket.frames.slice(before).filter(isPresence);
    expect(frames.length).toBeLessThan(crowd.length);
    for (const f of frames) {
      const changes = statusChanges(f);
      const ids = changes.map((c) => c.userId);
      expect(new Set(ids).size, "one change per user in a frame").toBe(ids.length);
      // Over READY_ONLINE_LIMIT online, arrivals move only the count.
      if (f.onlineCount > LIMIT) {
        expect(changes.filter((c) => c.status === "online")).toEqual([]);
      }
    }
    expect(frames.flatMap(statusChanges).every((c) => c.status === "online")).toBe(true);
    // Each joiner's ready.online: everyone while the room had at most LIMIT online, else itself.
    for (const [i, s] of joined.entries()) {
      const { online, onlineCount } = s.ready;
      expect(online.length).toBe(onlineCount > LIMIT ? 1 : onlineCount);
      expect(online[0]?.userId).toBe(crowd[i]?.id);
    }
    expect(joined.some((s) => s.ready.onlineCount > LIMIT)).toBe(true);
    expect(frames.at(-1)?.onlineCount).toBe(everyone);
    const outbox = await service.roomSql(room.id, "SELECT user_id FROM presence_outbox");
    expect(outbox).toEqual([]);
    for (const s of [watcher, ...joined]) {
      s.socket.close();
    }
  });

  it("loses no queued change across an eviction (the outbox is in SQLite, the flush an alarm)", async () => {
    const { ada, bo, room } = await setup();
    const watcher = await connect(service, room.id, ada);
    await nextStatus(watcher.socket, ada.id, "online");
    const b = await connect(service, room.id, bo);
    await service.evictRoom(room.id, "hibernate");
    expect(await nextStatus(watcher.socket, bo.id, "online", 3000, "bo online")).toMatchObject({
      displayName: "Bo",
    });
    b.socket.close();
    watcher.socket.close();
  });
});

describe("a room with more sockets than a spread slice", () => {
  it("gives every socket each presence and typing frame once and in order, a slice per turn", async () => {
    const { ada, bo, room } = await setup();
    // Bo's tabs: more sockets than SPREAD_SLICE, so these frames go out over several turns.
    const tabs: Socket[] = [];
    for (let left = SPREAD_SLICE + 44; left > 0; left -= 50) {
      tabs.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, left) }, () => connect(service, room.id, bo)),
        )),
      );
    }
    const a = await connect(service, room.id, ada);
    const everyTab = (what: string, has: (t: Socket) => boolean) =>
      waitFor(() => (tabs.every(has) ? true : undefined), 10_000, `${what} on all tabs`);
    await everyTab("ada online", (t) => t.socket.frames.some(isStatusOf(ada.id, "online")));
    a.socket.send({ type: "typing", isTyping: true });
    await sendAcked(a.socket, "typed, sent"); // stops the typing, then the message
    a.socket.close();
    await everyTab("ada offline", (t) => t.socket.frames.some(isStatusOf(ada.id, "offline")));
    await sleep(100);
    const adaFrames = (t: Socket) =>
      t.socket.frames.flatMap((f) =>
        f.type === "typing" && f.userId === ada.id
          ? [`typing ${f.isTyping}`]
          : statusChanges(f).flatMap((c) => (c.userId === ada.id ? [String(c.status)] : [])),
      );
    for (const t of tabs) {
      expect(adaFrames(t)).toEqual(["online", "typing true", "typing false", "offline"]);
      expect(framesOf(t.socket, "receive_message").map((f) => f.message.content)).toEqual([
        "typed, sent",
      ]);
    }
    for (const t of tabs) {
      t.socket.close();
    }
  });
});

/** Ann (owner), Ben, Cat and Dan in a fresh private room: names that sort in that order. */
async function fourInRoom() {
  const [ann, ben, cat, dan] = await Promise.all(
    ["Ann", "Ben", "Cat", "Dan"].map((name) => registerUser(api, name)),
  );
  if (!ann || !ben || !cat || !dan) {
    throw new Error("registering four users failed");
  }
  const room = await createRoom(api, ann, { isPrivate: true });
  for (const u of [ben, cat, dan]) {
    await addMember(api, room, ann, u);
  }
  return { ann, ben, cat, dan, room };
}

type Socket = Awaited<ReturnType<typeof connect>>;
const idsOf = (ready: Socket["ready"]) => ready.online.map((m: { userId: string }) => m.userId);

/** The presence frame (either kind) that says `user` went `status`, as `socket` received it. */
const statusFrame = (s: Socket, user: TestUser, status: "online" | "offline", what: string) =>
  s.socket.next(isStatusOf(user.id, status), GRACE_MS + 3000, what);

describe("ready.online with READY_ONLINE_LIMIT", () => {
  it("lists everyone up to 3 online; the 4th joiner's list is only itself, with onlineCount 4", async () => {
    const { ann, ben, cat, dan, room } = await fourInRoom();
    const a = await connect(service, room.id, ann);
    const b = await connect(service, room.id, ben);
    const c = await connect(service, room.id, cat);
    expect(a.ready.onlineCount).toBe(1);
    expect(idsOf(b.ready)).toEqual([ben.id, ann.id]);
    expect(b.ready.onlineCount).toBe(2);
    // Three of three: complete (onlineCount === online.length).
    expect(idsOf(c.ready)).toEqual([cat.id, ann.id, ben.id]);
    expect(c.ready.onlineCount).toBe(3);

    // Four of three: a big room, where a ready names only you and counts everyone.
    const d = await connect(service, room.id, dan);
    expect(idsOf(d.ready)).toEqual([dan.id]);
    expect(d.ready.onlineCount).toBe(4);
    // Ann's second tab: she counts once, and still finds herself.
    const a2 = await connect(service, room.id, ann);
    expect(idsOf(a2.ready)).toEqual([ann.id]);
    expect(a2.ready.onlineCount).toBe(4);
    // Dan leaves: once his grace period ends the room is back at three, and lists everyone again.
    d.socket.close();
    expect((await statusFrame(a, dan, "offline", "Dan offline")).onlineCount).toBe(3);
    const b2 = await connect(service, room.id, ben);
    expect(idsOf(b2.ready)).toEqual([ben.id, ann.id, cat.id]);
    expect(b2.ready.onlineCount).toBe(3);
    for (const s of [a, b, c, a2, b2]) {
      s.socket.close();
    }
  });

  it("carries the room's onlineCount on presence frames as people join and leave", async () => {
    const { ann, ben, cat, dan, room } = await fourInRoom();
    const a = await connect(service, room.id, ann);
    expect((await statusFrame(a, ann, "online", "Ann's own online")).onlineCount).toBe(1);
    const joined: Socket[] = [];
    for (const [i, u] of [ben, cat].entries()) {
      joined.push(await connect(service, room.id, u));
      const f = await statusFrame(a, u, "online", `${u.displayName} online`);
      expect(f.onlineCount, `after ${u.displayName} joined`).toBe(i + 2);
    }
    // Dan makes four, over LIMIT: his arrival is only counted (a batch with no changes), and
    // every socket, his own too, gets that same frame.
    joined.push(await connect(service, room.id, dan));
    const countOnly = (f: { type: string; changes?: unknown[]; onlineCount?: number }) =>
      f.type === "user_status_batch" && f.changes?.length === 0 && f.onlineCount === 4;
    const [b, c, d] = joined;
    if (!b || !c || !d) {
      throw new Error("a joiner is missing");
    }
    for (const s of [a, d]) {
      const f = await s.socket.next(countOnly, 3000, "the count-only frame for Dan's arrival");
      expect(f).toEqual({ type: "user_status_batch", changes: [], onlineCount: 4 });
    }
    expect(a.socket.frames.some(isStatusOf(dan.id, "online"))).toBe(false);

    // Dan leaves: counted during the grace period (a ready then says 4), offline after it (3).
    d.socket.close();
    const bTab = await connect(service, room.id, ben);
    expect(bTab.ready.onlineCount).toBe(4);
    expect((await statusFrame(a, dan, "offline", "Dan offline")).onlineCount).toBe(3);

    // Cat is removed: offline at once.
    const kick = await api("DELETE", `/api/rooms/${room.id}/members/${cat.id}`, {
      token: ann.token,
    });
    expect(kick.status).toBeLessThan(300);
    expect((await statusFrame(b, cat, "offline", "Cat removed")).onlineCount).toBe(2);
    for (const s of [a, b, c, bTab]) {
      s.socket.close();
    }
  });

  it("keeps GET /presence the full list, however long ready.online is", async () => {
    const { ann, ben, cat, dan, room } = await fourInRoom();
    const sockets: Socket[] = [];
    for (const u of [ann, ben, cat, dan]) {
      sockets.push(await connect(service, room.id, u));
    }
    expect(sockets.at(-1)?.ready.online).toHaveLength(1);
    const res = await api("GET", `/api/rooms/${room.id}/presence`, { token: dan.token });
    expect(res.status).toBe(200);
    expect(res.body.online.map((m: { userId: string }) => m.userId).sort()).toEqual(
      [ann.id, ben.id, cat.id, dan.id].sort(),
    );
    expect(res.body.offline).toEqual([]);
    for (const s of sockets) {
      s.socket.close();
    }
  });

  it("lets the SDK keep an exact onlineCount and load everyone on demand", async () => {
    const { ann, ben, cat, dan, room } = await fourInRoom();
    const sockets: Socket[] = [];
    for (const u of [ann, ben, cat]) {
      sockets.push(await connect(service, room.id, u));
    }
    const client = createChatClient({
      baseUrl: service.url,
      tokens: { token: dan.token, refreshToken: dan.refreshToken },
    });
    try {
      const live = client.room(room.id, { heartbeatMs: 0 });
      await live.whenOpen(10_000);
      expect(live.onlineCount).toBe(4);
      expect(live.online.map((u) => u.userId)).toEqual([dan.id]);
      const everyone = await live.loadPresence();
      expect(everyone.map((u) => u.userId).sort()).toEqual([ann.id, ben.id, cat.id, dan.id].sort());
      expect(live.online).toHaveLength(live.onlineCount);
      // Eve makes five: over LIMIT, her arrival comes as a count (an online_count event), so
      // the loaded list is a snapshot again and says so (online.length < onlineCount).
      const counts: number[] = [];
      live.on("online_count", (n) => counts.push(n));
      const eve = await registerUser(api, "Eve");
      await addMember(api, room, ann, eve);
      sockets.push(await connect(service, room.id, eve));
      await waitFor(() => (live.onlineCount === 5 ? true : undefined), 3000, "Eve counted");
      expect(counts).toEqual([5]);
      expect(live.online.map((u) => u.userId)).not.toContain(eve.id);
      expect(live.online.length).toBeLessThan(live.onlineCount);
      // Ben leaves: departures still go out, so the list never shows him after the grace period.
      sockets[1]?.socket.close();
      await waitFor(
        () => (live.onlineCount === 4 ? true : undefined),
        GRACE_MS + 3000,
        "Ben offline for the SDK",
      );
      expect(live.online.map((u) => u.userId).sort()).toEqual([ann.id, cat.id, dan.id].sort());
      expect(counts).toEqual([5, 4]);
      expect((await live.loadPresence()).map((u) => u.userId).sort()).toEqual(
        [ann.id, cat.id, dan.id, eve.id].sort(),
      );
    } finally {
      client.close();
      for (const s of sockets) {
        s.socket.close();
      }
    }
  });
});

describe("typing", () => {
  it("goes to the others with expiresInMs, never to the typist's own sockets, and stops on request", async () => {
    const { ada, bo, room } = await setup();
    const a1 = await connect(service, room.id, ada);
    const a2 = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    a1.socket.send({ type: "typing", isTyping: true });
    expect(await b.socket.next("typing", 3000, "ada typing")).toEqual({
      type: "typing",
      userId: ada.id,
      displayName: "Ada",
      isTyping: true,
      expiresInMs: 6000,
    });
    a1.socket.send({ type: "typing", isTyping: false });
    expect(await b.socket.next("typing", 3000, "ada stopped")).toMatchObject({ isTyping: false });
    await sleep(100);
    expect(framesOf(a1.socket, "typing")).toEqual([]);
    expect(framesOf(a2.socket, "typing")).toEqual([]);
    for (const s of [a1, a2, b]) {
      s.socket.close();
    }
  });

  it("is cleared when the typist sends, and when the typist disconnects", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    a.socket.send({ type: "typing", isTyping: true });
    await b.socket.next("typing");
    await sendAcked(a.socket, "done typing");
    expect(await b.socket.next("typing", 3000, "typing cleared by the send")).toMatchObject({
      userId: ada.id,
      isTyping: false,
    });
    a.socket.send({ type: "typing", isTyping: true });
    await b.socket.next((f) => f.type === "typing" && f.isTyping, 3000, "typing again");
    a.socket.close();
    expect(await b.socket.next("typing", 3000, "typing cleared by the disconnect")).toMatchObject({
      isTyping: false,
    });
    b.socket.close();
  });

  it("expires on the server about 6 s after the last refresh", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    a.socket.send({ type: "typing", isTyping: true });
    await b.socket.next("typing");
    const start = Date.now();
    const stop = await b.socket.next("typing", 9000, "the server-side typing expiry");
    expect(stop).toMatchObject({ userId: ada.id, isTyping: false, expiresInMs: 0 });
    expect(Date.now() - start).toBeGreaterThanOrEqual(5500);
    expect(a.socket.closeCode).toBeNull();
    a.socket.close();
    b.socket.close();
  });
});
