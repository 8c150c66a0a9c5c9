import { describe, expect, it } from "vitest";
import {
  decideTyping,
  dueOffline,
  expiredTypists,
  type GraceRow,
  nextAlarmAt,
  onlineMembers,
  onSocketClosed,
  onSocketOpened,
} from "../../src/chat/presence";
import { iso } from "../../src/shared/api";
import { TYPING_REBROADCAST_MS, TYPING_TTL_MS } from "../../src/shared/protocol";

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
    const base = { graceMs: 1000, now: 50, retryMs: 5000 };
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
  });

  it("lists each online user once, grace users included, in a stable order", () => {
    const members = onlineMembers(
      [
        { userId: "usr_b", displayName: "Bo", role: "member", joinedAt: 0 },
        { userId: "usr_a", displayName: "Ada", role: "owner", joinedAt: 0 },
        { userId: "usr_b", displayName: "Bo", role: "member", joinedAt: 0 },
      ],
      [{ userId: "usr_c", displayName: "Cy", role: "admin", joinedAt: 0, goneAt: 5 }],
      iso,
    );
    expect(members.map((m) => m.userId)).toEqual(["usr_a", "usr_b", "usr_c"]);
    expect(members[0]).toEqual({
      userId: "usr_a",
      displayName: "Ada",
      role: "owner",
      joinedAt: "1970-01-01T00:00:00.000Z",
    });
  });
});
