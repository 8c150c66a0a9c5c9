import type { Member } from "../shared/api";
import {
  PRESENCE_BATCH_MAX,
  PRESENCE_BATCH_MS,
  PRESENCE_BIG_ROOM_BATCH_MS,
  type PresenceChange,
  type PresenceFrame,
  TYPING_REBROADCAST_MS,
  TYPING_TTL_MS,
} from "../shared/protocol";

/**
 * Presence and typing as decisions over timestamps: no timers. The room keeps these rows in its
 * SQLite and arms one alarm for the earliest deadline (nextAlarmAt), so they survive hibernation.
 */

/** A user who is typing: the indicator lasts until `expiresAt` unless refreshed. */
export interface TypingRow {
  userId: string;
  displayName: string;
  expiresAt: number;
  /** When others were last told; refreshes inside TYPING_REBROADCAST_MS are not re-sent. */
  broadcastAt: number;
}

/** A user whose last socket closed at `goneAt`; still shown online until the grace period ends. */
export interface GraceRow {
  userId: string;
  displayName: string;
  role: Member["role"];
  joinedAt: number;
  goneAt: number;
}

/**
 * A `typing {isTyping}` report. Starting (or restarting after expiry) is broadcast; a refresh is
 * re-broadcast at most every TYPING_REBROADCAST_MS so a chatty client can't flood the room;
 * stopping is broadcast only if the user was shown as typing.
 */
export function decideTyping(
  prev: TypingRow | null,
  isTyping: boolean,
  user: { userId: string; displayName: string },
  now: number,
): { next: TypingRow | null; broadcast: boolean } {
  if (!isTyping) {
    return { next: null, broadcast: prev !== null };
  }
  const fresh = prev === null || prev.expiresAt <= now;
  const broadcast = fresh || now - prev.broadcastAt >= TYPING_REBROADCAST_MS;
  return {
    next: {
      userId: user.userId,
      displayName: user.displayName,
      expiresAt: now + TYPING_TTL_MS,
      broadcastAt: broadcast || prev === null ? now : prev.broadcastAt,
    },
    broadcast,
  };
}

/** Typists whose indicator ran out by `now` (the alarm broadcasts `isTyping: false` for them). */
export function expiredTypists(rows: readonly TypingRow[], now: number): TypingRow[] {
  return rows.filter((r) => r.expiresAt <= now);
}

/**
 * A socket opened. `otherSockets` counts the user's sockets already open; `inGrace` says the user
 * left less than the grace period ago. Only a user who really was offline is announced (queued:
 * see QueuedPresence).
 */
export function onSocketOpened(
  otherSockets: number,
  inGrace: boolean,
): { announceOnline: boolean; endGrace: boolean } {
  return { announceOnline: otherSockets === 0 && !inGrace, endGrace: inGrace };
}

/**
 * A socket closed. With sockets left nothing changes; the last one starts the grace period, or,
 * when the user was removed from the room, makes them offline at once.
 */
export function onSocketClosed(
  remainingSockets: number,
  removed: boolean,
): "stay_online" | "start_grace" | "offline_now" {
  if (remainingSockets > 0) {
    return "stay_online";
  }
  return removed ? "offline_now" : "start_grace";
}

/** Grace rows whose period ended by `now`: these users go offline now. */
export function dueOffline(rows: readonly GraceRow[], now: number, graceMs: number): GraceRow[] {
  return rows.filter((r) => r.goneAt + graceMs <= now);
}

// ---- the presence outbox --------------------------------------------------------------------

/**
 * A presence change waiting for the next flush. Broadcasting each change at once made a crowd
 * joining a room cost O(N^2) frames (every join told every socket); instead changes are queued
 * (presence_outbox, in SQLite so a pending change survives eviction) and the alarm sends them
 * all in one frame per socket PRESENCE_BATCH_MS after the first (presenceFrames).
 *
 * One entry per user, the newest wins (enqueuePresence): a client only needs each user's latest
 * status, and a newer change always describes the user's current state, so a flush brings every
 * socket to the room's online set (ready.online plus the flushes since, applied in order).
 */
export interface QueuedPresence {
  userId: string;
  status: "online" | "offline";
  /** With online: the name to show. */
  displayName: string | null;
  /** With offline: when the last socket closed (ms). */
  lastSeenAt: number | null;
}

/** The change to queue when a user's first socket opens (onSocketOpened says announceOnline). */
export function onlineChange(user: { userId: string; displayName: string }): QueuedPresence {
  return { userId: user.userId, status: "online", displayName: user.displayName, lastSeenAt: null };
}

/** The change to queue when a user goes offline (grace over, or removed from the room). */
export function offlineChange(userId: string, lastSeenAt: number): QueuedPresence {
  return { userId, status: "offline", displayName: null, lastSeenAt };
}

/**
 * The queue after `change`: it replaces the user's pending change (last status wins) and keeps
 * the others in order. MessageStore.queuePresence is this as an upsert; the model for tests.
 */
export function enqueuePresence(
  queue: readonly QueuedPresence[],
  change: QueuedPresence,
): QueuedPresence[] {
  const i = queue.findIndex((q) => q.userId === change.userId);
  return i < 0 ? [...queue, change] : queue.map((q, j) => (j === i ? change : q));
}

/**
 * When the queue is due: PRESENCE_BATCH_MS after its first change, or PRESENCE_BIG_ROOM_BATCH_MS
 * while the room is big (more online than `rosterLimit`: its flushes are mostly just a count, see
 * presenceFrames). Null for an empty queue.
 */
export function presenceDueAt(
  firstQueuedAt: number | null,
  onlineCount: number,
  rosterLimit: number,
): number | null {
  if (firstQueuedAt === null) {
    return null;
  }
  return (
    firstQueuedAt + (onlineCount > rosterLimit ? PRESENCE_BIG_ROOM_BATCH_MS : PRESENCE_BATCH_MS)
  );
}

/** A presence frame as the room sends it: always with the count. */
export type CountedPresenceFrame = PresenceFrame & { onlineCount: number };

/**
 * What a flush sends to every open socket, in order: nothing for an empty queue, the plain
 * `user_status` frame for one change (the shape clients always knew), otherwise
 * `user_status_batch` frames of at most PRESENCE_BATCH_MAX changes (normally exactly one).
 * `onlineCount` is the room's count once the flush is applied (onlineUsers().size at flush time):
 * the queue holds every change since the last flush, so that is exact after the last frame. A
 * flush split into several frames (over PRESENCE_BATCH_MAX changes in one batch window) gives
 * each the same final count; they go out back to back in one turn.
 *
 * A big room (more online than `rosterLimit`, READY_ONLINE_LIMIT) switches to occupancy: only
 * the offline changes and the count go out, arrivals are not announced. Telling every member of
 * every arrival costs O(N) bytes per join, O(N^2) for a crowd, and in a room that big no client
 * holds the whole list anyway (`ready.online` is partial). Departures still go out, so a client's
 * list never shows someone who left; a flush with nothing left to tell is a count-only
 * `user_status_batch` with no changes.
 */
export function presenceFrames(
  queue: readonly QueuedPresence[],
  onlineCount: number,
  iso: (ms: number) => string,
  rosterLimit: number,
): CountedPresenceFrame[] {
  if (queue.length === 0) {
    return [];
  }
  const told = onlineCount > rosterLimit ? queue.filter((q) => q.status === "offline") : queue;
  if (told.length === 0) {
    return [{ type: "user_status_batch", changes: [], onlineCount }];
  }
  const changes = told.map((q) => toChange(q, iso));
  const frames: CountedPresenceFrame[] = [];
  for (let i = 0; i < changes.length; i += PRESENCE_BATCH_MAX) {
    const chunk = changes.slice(i, i + PRESENCE_BATCH_MAX);
    const [only] = chunk;
    frames.push(
      chunk.length === 1 && only
        ? { type: "user_status", ...only, onlineCount }
        : { type: "user_status_batch", changes: chunk, onlineCount },
    );
  }
  return frames;
}

/** The wire form: displayName only with online, lastSeenAt only with offline (no undefined keys). */
function toChange(q: QueuedPresence, iso: (ms: number) => string): PresenceChange {
  if (q.status === "online") {
    return q.displayName === null
      ? { userId: q.userId, status: "online" }
      : { userId: q.userId, displayName: q.displayName, status: "online" };
  }
  return q.lastSeenAt === null
    ? { userId: q.userId, status: "offline" }
    : { userId: q.userId, status: "offline", lastSeenAt: iso(q.lastSeenAt) };
}

// ---- the alarm ------------------------------------------------------------------------------

/**
 * The one alarm time that covers every deadline: the earliest typing expiry, the earliest grace
 * end, the presence flush (presenceDueAt), and a retry for
 * pending last-seen writes. Null when nothing is pending.
 */
export function nextAlarmAt(input: {
  earliestTypingExpiry: number | null;
  earliestGoneAt: number | null;
  /** When the pending presence changes are due (presenceDueAt); null when none are pending. */
  presenceDueAt: number | null;
  graceMs: number;
  lastSeenPending: boolean;
  now: number;
  retryMs: number;
}): number | null {
  const candidates: number[] = [];
  if (input.earliestTypingExpiry !== null) {
    candidates.push(input.earliestTypingExpiry);
  }
  if (input.earliestGoneAt !== null) {
    candidates.push(input.earliestGoneAt + input.graceMs);
  }
  if (input.presenceDueAt !== null) {
    candidates.push(input.presenceDueAt);
  }
  if (input.lastSeenPending) {
    candidates.push(input.now + input.retryMs);
  }
  return candidates.length === 0 ? null : Math.min(...candidates);
}

/** Someone with an open socket, as the room sees them. */
export interface ConnectedUser {
  userId: string;
  displayName: string;
  role: Member["role"];
  joinedAt: number;
}

/**
 * Everyone shown online, once each: users with an open socket (several sockets count once) plus
 * users still in their grace period. O(N); only GET /presence needs the whole set.
 */
export function onlineUsers(
  connected: Iterable<ConnectedUser>,
  grace: readonly GraceRow[],
): Map<string, ConnectedUser> {
  const byId = new Map<string, ConnectedUser>();
  for (const u of connected) {
    if (!byId.has(u.userId)) {
      byId.set(u.userId, u);
    }
  }
  for (const g of grace) {
    if (!byId.has(g.userId)) {
      byId.set(g.userId, g);
    }
  }
  return byId;
}

/**
 * The `onlineCount` of ready and presence frames: users with an open socket (`open`, one entry
 * per user, kept up to date by the room's socket index) plus grace users without one. O(grace),
 * not O(N): every join and every presence flush asks.
 */
export function onlineCount(
  open: ReadonlyMap<string, ConnectedUser>,
  grace: readonly GraceRow[],
): number {
  let n = open.size;
  for (const g of grace) {
    if (!open.has(g.userId)) {
      n++;
    }
  }
  return n;
}

/** `localeCompare` without arguments, made once: ready frames compare many names. */
const byName = new Intl.Collator();

/** The order of `ready.online`: display name, then id, so every client renders the same list. */
export function compareByName(a: ConnectedUser, b: ConnectedUser): number {
  return (
    byName.compare(a.displayName, b.displayName) ||
    (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)
  );
}

/** What `ready` says about presence: a bounded list, and how many are online in all. */
export interface ReadyPresence {
  /** Everyone online (you first, then by name), or only you above `limit` (occupancy mode). */
  online: Member[];
  /** Everyone online (you and the grace period included); online.length when the list is complete. */
  onlineCount: number;
}

/**
 * `ready.online` and `ready.onlineCount`. While at most `limit` (READY_ONLINE_LIMIT) are online
 * the list is everyone, you first, then the others by name. Above that the room is in occupancy
 * mode (presenceFrames: no arrivals told) and the list is only you: a client can rely on seeing
 * itself, and the count is exact. A partial list there would be a snapshot nobody keeps up to
 * date, and it was most of a join's cost: ~11 KiB on the wire per join at the old cap of 100
 * names, and most of the JavaScript a join allocated (docs/performance.md, finding 3). GET
 * /presence lists everyone on demand. O(limit) per join: the count comes from the index.
 */
export function readyPresence(
  open: ReadonlyMap<string, ConnectedUser>,
  grace: readonly GraceRow[],
  youId: string,
  limit: number,
  iso: (ms: number) => string,
): ReadyPresence {
  const count = onlineCount(open, grace);
  const you = open.get(youId) ?? grace.find((g) => g.userId === youId);
  const others: ConnectedUser[] = [];
  if (count <= limit) {
    for (const source of [open.values(), grace.filter((g) => !open.has(g.userId))]) {
      for (const u of source) {
        if (u.userId !== youId) {
          others.push(u);
        }
      }
    }
    others.sort(compareByName);
  }
  return {
    online: (you ? [you, ...others] : others).map((u) => ({
      userId: u.userId,
      displayName: u.displayName,
      role: u.role,
      joinedAt: iso(u.joinedAt),
    })),
    onlineCount: count,
  };
}
