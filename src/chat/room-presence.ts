import { iso, type Role } from "../shared/api";
import { TYPING_TTL_MS } from "../shared/protocol";
import type { Attachment } from "./attachment";
import {
  decideTyping,
  dueOffline,
  expiredTypists,
  offlineChange,
  onlineChange,
  onlineCount,
  onlineUsers,
  onSocketClosed,
  onSocketOpened,
  presenceDueAt,
  presenceFrames,
  readyPresence,
} from "./presence";
import type { PresenceStore } from "./presence-store";
import type { RoomSockets } from "./sockets";

/**
 * Typing and presence as the room object runs them: the pure decisions of presence.ts over the
 * room's typing/grace/outbox tables (PresenceStore) and its live sockets (RoomSockets). Every
 * method decides and stores in the caller's turn; its frames go out through RoomSockets.spread
 * (in that turn, or a slice of sockets per turn in a room of more than SPREAD_SLICE sockets).
 * Deadlines (typing expiry, end of grace, the presence batch) are kept by the room's single
 * alarm: methods that create one call `schedule`, and the alarm calls onAlarm().
 */
export class RoomPresence {
  constructor(
    private readonly store: PresenceStore,
    private readonly sockets: RoomSockets,
    private readonly options: {
      graceMs: number;
      /**
       * The big-room threshold (READY_ONLINE_LIMIT): up to it online a `ready` lists everyone;
       * above it only you, and arrivals are no longer announced (presenceFrames).
       */
      readyOnlineLimit: number;
      /** Arms the room's alarm for the earliest deadline (see ChatRoom.scheduleAlarm). */
      schedule: (now: number) => void;
    },
  ) {}

  /**
   * A socket of `userId` is about to be accepted: true when that makes the user newly online
   * (the caller then announces it after `ready`). A reconnect within the grace period ends the
   * grace silently: the others never saw the user go.
   */
  opening(userId: string): boolean {
    const others = this.sockets.openOf(userId).length;
    const decision = onSocketOpened(others, others === 0 && this.store.grace(userId) !== null);
    if (decision.endGrace) {
      this.store.deleteGrace(userId);
    }
    return decision.announceOnline;
  }

  /** The presence fields of `ready` for `userId` (everyone, or only you in a big room; exact count). */
  ready(userId: string): ReturnType<typeof readyPresence> {
    const grace = this.store.allGrace();
    return readyPresence(
      this.sockets.openUsers(),
      grace,
      userId,
      this.options.readyOnlineLimit,
      iso,
    );
  }

  /**
   * Queued, not broadcast (see presence.QueuedPresence): `ready.onlineCount` is exact already,
   * and the alarm tells everyone else in one batched frame.
   */
  announceOnline(att: Attachment): void {
    const now = Date.now();
    this.store.queuePresence(onlineChange(att), now);
    this.options.schedule(now);
  }

  typing(att: Attachment, isTyping: boolean): void {
    const now = Date.now();
    const { next, broadcast } = decideTyping(this.store.typing(att.userId), isTyping, att, now);
    if (next) {
      this.store.putTyping(next);
      this.options.schedule(now);
    } else {
      this.store.deleteTyping(att.userId);
    }
    if (broadcast) {
      this.broadcastTyping(att.userId, att.displayName, isTyping);
    }
  }

  /** The user sent a message or left: their indicator goes at once. */
  stopTyping(userId: string): void {
    const row = this.store.typing(userId);
    if (row) {
      this.store.deleteTyping(userId);
      this.broadcastTyping(userId, row.displayName, false);
    }
  }

  /** Never echoed to the typist: none of the typist's own sockets get it. */
  private broadcastTyping(userId: string, displayName: string, isTyping: boolean): void {
    this.sockets.spread(
      { type: "typing", userId, displayName, isTyping, expiresInMs: isTyping ? TYPING_TTL_MS : 0 },
      (_ws, att) => att.userId === userId,
    );
  }

  /** A socket is gone (closed by the client, the network, or us): typing and presence follow. */
  socketGone(att: Attachment): void {
    const now = Date.now();
    this.stopTyping(att.userId);
    // Never "offline_now" here: a removed member goes through memberRemoved instead.
    if (onSocketClosed(this.sockets.openOf(att.userId).length, false) === "start_grace") {
      this.store.putGrace({ ...att, goneAt: now });
    }
    this.options.schedule(now);
  }

  /**
   * The user is no longer a member (kick, leave) and `closedSockets` of theirs were just closed:
   * offline at once, no grace period.
   */
  memberRemoved(userId: string, closedSockets: number): void {
    const now = Date.now();
    const wasInGrace = this.store.deleteGrace(userId);
    this.stopTyping(userId);
    if (closedSockets > 0 || wasInGrace) {
      this.goOffline(userId, now, now);
      this.options.schedule(now);
    }
  }

  /** A member's role or name changed: a user in their grace period comes back with it. */
  updateIdentity(userId: string, fields: { role?: Role; displayName?: string }): void {
    this.store.updateGraceIdentity(userId, fields);
  }

  /** Users shown online: an open socket, or gone for less than the grace period. */
  onlineUserIds(): string[] {
    return [...onlineUsers(this.sockets.openUsers().values(), this.store.allGrace()).keys()];
  }

  /** The alarm's share: expired typing, grace periods that ended, the presence batch. */
  onAlarm(now: number): void {
    for (const t of expiredTypists(this.store.allTyping(), now)) {
      this.store.deleteTyping(t.userId);
      this.broadcastTyping(t.userId, t.displayName, false);
    }
    for (const g of dueOffline(this.store.allGrace(), now, this.options.graceMs)) {
      this.store.deleteGrace(g.userId);
      if (this.sockets.openOf(g.userId).length === 0) {
        this.goOffline(g.userId, g.goneAt, now);
      }
    }
    this.flush(now);
  }

  /** The room was deleted (its storage is wiped): forget the cached typing state too. */
  forget(): void {
    this.store.forget();
  }

  /** What nextAlarmAt needs from presence (with graceMs). */
  deadlines() {
    return {
      ...this.store.deadlines(),
      presenceDueAt: this.presenceDueAt(this.store.firstPresenceQueuedAt(), this.count()),
      graceMs: this.options.graceMs,
    };
  }

  private count(): number {
    return onlineCount(this.sockets.openUsers(), this.store.allGrace());
  }

  private presenceDueAt(firstQueuedAt: number | null, count: number): number | null {
    return presenceDueAt(firstQueuedAt, count, this.options.readyOnlineLimit);
  }

  /** Queued for the next presence flush, like an online; last_seen_at is written behind. */
  private goOffline(userId: string, lastSeenAt: number, now: number): void {
    this.store.queuePresence(offlineChange(userId, lastSeenAt), now);
    this.store.queueLastSeen(userId, lastSeenAt);
  }

  /**
   * Sends the queued presence changes once the batch is due: one frame to every open socket
   * (the joiners' own sockets too; an online they already have in ready.online is harmless; in a
   * big room only departures and the count, see presenceFrames), then forgets them. Queue read,
   * hand-over to spread and delete in one turn, so nothing is lost or sent twice. (Spreading
   * over later turns keeps the object awake with a timer, so it can't hibernate halfway.)
   */
  private flush(now: number): void {
    const { changes, firstQueuedAt } = this.store.pendingPresence();
    const count = this.count();
    const due = this.presenceDueAt(firstQueuedAt, count);
    if (due === null || due > now) {
      return;
    }
    for (const frame of presenceFrames(changes, count, iso, this.options.readyOnlineLimit)) {
      this.sockets.spread(frame);
    }
    this.store.clearPresence();
  }
}
