import type { Member } from "../shared/api";
import { TYPING_REBROADCAST_MS, TYPING_TTL_MS } from "../shared/protocol";

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
 * left less than the grace period ago. Only a user who really was offline is announced.
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

/**
 * The one alarm time that covers every deadline: the earliest typing expiry, the earliest grace
 * end, and a retry for pending last-seen writes. Null when nothing is pending.
 */
export function nextAlarmAt(input: {
  earliestTypingExpiry: number | null;
  earliestGoneAt: number | null;
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
 * The `online` list: users with an open socket (several sockets count once) plus users still in
 * their grace period, ordered by display name then id so every client renders the same list.
 */
export function onlineMembers(
  connected: Iterable<ConnectedUser>,
  grace: readonly GraceRow[],
  iso: (ms: number) => string,
): Member[] {
  const byId = new Map<string, Member>();
  for (const u of [...connected, ...grace]) {
    if (!byId.has(u.userId)) {
      byId.set(u.userId, {
        userId: u.userId,
        displayName: u.displayName,
        role: u.role,
        joinedAt: iso(u.joinedAt),
      });
    }
  }
  return [...byId.values()].sort(
    (a, b) =>
      a.displayName.localeCompare(b.displayName) ||
      (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0),
  );
}
