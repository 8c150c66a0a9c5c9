import type { PresenceFrame, ReceiptKind } from "../shared/protocol";
import type { Emitter } from "./emitter";
import type { OnlineUser, RoomEvents, TypingUser, Watermarks } from "./room-types";

/** Local expiry runs this much after the server's, so the server's own "stopped" wins normally. */
const TYPING_EXPIRY_SLACK_MS = 500;

/**
 * The other people in a live room as frames describe them: who is online, who is typing (with
 * a local expiry in case the server's "stopped" is lost with a dropped socket), and everyone's
 * receipt watermarks. Emits `presence` and `typing` on changes.
 */
export class RoomPeers {
  private online = new Map<string, OnlineUser>();
  private readonly typists = new Map<
    string,
    { user: TypingUser; timer: ReturnType<typeof setTimeout> }
  >();
  private readonly marks = new Map<string, Watermarks>();

  constructor(private readonly events: Emitter<RoomEvents>) {}

  get onlineUsers(): OnlineUser[] {
    return [...this.online.values()];
  }

  get typingUsers(): TypingUser[] {
    return [...this.typists.values()].map((t) => t.user);
  }

  get watermarks(): ReadonlyMap<string, Watermarks> {
    return this.marks;
  }

  /** `ready.online`: the whole list, replacing whatever an older socket said. */
  replaceOnline(users: readonly OnlineUser[]): void {
    this.online = new Map(
      users.map((u) => [u.userId, { userId: u.userId, displayName: u.displayName }]),
    );
  }

  /**
   * A `user_status` frame, or a `user_status_batch`: its changes in order, exactly as that many
   * `user_status` frames (one `presence` event each). An online for someone already online (the
   * server may repeat what `ready.online` said) changes nothing but is reported like any other.
   */
  presence(frame: PresenceFrame): void {
    const changes = frame.type === "user_status" ? [frame] : frame.changes;
    for (const c of changes) {
      this.status(c.userId, c.displayName, c.status, c.lastSeenAt ?? null);
    }
  }

  /** One presence change. */
  status(
    userId: string,
    displayName: string | undefined,
    status: "online" | "offline",
    lastSeenAt: string | null,
  ): void {
    const name = displayName ?? this.online.get(userId)?.displayName ?? userId;
    if (status === "online") {
      this.online.set(userId, { userId, displayName: name });
    } else {
      this.online.delete(userId);
      this.stoppedTyping(userId);
    }
    this.events.emit("presence", { userId, displayName: name, status, lastSeenAt });
  }

  /** A `typing` frame (never about you: the server doesn't echo it to the typist). */
  typing(userId: string, displayName: string, isTyping: boolean, expiresInMs: number): void {
    if (!isTyping) {
      this.stoppedTyping(userId);
      return;
    }
    const existing = this.typists.get(userId);
    if (existing) {
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(
      () => this.stoppedTyping(userId),
      expiresInMs + TYPING_EXPIRY_SLACK_MS,
    );
    this.typists.set(userId, { user: { userId, displayName }, timer });
    if (!existing) {
      this.events.emit("typing", { userId, displayName, isTyping: true });
    }
  }

  /** Ends someone's typing indicator (their message arrived, they left, it expired). */
  stoppedTyping(userId: string): void {
    const t = this.typists.get(userId);
    if (!t) {
      return;
    }
    clearTimeout(t.timer);
    this.typists.delete(userId);
    this.events.emit("typing", { ...t.user, isTyping: false });
  }

  /** Clears every indicator: a dropped socket won't tell when they stop. */
  clearTyping(): void {
    for (const userId of [...this.typists.keys()]) {
      this.stoppedTyping(userId);
    }
  }

  /** A `receipt` frame; watermarks only move up, and read implies delivered. */
  receipt(userId: string, kind: ReceiptKind, seq: number): Watermarks {
    const w = this.marks.get(userId) ?? { deliveredSeq: 0, readSeq: 0 };
    const next =
      kind === "read"
        ? { readSeq: Math.max(w.readSeq, seq), deliveredSeq: Math.max(w.deliveredSeq, seq) }
        : { readSeq: w.readSeq, deliveredSeq: Math.max(w.deliveredSeq, seq) };
    this.marks.set(userId, next);
    return next;
  }
}
