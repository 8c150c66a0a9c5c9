import type { PresenceChange, PresenceFrame, ReceiptKind } from "../shared/protocol";
import type { Emitter } from "./emitter";
import type { OnlineUser, RoomEvents, TypingUser, Watermarks } from "./room-types";

/** Local expiry runs this much after the server's, so the server's own "stopped" wins normally. */
const TYPING_EXPIRY_SLACK_MS = 500;

/**
 * A full presence load (GET /presence) in flight: the presence changes that arrive meanwhile are
 * kept and applied again on top of its answer, and a new `ready` meanwhile makes it stale.
 */
export interface PresenceLoad {
  /**
   * Replaces the online list with the loaded one plus the changes since the load started.
   * False (and nothing changed) when a socket became ready meanwhile: changes may have been
   * missed while it was down, so the answer can't be merged; load again.
   */
  apply(users: readonly OnlineUser[]): boolean;
  /** Stops keeping changes for this load (after apply, or when the request failed). */
  end(): void;
}

/**
 * The other people in a live room as frames describe them: who is online, who is typing (with
 * a local expiry in case the server's "stopped" is lost with a dropped socket), and everyone's
 * receipt watermarks. Emits `presence` and `typing` on changes.
 *
 * `online` may be partial: with more online than the server's READY_ONLINE_LIMIT, a `ready` lists
 * only you, and presence frames tell departures and the count, not arrivals. `onlineCount`
 * is exact (every ready and presence frame carries it). The list only ever holds people who are
 * online, so when its size equals the count it is complete.
 */
export class RoomPeers {
  private online = new Map<string, OnlineUser>();
  private count = 0;
  private readonly loads = new Set<{ changes: PresenceChange[]; stale: boolean }>();
  private readonly typists = new Map<
    string,
    { user: TypingUser; timer: ReturnType<typeof setTimeout> }
  >();
  private readonly marks = new Map<string, Watermarks>();

  constructor(private readonly events: Emitter<RoomEvents>) {}

  get onlineUsers(): OnlineUser[] {
    return [...this.online.values()];
  }

  /** Everyone online (you included), as the latest ready or presence frame counted them. */
  get onlineCount(): number {
    return this.count;
  }

  get typingUsers(): TypingUser[] {
    return [...this.typists.values()].map((t) => t.user);
  }

  get watermarks(): ReadonlyMap<string, Watermarks> {
    return this.marks;
  }

  /**
   * `ready.online` (possibly partial) and `ready.onlineCount`, replacing whatever an older socket
   * said. A server older than onlineCount listed everyone, so the list's length is the count.
   */
  replaceOnline(users: readonly OnlineUser[], onlineCount?: number): void {
    this.online = toMap(users);
    this.count = onlineCount ?? this.online.size;
    for (const load of this.loads) {
      load.stale = true;
    }
  }

  /**
   * A `user_status` frame, or a `user_status_batch`: its changes in order, exactly as that many
   * `user_status` frames (one `presence` event each, emitted once the whole frame and its
   * onlineCount are applied). An online for someone already online (the server may repeat what
   * `ready.online` said) changes nothing but is reported like any other; an offline for someone
   * the list never had only lowers the count.
   */
  presence(frame: PresenceFrame): void {
    const changes = frame.type === "user_status" ? [frame] : frame.changes;
    for (const load of this.loads) {
      load.changes.push(...changes);
    }
    const events = changes.map((c) => this.apply(c));
    const before = this.count;
    this.count = frame.onlineCount ?? this.online.size;
    for (const e of events) {
      this.events.emit("presence", e);
    }
    if (this.count !== before) {
      this.events.emit("online_count", this.count);
    }
  }

  /** Starts loading the whole list over HTTP (see PresenceLoad). */
  startLoad(): PresenceLoad {
    const load = { changes: [] as PresenceChange[], stale: false };
    this.loads.add(load);
    return {
      apply: (users) => {
        this.loads.delete(load);
        if (load.stale) {
          return false;
        }
        this.online = toMap(users);
        // Replayed changes are already reported (presence events); they only bring the list
        // from the moment of the answer to now. Idempotent, so a change the answer already
        // reflects is harmless.
        for (const c of load.changes) {
          this.apply(c);
        }
        this.count = this.online.size;
        return true;
      },
      end: () => {
        this.loads.delete(load);
      },
    };
  }

  /** One presence change on the list; returns the `presence` event it makes. */
  private apply(c: PresenceChange): RoomEvents["presence"] {
    const name = c.displayName ?? this.online.get(c.userId)?.displayName ?? c.userId;
    if (c.status === "online") {
      this.online.set(c.userId, { userId: c.userId, displayName: name });
    } else {
      this.online.delete(c.userId);
      this.stoppedTyping(c.userId);
    }
    return {
      userId: c.userId,
      displayName: name,
      status: c.status,
      lastSeenAt: c.lastSeenAt ?? null,
    };
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

function toMap(users: readonly OnlineUser[]): Map<string, OnlineUser> {
  return new Map(users.map((u) => [u.userId, { userId: u.userId, displayName: u.displayName }]));
}
