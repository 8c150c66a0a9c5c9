import type { Message } from "../shared/api";
import type { ChatApiError } from "./errors";

/** A message on its way: shown by the app as "sending" until it resolves. */
export interface PendingMessage {
  /** The idempotency key the server dedupes retries by. */
  clientId: string;
  content: string;
  replyTo: number | null;
  /** When `send` was called (ms since the epoch), for ordering local echoes. */
  queuedAt: number;
  /** "queued": not on the wire yet; "sent": written to a socket; "acked": stored, message on its way. */
  state: "queued" | "sent" | "acked";
  /** The stored message's seq once acked. */
  seq: number | null;
}

interface Entry extends PendingMessage {
  resolve(m: Message): void;
  reject(e: ChatApiError): void;
}

/**
 * Outgoing messages until the server has stored them (DESIGN "Rules": acked only after stored).
 * Keyed by clientId, in send order. Nothing leaves on its own: the room writes `unsent()` to each
 * new socket after `ready`, so a send that was lost with a dropped connection goes out again, and
 * the server's (author, clientId) dedupe makes the repeat harmless. An entry ends when the stored
 * message is seen (`settle`), or with an error frame for its clientId (`fail`).
 */
export class Outbox {
  private readonly entries = new Map<string, Entry>();

  /** Queues a message; the promise resolves with the stored message. */
  add(input: {
    clientId: string;
    content: string;
    replyTo: number | null;
    now: number;
  }): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      this.entries.set(input.clientId, {
        clientId: input.clientId,
        content: input.content,
        replyTo: input.replyTo,
        queuedAt: input.now,
        state: "queued",
        seq: null,
        resolve,
        reject,
      });
    });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Snapshots of the messages not yet resolved, in send order. */
  get pending(): PendingMessage[] {
    return [...this.entries.values()].map(
      ({ clientId, content, replyTo, queuedAt, state, seq }) => ({
        clientId,
        content,
        replyTo,
        queuedAt,
        state,
        seq,
      }),
    );
  }

  /** Entries to (re)send on a fresh socket: every one not yet acked, in send order. */
  unsent(): PendingMessage[] {
    return this.pending.filter((e) => e.state !== "acked");
  }

  /** Marks an entry as written to the current socket. */
  markSent(clientId: string): void {
    const e = this.entries.get(clientId);
    if (e && e.state === "queued") {
      e.state = "sent";
    }
  }

  /** A new socket: acked entries stay acked; the rest count as not sent on it yet. */
  markAllQueued(): void {
    for (const e of this.entries.values()) {
      if (e.state === "sent") {
        e.state = "queued";
      }
    }
  }

  /** The server stored it under `seq`; returns false for an unknown clientId (another tab's). */
  ack(clientId: string, seq: number): boolean {
    const e = this.entries.get(clientId);
    if (!e) {
      return false;
    }
    e.state = "acked";
    e.seq = seq;
    return true;
  }

  /** Acked entries whose message hasn't been seen yet (for a fallback fetch). */
  awaitingMessage(): PendingMessage[] {
    return this.pending.filter((e) => e.state === "acked");
  }

  /**
   * Resolves every entry whose stored message `find` knows (by clientId, or by the acked seq).
   * Returns the clientIds that resolved.
   */
  settle(find: (e: PendingMessage) => Message | undefined): string[] {
    const done: string[] = [];
    for (const e of this.entries.values()) {
      const m = find(e);
      if (m) {
        this.entries.delete(e.clientId);
        e.resolve(m);
        done.push(e.clientId);
      }
    }
    return done;
  }

  /** Rejects one entry (an error frame named its clientId); false when unknown. */
  fail(clientId: string, error: ChatApiError): boolean {
    const e = this.entries.get(clientId);
    if (!e) {
      return false;
    }
    this.entries.delete(clientId);
    e.reject(error);
    return true;
  }

  /** Rejects everything (the room closed for good). */
  failAll(error: ChatApiError): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) {
      e.reject(error);
    }
  }
}
