import { describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api";
import { adaAndBoInRoom } from "../helpers/factories";
import { useService } from "../helpers/service";
import type { TestSocket } from "../helpers/ws";
import {
  connect,
  expectSilence,
  framesOf,
  nextStatus,
  postMessage,
  sendAcked,
  timelineSeqs,
  waitFor,
} from "./chat-helpers";

// The room object hibernates and restarts under live sockets; state lives in attachments and
// SQLite, and clients resume with since/epoch without a gap or a duplicate.

const GRACE_MS = 300;
const service = useService({
  AUTH_RATE_LIMIT: "100000",
  PRESENCE_GRACE_MS: String(GRACE_MS),
  MESSAGE_RATE_LIMIT: "100000",
});
const api = apiClient(service);

const setup = () => adaAndBoInRoom(api);

/** Asserts a socket's timeline frames are exactly from..to, in order. */
async function expectTimeline(socket: TestSocket, from: number, to: number, what: string) {
  await waitFor(
    () => (timelineSeqs(socket).length >= to - from + 1 ? true : undefined),
    10_000,
    what,
  );
  const want = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  expect(timelineSeqs(socket)).toEqual(want);
}

describe("hibernation", () => {
  it("keeps identities, roles and presence of sockets across an eviction", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    await nextStatus(a.socket, bo.id, "online");
    await service.evictRoom(room.id, "hibernate");
    const ack = await sendAcked(b.socket, "after hibernation");
    expect(ack.type).toBe("ack");
    const got = await a.socket.next("receive_message", 3000, "the message after hibernation");
    expect(got.message).toMatchObject({ authorId: bo.id, authorName: "Bo" });
    // The owner's role survived: ada can still delete bo's message.
    a.socket.send({ type: "delete_message", seq: ack.seq });
    expect(await b.socket.next("message_updated")).toMatchObject({
      message: { deletedAt: expect.any(String) },
    });
    const c = await connect(service, room.id, ada);
    expect(c.ready.online.map((m: { userId: string }) => m.userId).sort()).toEqual(
      [ada.id, bo.id].sort(),
    );
    // Bo's socket still counts: closing ada's extra tab changes nothing, closing bo's goes offline.
    c.socket.close();
    b.socket.close();
    expect(await nextStatus(a.socket, bo.id)).toMatchObject({ status: "offline" });
    a.socket.close();
  });

  it("still expires typing and ends grace periods after an eviction (the alarm, not memory)", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    b.socket.send({ type: "typing", isTyping: true });
    await a.socket.next("typing");
    await service.evictRoom(room.id, "hibernate");
    expect(await a.socket.next("typing", 9000, "typing expiry after hibernation")).toMatchObject({
      isTyping: false,
    });
    b.socket.close();
    await service.evictRoom(room.id, "hibernate");
    expect(await nextStatus(a.socket, bo.id, "offline")).toBeDefined();
    a.socket.close();
  });

  it("remembers typists across an eviction: the typist's next send still clears the indicator", async () => {
    // The room keeps typists in memory; after a wake-up it must reload them from storage.
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    b.socket.send({ type: "typing", isTyping: true });
    expect(await a.socket.next("typing")).toMatchObject({ userId: bo.id, isTyping: true });
    await service.evictRoom(room.id, "hibernate");
    await sendAcked(b.socket, "sent after the wake-up");
    expect(await a.socket.next("typing", 3000, "typing cleared by the send")).toMatchObject({
      userId: bo.id,
      isTyping: false,
    });
    a.socket.close();
    b.socket.close();
  });
});

describe("restart and resume", () => {
  it("loses nothing when the object restarts with sockets open: clients reconnect with since", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const b = await connect(service, room.id, bo);
    for (let i = 0; i < 3; i++) {
      await sendAcked(a.socket, `before ${i}`);
    }
    await expectTimeline(b.socket, 1, 3, "3 messages before the restart");
    await service.evictRoom(room.id, "close");
    expect(await b.socket.closed(5000)).toBeGreaterThan(0);
    expect(await a.socket.closed(5000)).toBeGreaterThan(0);
    // Meanwhile, messages arrive over HTTP.
    for (let i = 0; i < 3; i++) {
      expect((await postMessage(api, room.id, ada, { content: `during ${i}` })).status).toBe(201);
    }
    const b2 = await connect(service, room.id, bo, { since: 3, epoch: b.ready.epoch });
    expect(b2.ready).toMatchObject({ resume: "ok", lastSeq: 6, epoch: b.ready.epoch });
    await expectTimeline(b2.socket, 4, 6, "the 3 missed messages replayed");
    const a2 = await connect(service, room.id, ada, { since: 6, epoch: a.ready.epoch });
    await sendAcked(a2.socket, "after");
    await expectTimeline(b2.socket, 4, 7, "the live message after the replay");
    a2.socket.close();
    b2.socket.close();
  });

  it("replays missed events before any live frame, with no gap and no duplicate, while messages keep coming", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    for (let i = 0; i < 20; i++) {
      await sendAcked(a.socket, `early ${i}`);
    }
    // A sender keeps pipelining while bo reconnects from seq 5.
    const burst = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    const pending = burst.map((clientId) => {
      a.socket.send({ type: "send_message", content: clientId, clientId });
      return a.socket.next(
        (f) => f.type === "ack" && f.clientId === clientId,
        10_000,
        `ack ${clientId}`,
      );
    });
    const b = await connect(service, room.id, bo, { since: 5 });
    expect(b.ready.resume).toBe("ok");
    await Promise.all(pending);
    await expectTimeline(b.socket, 6, 60, "every seq from 6 to 60 exactly once");
    // Replay came first: the frames up to ready.lastSeq precede every later one.
    const seqs = timelineSeqs(b.socket);
    expect(seqs.slice(0, b.ready.lastSeq - 5)).toEqual(
      Array.from({ length: b.ready.lastSeq - 5 }, (_, i) => 6 + i),
    );
    a.socket.close();
    b.socket.close();
  });

  it("replays edits and deletions as message_updated with the message as it is now", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const m = await sendAcked(a.socket, "v1");
    a.socket.send({ type: "edit_message", seq: m.seq, content: "v2" });
    await a.socket.next("message_updated");
    const b = await connect(service, room.id, bo, { since: 0 });
    await expectTimeline(b.socket, 1, 2, "create + edit");
    expect(b.socket.frames.filter((f) => f.seq).map((f) => [f.type, f.message.content])).toEqual([
      ["receive_message", "v2"],
      ["message_updated", "v2"],
    ]);
    a.socket.close();
    b.socket.close();
  });

  it("says reset for another epoch and truncated beyond the replay cap, replaying nothing", async () => {
    const { ada, bo, room } = await setup();
    const a = await connect(service, room.id, ada);
    const other = await connect(service, room.id, bo, { since: 0, epoch: "some-other-epoch" });
    expect(other.ready.resume).toBe("reset");
    other.socket.close();
    const acks = Array.from({ length: 1002 }, (_, i) => {
      const clientId = `bulk-${i}`;
      a.socket.send({ type: "send_message", content: `bulk ${i}`, clientId });
      return clientId;
    });
    await a.socket.next(
      (f) => f.type === "ack" && f.clientId === acks.at(-1),
      30_000,
      "the last bulk ack",
    );
    const far = await connect(service, room.id, bo, { since: 1, epoch: a.ready.epoch });
    expect(far.ready).toMatchObject({ resume: "truncated", lastSeq: 1002 });
    const near = await connect(service, room.id, bo, { since: 2, epoch: a.ready.epoch });
    expect(near.ready.resume).toBe("ok");
    await expectSilence(
      far.socket,
      (f) => typeof f.seq === "number",
      300,
      "replayed frames after truncated",
    );
    await expectTimeline(near.socket, 3, 1002, "1000 replayed events at the cap");
    expect(framesOf(other.socket, "receive_message")).toEqual([]);
    for (const s of [a, far, near]) {
      s.socket.close();
    }
  });
});
