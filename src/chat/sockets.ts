import type { ServerFrame } from "../shared/protocol";
import { type Attachment, parseAttachment } from "./attachment";
import { SlicedOutbox } from "./sliced-outbox";

/** Sockets a presence or typing frame is sent to per event-loop turn (see SlicedOutbox). */
export const SPREAD_SLICE = 256;

/**
 * The room's live sockets (hibernation API). The runtime is the source of truth: each socket
 * carries its identity in its attachment and is tagged `user:<id>` and `session:<id>`, so kicks,
 * revocations and presence counts are tag lookups. The map here is only a cache of the
 * attachments, rebuilt from ctx.getWebSockets() the first time it's needed after a wake-up.
 */
export class RoomSockets {
  private cache: Map<WebSocket, Attachment> | null = null;
  /**
   * The same sockets by user: how many each user has open, and the identity of the newest. Kept
   * with the cache so presence (ready.online, onlineCount) costs O(limit) per join instead of a
   * walk over every socket.
   */
  private readonly socketsOfUser = new Map<string, number>();
  private readonly identityOfUser = new Map<string, Attachment>();
  /** Sockets whose departure was handled (a close can follow an error for the same socket). */
  private readonly departed = new WeakSet<WebSocket>();

  /** Presence and typing frames, a slice of sockets per turn (spread). */
  private readonly outbox = new SlicedOutbox<WebSocket>({
    slice: SPREAD_SLICE,
    isOpen: (ws) => this.conns().has(ws),
    send: trySend,
    later: (fn) => setTimeout(fn, 0),
  });

  constructor(private readonly ctx: DurableObjectState) {}

  private conns(): Map<WebSocket, Attachment> {
    if (this.cache === null) {
      this.cache = new Map();
      this.socketsOfUser.clear();
      this.identityOfUser.clear();
      for (const ws of this.ctx.getWebSockets()) {
        const att = parseAttachment(ws.deserializeAttachment());
        if (!att) {
          ws.close(1011, "unknown connection"); // not ours to guess who it belongs to
        } else if (!att.closing) {
          this.track(ws, att);
        }
      }
    }
    return this.cache;
  }

  /** Adds or replaces a socket's entry, in the cache and in the per-user index. */
  private track(ws: WebSocket, att: Attachment): void {
    const cache = this.cache ?? this.conns();
    if (!cache.has(ws)) {
      this.socketsOfUser.set(att.userId, (this.socketsOfUser.get(att.userId) ?? 0) + 1);
    }
    this.identityOfUser.set(att.userId, att);
    cache.set(ws, att);
  }

  /** Drops a socket's entry (closed, failed or being closed by us). */
  private untrack(ws: WebSocket): void {
    const att = this.cache?.get(ws);
    if (!att || !this.cache) {
      return;
    }
    this.cache.delete(ws);
    const left = (this.socketsOfUser.get(att.userId) ?? 1) - 1;
    if (left > 0) {
      this.socketsOfUser.set(att.userId, left);
    } else {
      this.socketsOfUser.delete(att.userId);
      this.identityOfUser.delete(att.userId);
    }
  }

  /** One identity per user with an open socket (the newest), in the order they connected. */
  openUsers(): ReadonlyMap<string, Attachment> {
    this.conns();
    return this.identityOfUser;
  }

  /** Accepts a new socket with its identity; call before sending it anything. */
  accept(ws: WebSocket, att: Attachment): void {
    this.conns(); // build the cache first, so the new socket isn't counted twice
    this.ctx.acceptWebSocket(ws, [`user:${att.userId}`, `session:${att.sessionId}`]);
    this.set(ws, att);
  }

  get(ws: WebSocket): Attachment | null {
    return this.conns().get(ws) ?? parseAttachment(ws.deserializeAttachment());
  }

  set(ws: WebSocket, att: Attachment): void {
    ws.serializeAttachment(att);
    if (!att.closing) {
      this.track(ws, att);
    }
  }

  /** The user's sockets that are open and not being closed by us. */
  openOf(userId: string): WebSocket[] {
    const conns = this.conns();
    return this.ctx.getWebSockets(`user:${userId}`).filter((ws) => conns.has(ws));
  }

  /** Serialises once and sends to every open socket, except those `skip` names. */
  broadcast(frame: ServerFrame, skip?: (ws: WebSocket, att: Attachment) => boolean): void {
    const text = JSON.stringify(frame);
    // forEach, not for-of over entries: no [ws, att] pair allocated per socket per frame (a
    // message to 100 sockets made 100 of them; the garbage showed up as GC pauses in p99).
    this.conns().forEach((att, ws) => {
      if (skip?.(ws, att)) {
        return;
      }
      try {
        ws.send(text);
      } catch {
        // A socket that is closing; its close event cleans up.
      }
    });
  }

  /**
   * Like broadcast, for frames that are not part of the timeline (presence, typing): a room of
   * at most SPREAD_SLICE sockets gets it in this turn, a bigger one a slice per turn, in order
   * with the other spread frames. A timeline frame broadcast meanwhile can overtake it.
   */
  spread(frame: ServerFrame, skip?: (ws: WebSocket, att: Attachment) => boolean): void {
    const to: WebSocket[] = [];
    this.conns().forEach((att, ws) => {
      if (!skip?.(ws, att)) {
        to.push(ws);
      }
    });
    this.outbox.push(JSON.stringify(frame), to);
  }

  /**
   * A socket closed or failed: returns its attachment the first time (the caller then handles
   * typing and presence), null after that or when we closed it ourselves.
   */
  depart(ws: WebSocket): Attachment | null {
    const att = this.get(ws);
    this.untrack(ws);
    if (!att || att.closing || this.departed.has(ws)) {
      return null;
    }
    this.departed.add(ws);
    return att;
  }

  /**
   * Closes sockets from our side with an app close code. Each is marked `closing` first, so its
   * later close event is ignored (the caller handles the departure now, not then).
   */
  close(sockets: readonly WebSocket[], code: number, reason: string): Attachment[] {
    const closed: Attachment[] = [];
    for (const ws of sockets) {
      const att = this.get(ws);
      this.untrack(ws);
      if (att && !att.closing) {
        ws.serializeAttachment({ ...att, closing: true });
        closed.push(att);
      }
      try {
        ws.close(code, reason);
      } catch {
        // Already closed.
      }
    }
    return closed;
  }

  closeTagged(tag: string, code: number, reason: string): Attachment[] {
    return this.close(this.ctx.getWebSockets(tag), code, reason);
  }

  /** Updates identity fields on every open socket of a user (role change, profile change). */
  update(userId: string, fields: Partial<Pick<Attachment, "role" | "displayName" | "isGuest">>) {
    for (const ws of this.openOf(userId)) {
      const att = this.get(ws);
      if (att) {
        this.set(ws, { ...att, ...fields });
      }
    }
  }
}

function trySend(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // Closing: its close event cleans up.
  }
}

export function send(ws: WebSocket, frame: ServerFrame): void {
  ws.send(JSON.stringify(frame));
}
