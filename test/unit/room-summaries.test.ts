import { afterEach, describe, expect, it, vi } from "vitest";
import { EMPTY_SUMMARY, summaryOrEmpty } from "../../src/rooms/summaries";

describe("a room's summary in the room list", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is what the room object answers", async () => {
    const summary = { unreadCount: 3, lastMessage: null };
    expect(await summaryOrEmpty(async () => summary, "room_a")).toEqual(summary);
  });

  it("falls back to nothing unread when the room object fails, and logs it", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const got = await summaryOrEmpty(async () => {
      throw new Error("object reset");
    }, "room_b");
    expect(got).toEqual(EMPTY_SUMMARY);
    expect(String(log.mock.calls[0]?.[0])).toContain("room_b");
  });

  it("falls back when the room object doesn't answer in time", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const started = Date.now();
    const got = await summaryOrEmpty(() => new Promise(() => {}), "room_c", 30);
    expect(got).toEqual(EMPTY_SUMMARY);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
