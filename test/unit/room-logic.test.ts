import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Attachment, noteBadFrame, parseAttachment } from "../../src/chat/attachment";
import type { StoredMessage } from "../../src/chat/message-store";
import {
  chargedFor,
  decideDelete,
  decideEdit,
  decideSend,
  errorFrame,
  parseClientFrame,
  plainSendMessage,
  timelineFrame,
  toMessageDto,
} from "../../src/chat/room-logic";
import {
  BAD_FRAME_LIMIT,
  BAD_FRAME_WINDOW_MS,
  clientFrameSchema,
  MAX_FRAME_BYTES,
} from "../../src/shared/protocol";

const msg = (over: Partial<StoredMessage> = {}): StoredMessage => ({
  seq: 5,
  id: "msg_a",
  authorId: "usr_author",
  authorName: "Ada",
  content: "hello",
  clientId: "c-1",
  replyTo: null,
  createdAt: 1_700_000_000_000,
  editedAt: null,
  deletedAt: null,
  ...over,
});

describe("the send_message fast path", () => {
  // Characters that matter to the rules: controls, CR/LF/tab, spaces zod trims, surrogates, emoji.
  const tricky = fc.constantFrom(
    "a",
    "Z",
    " ",
    "\n",
    "\t",
    "\r",
    "\u0000",
    "\u001f",
    "\u007f",
    "\u0085",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "é",
    "😀",
    "\ud800",
    "\udc00",
    "~",
    "!",
  );
  const text = fc.array(tricky, { maxLength: 12 }).map((cs) => cs.join(""));
  const frameArb = fc.record(
    {
      type: fc.constant("send_message"),
      content: fc.oneof(text, fc.string(), fc.constant("x".repeat(4001)), fc.integer()),
      clientId: fc.oneof(text, fc.string({ maxLength: 130 }), fc.constant("c".repeat(129))),
      replyTo: fc.oneof(
        fc.constant(null),
        fc.integer({ min: -3, max: 5 }),
        fc.double(),
        fc.constant(Number.MAX_SAFE_INTEGER + 1),
        fc.string(),
      ),
      extra: fc.string(),
    },
    { requiredKeys: ["type"] },
  );

  it("accepts only what the schema accepts, and returns exactly the schema's frame (property)", () => {
    fc.assert(
      fc.property(frameArb, (json) => {
        const fast = plainSendMessage(json);
        if (fast) {
          const slow = clientFrameSchema.safeParse(json);
          expect(slow.success).toBe(true);
          expect(fast).toStrictEqual(slow.data);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("takes the everyday frames (so the schema runs only for the unusual ones)", () => {
    expect(
      plainSendMessage({ type: "send_message", content: "hi there", clientId: "c-1" }),
    ).toEqual({ type: "send_message", content: "hi there", clientId: "c-1" });
    expect(
      plainSendMessage({ type: "send_message", content: "a\nb", clientId: "c-2", replyTo: 7 }),
    ).toEqual({ type: "send_message", content: "a\nb", clientId: "c-2", replyTo: 7 });
    // Left to the schema: text to normalise, emoji (surrogate pairs), bad fields.
    expect(plainSendMessage({ type: "send_message", content: " hi ", clientId: "c" })).toBeNull();
    expect(plainSendMessage({ type: "send_message", content: "😀", clientId: "c" })).toBeNull();
    expect(plainSendMessage({ type: "send_message", content: "hi", clientId: "c d" })).toBeNull();
  });
});

describe("parseClientFrame", () => {
  it("parses a valid frame", () => {
    expect(parseClientFrame('{"type":"send_message","content":" hi ","clientId":"c"}')).toEqual({
      ok: true,
      frame: { type: "send_message", content: "hi", clientId: "c" },
    });
  });

  it("answers bad JSON, non-objects and binary frames with validation_failed", () => {
    for (const raw of ["{not json", "[]", "42", "null", new ArrayBuffer(4)]) {
      const r = parseClientFrame(raw);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error.code).toBe("validation_failed");
    }
  });

  it("answers an unknown type with validation_failed and echoes a readable clientId", () => {
    const r = parseClientFrame('{"type":"shout","clientId":"c-7"}');
    expect(r).toMatchObject({ ok: false, error: { code: "validation_failed" }, clientId: "c-7" });
  });

  it("names the bad field of an invalid frame", () => {
    const r = parseClientFrame('{"type":"send_message","content":"","clientId":"c-8"}');
    expect(r).toMatchObject({ ok: false, clientId: "c-8" });
    expect(!r.ok && r.error.message).toContain("content");
  });

  it("accepts a frame of exactly MAX_FRAME_BYTES and refuses one byte more as payload_too_large", () => {
    const frame = (n: number) => {
      const head = '{"type":"typing","isTyping":true,"pad":"';
      return `${head}${"x".repeat(n - head.length - 2)}"}`;
    };
    expect(new TextEncoder().encode(frame(MAX_FRAME_BYTES)).length).toBe(MAX_FRAME_BYTES);
    expect(parseClientFrame(frame(MAX_FRAME_BYTES)).ok).toBe(true);
    expect(parseClientFrame(frame(MAX_FRAME_BYTES + 1))).toMatchObject({
      ok: false,
      error: { code: "payload_too_large" },
    });
  });

  it("counts multi-byte characters as bytes, not as string length", () => {
    const raw = `{"type":"ping","pad":"${"é".repeat(MAX_FRAME_BYTES / 2)}"}`;
    expect(raw.length).toBeLessThan(MAX_FRAME_BYTES);
    expect(parseClientFrame(raw)).toMatchObject({
      ok: false,
      error: { code: "payload_too_large" },
    });
  });

  it("never throws and never pollutes prototypes, whatever arrives (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json().map((j) => j),
          fc
            .record({
              type: fc.constantFrom("send_message", "read", "typing", "__proto__"),
              x: fc.anything(),
            })
            .map((o) => JSON.stringify(o)),
          fc.constant('{"type":"read","seq":1,"__proto__":{"polluted":true}}'),
        ),
        (raw) => {
          const r = parseClientFrame(raw);
          expect(typeof r.ok).toBe("boolean");
          expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("decideSend", () => {
  const allowed = { allowed: true } as const;

  it("treats a stored (author, clientId) as a retry, even when rate limited", () => {
    const existing = msg();
    expect(
      decideSend({
        existing,
        replyTo: null,
        replyTargetExists: false,
        rate: { allowed: false, retryAfterMs: 9 },
      }),
    ).toEqual({ kind: "duplicate", message: existing });
  });

  it("refuses a replyTo that names no message of the room", () => {
    expect(
      decideSend({ existing: null, replyTo: 99, replyTargetExists: false, rate: allowed }),
    ).toMatchObject({
      kind: "reject",
      error: { code: "validation_failed" },
    });
  });

  it("refuses over the rate limit with retryAfterMs, and stores otherwise", () => {
    expect(
      decideSend({
        existing: null,
        replyTo: null,
        replyTargetExists: false,
        rate: { allowed: false, retryAfterMs: 1500 },
      }),
    ).toEqual({
      kind: "reject",
      error: { code: "rate_limited", message: expect.any(String), retryAfterMs: 1500 },
    });
    expect(
      decideSend({ existing: null, replyTo: 5, replyTargetExists: true, rate: allowed }),
    ).toEqual({
      kind: "store",
    });
  });
});

describe("decideEdit and decideDelete", () => {
  const author = { id: "usr_author", role: "member" as const };
  const other = { id: "usr_other", role: "member" as const };
  const admin = { id: "usr_admin", role: "admin" as const };

  it("lets only the author edit, refuses tombstones with gone, and makes the same text a no-op", () => {
    expect(decideEdit(author, 5, null, "x")).toMatchObject({
      kind: "reject",
      error: { code: "not_found" },
    });
    expect(decideEdit(other, 5, msg(), "x")).toMatchObject({
      kind: "reject",
      error: { code: "forbidden" },
    });
    expect(decideEdit(admin, 5, msg(), "x")).toMatchObject({
      kind: "reject",
      error: { code: "forbidden" },
    });
    expect(decideEdit(author, 5, msg({ deletedAt: 1, content: "" }), "x")).toMatchObject({
      kind: "reject",
      error: { code: "gone" },
    });
    expect(decideEdit(author, 5, msg(), "hello")).toMatchObject({ kind: "noop" });
    expect(decideEdit(author, 5, msg(), "changed")).toEqual({ kind: "apply" });
  });

  it("lets the author, an admin or the owner delete, and makes a second delete a no-op", () => {
    expect(decideDelete(author, 5, msg())).toEqual({ kind: "apply" });
    expect(decideDelete(admin, 5, msg())).toEqual({ kind: "apply" });
    expect(decideDelete({ id: "usr_owner", role: "owner" }, 5, msg())).toEqual({ kind: "apply" });
    expect(decideDelete(other, 5, msg())).toMatchObject({
      kind: "reject",
      error: { code: "forbidden" },
    });
    expect(decideDelete(author, 5, msg({ deletedAt: 2, content: "" }))).toMatchObject({
      kind: "noop",
    });
    expect(decideDelete(author, 6, null)).toMatchObject({
      kind: "reject",
      error: { code: "not_found" },
    });
  });
});

describe("frames and DTOs", () => {
  it("renders a message as the Message DTO with ISO times", () => {
    expect(toMessageDto(msg({ editedAt: 1_700_000_001_000 }), "room_x")).toEqual({
      id: "msg_a",
      seq: 5,
      roomId: "room_x",
      authorId: "usr_author",
      authorName: "Ada",
      content: "hello",
      clientId: "c-1",
      replyTo: null,
      createdAt: "2023-11-14T22:13:20.000Z",
      editedAt: "2023-11-14T22:13:21.000Z",
      deletedAt: null,
    });
  });

  it("sends creations as receive_message and edits or deletions as message_updated", () => {
    expect(timelineFrame({ seq: 5, kind: "created", message: msg() }, "r").type).toBe(
      "receive_message",
    );
    expect(timelineFrame({ seq: 9, kind: "deleted", message: msg() }, "r")).toMatchObject({
      type: "message_updated",
      seq: 9,
    });
  });

  it("puts clientId and retryAfterMs on error frames only when known", () => {
    expect(errorFrame({ code: "internal", message: "m" })).toEqual({
      type: "error",
      code: "internal",
      message: "m",
    });
    expect(errorFrame({ code: "rate_limited", message: "m", retryAfterMs: 5 }, "c")).toEqual({
      type: "error",
      code: "rate_limited",
      message: "m",
      clientId: "c",
      retryAfterMs: 5,
    });
  });
});

describe("socket attachments", () => {
  const att: Attachment = {
    v: 1,
    userId: `usr_${"x".repeat(22)}`,
    displayName: "N".repeat(64),
    isGuest: false,
    role: "member",
    sessionId: `ses_${"y".repeat(22)}`,
    joinedAt: 1_700_000_000_000,
    connectedAt: 1_700_000_000_000,
    badFrames: 0,
    badFramesSince: 1_700_000_000_000,
    closing: false,
  };

  it("stays well under 2 KiB serialized", () => {
    expect(JSON.stringify(att).length).toBeLessThan(2048);
  });

  it("reads back what was written and refuses anything else", () => {
    expect(parseAttachment(JSON.parse(JSON.stringify(att)))).toEqual(att);
    expect(parseAttachment(null)).toBeNull();
    expect(parseAttachment({ ...att, role: "god" })).toBeNull();
  });

  it("closes after more than BAD_FRAME_LIMIT bad frames in one window, and forgives after it", () => {
    let a = att;
    const t0 = att.badFramesSince + BAD_FRAME_WINDOW_MS; // a fresh window starts here
    for (let i = 1; i <= BAD_FRAME_LIMIT; i++) {
      const r = noteBadFrame(a, t0 + i);
      expect(r.close).toBe(false);
      a = r.next;
    }
    expect(noteBadFrame(a, t0 + 100).close).toBe(true);
    expect(noteBadFrame(a, t0 + 1 + BAD_FRAME_WINDOW_MS).close).toBe(false);
  });
});

describe("chargedFor (who the rate limit charges for a change)", () => {
  const author = { id: "usr_author", role: "member" as const };
  const admin = { id: "usr_admin", role: "admin" as const };
  it("charges authors for their edits and deletes, and nobody for a moderator's delete", () => {
    expect(chargedFor(author, "edited", msg())).toBe("usr_author");
    expect(chargedFor(author, "deleted", msg())).toBe("usr_author");
    expect(chargedFor(admin, "deleted", msg())).toBeNull();
    expect(chargedFor(admin, "deleted", msg({ authorId: "usr_admin" }))).toBe("usr_admin");
  });
});
