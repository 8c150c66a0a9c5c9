/**
 * Frames for many sockets, sent a slice of sockets per event-loop turn.
 *
 * Why: the runtime queues a turn's sends and writes them after the turn, so one frame to 3,000
 * sockets holds 3,000 queued writes at once. That peak stays in the process's memory after it is gone
 * (workerd measured ~4 KiB per socket of RSS for a presence frame sent to a 3,000-socket room in
 * one turn; none when sent 256 at a time: docs/performance.md, finding 3).
 *
 * Order: frames go out in the order they were pushed, each to all its sockets before the next
 * starts, so every socket sees them in that order. The sockets are the ones given at push time
 * (a socket that opens later has newer state already); one that closed since is skipped.
 */
export class SlicedOutbox<S> {
  private readonly queue: { text: string; to: readonly S[]; next: number }[] = [];
  private waiting = false;

  constructor(
    private readonly io: {
      /** Sockets visited per turn. */
      slice: number;
      /** Still worth a send (open, and not being closed by us). */
      isOpen: (socket: S) => boolean;
      send: (socket: S, text: string) => void;
      /** Runs `fn` in a later turn (setTimeout 0 in the room). */
      later: (fn: () => void) => void;
    },
  ) {}

  /**
   * Sends `text` to `to`. With nothing queued before it, the first slice goes in this turn, so
   * a frame for at most `slice` sockets is sent before push returns, as a plain broadcast would.
   */
  push(text: string, to: readonly S[]): void {
    this.queue.push({ text, to, next: 0 });
    if (!this.waiting) {
      this.drain();
    }
  }

  /** Frames not yet sent to all their sockets. */
  get pending(): number {
    return this.queue.length;
  }

  private readonly drain = (): void => {
    this.waiting = false;
    let budget = this.io.slice;
    while (budget > 0 && this.queue.length > 0) {
      const head = this.queue[0] as (typeof this.queue)[number];
      for (; budget > 0 && head.next < head.to.length; budget--) {
        const socket = head.to[head.next++] as S;
        if (this.io.isOpen(socket)) {
          this.io.send(socket, head.text);
        }
      }
      if (head.next === head.to.length) {
        this.queue.shift();
      }
    }
    if (this.queue.length > 0) {
      this.waiting = true;
      this.io.later(this.drain);
    }
  };
}
