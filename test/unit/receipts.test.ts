import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { advanceWatermarks, NO_WATERMARKS, type Watermarks } from "../../src/chat/receipts";

describe("advanceWatermarks", () => {
  it("moves read and, with it, delivered", () => {
    const r = advanceWatermarks(NO_WATERMARKS, "read", 7, 10);
    expect(r.next).toEqual({ deliveredSeq: 7, readSeq: 7 });
    expect(r.moves).toEqual([
      { kind: "delivered", seq: 7 },
      { kind: "read", seq: 7 },
    ]);
  });

  it("never moves a watermark down, and reports nothing when nothing moved", () => {
    const at50 = { deliveredSeq: 50, readSeq: 50 };
    expect(advanceWatermarks(at50, "read", 40, 100)).toEqual({ next: at50, moves: [] });
    expect(advanceWatermarks(at50, "delivered", 50, 100)).toEqual({ next: at50, moves: [] });
  });

  it("keeps delivered at or above read when delivered is reported below read", () => {
    const r = advanceWatermarks({ deliveredSeq: 70, readSeq: 70 }, "delivered", 60, 100);
    expect(r.next).toEqual({ deliveredSeq: 70, readSeq: 70 });
  });

  it("clamps a seq beyond the last seq to the last seq", () => {
    const r = advanceWatermarks(NO_WATERMARKS, "delivered", 1_000_000, 12);
    expect(r.next).toEqual({ deliveredSeq: 12, readSeq: 0 });
  });

  it("stays monotone, delivered >= read, and ends at the max reported (property)", () => {
    const report = fc.record({
      kind: fc.constantFrom("read" as const, "delivered" as const),
      seq: fc.integer({ min: 0, max: 300 }),
    });
    fc.assert(
      fc.property(
        fc.array(report, { maxLength: 60 }),
        fc.integer({ min: 0, max: 200 }),
        (reports, lastSeq) => {
          let w: Watermarks = NO_WATERMARKS;
          let maxRead = 0;
          let maxAny = 0;
          for (const r of reports) {
            const { next, moves } = advanceWatermarks(w, r.kind, r.seq, lastSeq);
            expect(next.readSeq).toBeGreaterThanOrEqual(w.readSeq);
            expect(next.deliveredSeq).toBeGreaterThanOrEqual(w.deliveredSeq);
            expect(next.deliveredSeq).toBeGreaterThanOrEqual(next.readSeq);
            expect(next.deliveredSeq).toBeLessThanOrEqual(lastSeq);
            expect(moves.length > 0).toBe(
              next.readSeq !== w.readSeq || next.deliveredSeq !== w.deliveredSeq,
            );
            w = next;
            const clamped = Math.min(r.seq, lastSeq);
            maxAny = Math.max(maxAny, clamped);
            if (r.kind === "read") {
              maxRead = Math.max(maxRead, clamped);
            }
          }
          expect(w).toEqual({ deliveredSeq: maxAny, readSeq: maxRead });
        },
      ),
      { numRuns: 500 },
    );
  });
});
