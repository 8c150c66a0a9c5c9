import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ClientFrame,
  clientFrameSchema,
  contentSchema,
  MAX_CONTENT_CHARS,
  PING_TEXT,
  PONG_TEXT,
  presenceChangeSchema,
  type ServerFrame,
  serverFrameSchema,
} from "../../src/shared/protocol";

const message = {
  id: "msg_1",
  seq: 3,
  roomId: "room_1",
  authorId: "usr_1",
  authorName: "Ada",
  content: "hi",
  clientId: "c-1",
  replyTo: null,
  createdAt: "2026-11-21T10:00:00.000Z",
  editedAt: null,
  deletedAt: null,
};

const clientFrames: ClientFrame[] = [
  { type: "send_message", content: "hello", clientId: "c-1" },
  { type: "send_message", content: "re", clientId: "c-2", replyTo: 4 },
  { type: "edit_message", seq: 3, content: "edited" },
  { type: "delete_message", seq: 3 },
  { type: "typing", isTyping: true },
  { type: "read", seq: 0 },
  { type: "delivered", seq: 9 },
  { type: "ping" },
];

const serverFrames: ServerFrame[] = [
  {
    type: "ready",
    room: {
      id: "room_1",
      name: "R",
      isPrivate: true,
      ownerId: "usr_1",
      createdAt: "2026-11-21T10:00:00.000Z",
      memberCount: 2,
    },
    you: { userId: "usr_1", displayName: "Ada", role: "owner" },
    online: [
      { userId: "usr_1", displayName: "Ada", role: "owner", joinedAt: "2026-11-21T10:00:00.000Z" },
    ],
    onlineCount: 250,
    lastSeq: 3,
    readSeq: 1,
    epoch: "e",
    resume: "ok",
  },
  { type: "receive_message", seq: 3, message },
  {
    type: "message_updated",
    seq: 4,
    message: { ...message, content: "", deletedAt: message.createdAt },
  },
  { type: "ack", clientId: "c-1", seq: 3, id: "msg_1" },
  { type: "typing", userId: "usr_1", displayName: "Ada", isTyping: true, expiresInMs: 6000 },
  {
    type: "user_status",
    userId: "usr_1",
    status: "offline",
    lastSeenAt: message.createdAt,
    onlineCount: 0,
  },
  {
    type: "user_status_batch",
    changes: [
      { userId: "usr_1", status: "offline", lastSeenAt: message.createdAt },
      { userId: "usr_2", displayName: "Bo", status: "online" },
    ],
    onlineCount: 1,
  },
  { type: "receipt", userId: "usr_1", kind: "read", seq: 3 },
  {
    type: "error",
    code: "rate_limited",
    message: "slow down",
    clientId: "c-9",
    retryAfterMs: 1200,
  },
  { type: "pong" },
];

describe("protocol frames", () => {
  it.each(clientFrames.map((f) => [f.type, f] as const))(
    "round-trips client frame %s",
    (_, frame) => {
      expect(clientFrameSchema.parse(JSON.parse(JSON.stringify(frame)))).toEqual(frame);
    },
  );

  it.each(serverFrames.map((f) => [f.type, f] as const))(
    "round-trips server frame %s",
    (_, frame) => {
      expect(serverFrameSchema.parse(JSON.parse(JSON.stringify(frame)))).toEqual(frame);
    },
  );

  it("ignores unknown fields so old and new code can talk during a deploy", () => {
    const parsed = clientFrameSchema.parse({ type: "read", seq: 2, futureField: { x: 1 } });
    expect(parsed).toEqual({ type: "read", seq: 2 });
  });

  it("reads a presence change the same in user_status and in user_status_batch", () => {
    const change = fc.record(
      {
        userId: fc.string(),
        displayName: fc.string(),
        status: fc.constantFrom("online", "offline"),
        lastSeenAt: fc.string(),
        extra: fc.integer(),
      },
      { requiredKeys: ["userId", "status"] },
    );
    fc.assert(
      fc.property(change, (c) => {
        const single = serverFrameSchema.parse({ type: "user_status", ...c });
        const batch = serverFrameSchema.parse({ type: "user_status_batch", changes: [c] });
        const { type, ...fromSingle } = single as { type: string };
        expect(type).toBe("user_status");
        expect(batch).toEqual({ type: "user_status_batch", changes: [fromSingle] });
        expect(fromSingle).toEqual(presenceChangeSchema.parse(c));
      }),
    );
    expect(
      serverFrameSchema.safeParse({ type: "user_status_batch", changes: [{ userId: "u" }] })
        .success,
    ).toBe(false);
  });

  it("reads ready and presence frames of a server older than onlineCount", () => {
    const counted = serverFrames.filter((f) => "onlineCount" in f) as Record<string, unknown>[];
    expect(counted.map((f) => f.type)).toEqual(["ready", "user_status", "user_status_batch"]);
    for (const { onlineCount: _, ...old } of counted) {
      expect(serverFrameSchema.parse(old)).toEqual(old);
    }
  });

  it("refuses an onlineCount that is not a whole number of people", () => {
    for (const onlineCount of [-1, 1.5, "3", null]) {
      const frame = { type: "user_status", userId: "u", status: "online", onlineCount };
      expect(serverFrameSchema.safeParse(frame).success, String(onlineCount)).toBe(false);
    }
  });

  it("uses the exact heartbeat texts of the runtime auto-response", () => {
    expect(JSON.parse(PING_TEXT)).toEqual({ type: "ping" });
    expect(serverFrameSchema.parse(JSON.parse(PONG_TEXT))).toEqual({ type: "pong" });
  });

  it("refuses seqs that are negative, fractional, huge or strings", () => {
    for (const seq of [-1, 1.5, 2 ** 53, "3", Number.POSITIVE_INFINITY]) {
      expect(clientFrameSchema.safeParse({ type: "delete_message", seq }).success).toBe(false);
    }
    expect(clientFrameSchema.safeParse({ type: "delete_message", seq: 0 }).success).toBe(false);
    expect(clientFrameSchema.safeParse({ type: "read", seq: 0 }).success).toBe(true);
  });

  it("requires a visible-ASCII clientId of 1..128 characters", () => {
    const send = (clientId: unknown) =>
      clientFrameSchema.safeParse({ type: "send_message", content: "x", clientId }).success;
    expect(send("0b9d6c2e-1f1e-4b43-9f0e-6f1c3d8c1a2b")).toBe(true);
    expect(send("")).toBe(false);
    expect(send("has space")).toBe(false);
    expect(send("x".repeat(129))).toBe(false);
    expect(send(undefined)).toBe(false);
  });
});

describe("message content", () => {
  const ok = (s: string) => contentSchema.safeParse(s);

  it("is trimmed and keeps inner newlines and tabs", () => {
    expect(contentSchema.parse("  a\n\tb  ")).toBe("a\n\tb");
  });

  it("turns CRLF and lone CR into LF", () => {
    expect(contentSchema.parse("a\r\nb\rc")).toBe("a\nb\nc");
  });

  it("is refused when empty after trimming", () => {
    expect(ok("").success).toBe(false);
    expect(ok(" \n\t ").success).toBe(false);
  });

  it("allows exactly 4000 code points and refuses 4001, counting an emoji as one", () => {
    expect(ok("a".repeat(MAX_CONTENT_CHARS)).success).toBe(true);
    expect(ok("a".repeat(MAX_CONTENT_CHARS + 1)).success).toBe(false);
    expect(ok("😀".repeat(MAX_CONTENT_CHARS)).success).toBe(true);
    expect(ok("😀".repeat(MAX_CONTENT_CHARS + 1)).success).toBe(false);
  });

  it("refuses NUL, other C0/C1 controls and DEL", () => {
    for (const c of ["\u0000", "\u0007", "\u001b", "\u007f", "\u0085"]) {
      expect(ok(`a${c}b`).success, JSON.stringify(c)).toBe(false);
    }
  });

  it("refuses lone surrogates but accepts paired ones", () => {
    expect(ok("a\ud800b").success).toBe(false);
    expect(ok("a\udc00").success).toBe(false);
    expect(ok("a\ud83d\ude00").success).toBe(true);
  });

  it("never throws on arbitrary strings and accepts only valid content (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 50 }), (s) => {
        const r = contentSchema.safeParse(s);
        if (r.success) {
          expect(r.data.length).toBeGreaterThan(0);
          expect(r.data).toBe(r.data.trim());
          // biome-ignore lint/suspicious/noControlCharactersInRegex: checking for controls.
          expect(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(r.data)).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
