import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MessageStore } from "../../src/chat/message-store";
import { classifySeq, decideResume, parseSeqParam } from "../../src/chat/resume";
import { memoryRoomStorage } from "./sqlite-storage";

describe("decideResume", () => {
  const room = { lastSeq: 50, epoch: "e1" };

  it("says none without since, ok within the cap, truncated beyond it", () => {
    expect(decideResume({ since: null, epoch: null }, room)).toEqual({ kind: "none" });
    expect(decideResume({ since: 0, epoch: "e1" }, room, 50)).toEqual({ kind: "ok", after: 0 });
    expect(decideResume({ since: 50, epoch: null }, room)).toEqual({ kind: "ok", after: 50 });
    expect(decideResume({ since: 9, epoch: "e1" }, room, 40)).toEqual({ kind: "truncated" });
  });

  it("resets on another epoch whatever since says", () => {
    expect(decideResume({ since: 10, epoch: "old" }, room)).toEqual({ kind: "reset" });
    expect(decideResume({ since: 999, epoch: "old" }, room)).toEqual({ kind: "reset" });
  });

  it("refuses a since beyond lastSeq in the same epoch", () => {
    expect(decideResume({ since: 51, epoch: "e1" }, room).kind).toBe("invalid");
    expect(decideResume({ since: 51, epoch: null }, room).kind).toBe("invalid");
  });
});

describe("parseSeqParam", () => {
  it("accepts plain non-negative integers", () => {
    expect(parseSeqParam("0")).toBe(0);
    expect(parseSeqParam("42")).toBe(42);
    expect(parseSeqParam(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("refuses everything else instead of reading it as 0", () => {
    for (const raw of [
      "",
      "-1",
      "abc",
      "1e3",
      " 1",
      "1.0",
      "01",
      "0x10",
      "9007199254740993",
      "1e309",
    ]) {
      expect(parseSeqParam(raw), raw).toBeNull();
    }
  });
});

describe("resume over the real store (property)", () => {
  /**
   * A room (MessageStore over SQLite) and clients that connect, disconnect and resume with
   * since = the last seq they applied, while messages are sent, edited and deleted. The shell's
   * rule is modelled exactly: on connect, ready + replay of eventsAfter(since) happen in one turn,
   * then the client gets every later event live. Every client must see each seq once, in order.
   */
  type Op =
    | { op: "send"; by: number }
    | { op: "edit"; pick: number }
    | { op: "delete"; pick: number }
    | { op: "drop"; client: number }
    | { op: "connect"; client: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.nat(2).map((by): Op => ({ op: "send", by })) },
    { weight: 1, arbitrary: fc.nat().map((pick): Op => ({ op: "edit", pick })) },
    { weight: 1, arbitrary: fc.nat().map((pick): Op => ({ op: "delete", pick })) },
    { weight: 1, arbitrary: fc.nat(2).map((client): Op => ({ op: "drop", client })) },
    { weight: 1, arbitrary: fc.nat(2).map((client): Op => ({ op: "connect", client })) },
  );

  it("gives every client every seq exactly once, in order", () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 80 }),
        fc.integer({ min: 1, max: 30 }),
        (ops, cap) => {
          const storage = memoryRoomStorage();
          const store = new MessageStore(storage);
          store.migrate(() => "epoch-1");
          const clients = [0, 1, 2].map(() => ({
            connected: false,
            applied: 0,
            log: [] as number[],
          }));
          const apply = (c: (typeof clients)[number], seq: number) => {
            expect(classifySeq(c.applied, seq)).toBe("next");
            c.applied = seq;
            c.log.push(seq);
          };
          const live = (seq: number) => {
            for (const c of clients.filter((x) => x.connected)) {
              apply(c, seq);
            }
          };
          let n = 0;
          for (const o of ops) {
            if (o.op === "send") {
              n++;
              live(
                store.insertMessage({
                  id: `m${n}`,
                  authorId: `u${o.by}`,
                  authorName: "U",
                  content: `x${n}`,
                  clientId: `c${n}`,
                  replyTo: null,
                  createdAt: n,
                })?.seq ?? Number.NaN,
              );
            } else if (o.op === "edit" || o.op === "delete") {
              const page = store
                .page({ after: 0 }, 1000)
                .messages.filter((m) => m.deletedAt === null);
              const target = page[o.pick % Math.max(1, page.length)];
              if (target) {
                const change =
                  o.op === "edit"
                    ? { kind: "edited" as const, content: `e${n++}` }
                    : { kind: "deleted" as const };
                live(store.applyChange(target.seq, change, n, null).seq);
              }
            } else if (o.op === "drop") {
              (clients[o.client] as (typeof clients)[number]).connected = false;
            } else {
              const c = clients[o.client] as (typeof clients)[number];
              if (c.connected) {
                continue;
              }
              const d = decideResume(
                { since: c.applied, epoch: "epoch-1" },
                { lastSeq: store.lastSeq, epoch: store.epoch },
                cap,
              );
              if (d.kind === "ok") {
                for (const ev of store.eventsAfter(d.after, cap)) {
                  apply(c, ev.seq);
                }
              } else {
                // truncated: the client pages the timeline over HTTP up to ready.lastSeq instead.
                expect(d.kind).toBe("truncated");
                for (const ev of store.eventsAfter(c.applied, store.lastSeq - c.applied)) {
                  apply(c, ev.seq);
                }
              }
              expect(c.applied).toBe(store.lastSeq);
              c.connected = true;
            }
          }
          for (const c of clients) {
            expect(new Set(c.log).size).toBe(c.log.length);
          }
          storage.close();
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("classifySeq", () => {
  it("tells next, duplicate and gap apart", () => {
    expect(classifySeq(4, 5)).toBe("next");
    expect(classifySeq(4, 4)).toBe("duplicate");
    expect(classifySeq(4, 2)).toBe("duplicate");
    expect(classifySeq(4, 6)).toBe("gap");
  });
});
