import { TYPING_TTL_MS } from "../shared/protocol";

/** Refresh a typing indicator this often while typing: half the server's expiry, so it never lapses. */
export const TYPING_REFRESH_MS = TYPING_TTL_MS / 2;
/** With no keystroke for this long, the SDK says "stopped typing" itself. */
export const TYPING_IDLE_MS = TYPING_REFRESH_MS + 1000;

/**
 * The outgoing typing throttle (chat-systems "(d)" item 6: at most one event per ~3 s), pure:
 * `input(now)` on every keystroke says whether a `typing {isTyping: true}` frame should go out;
 * `stop()` whether a `typing {isTyping: false}` should. Sending a message ends typing on the
 * server by itself, so `sent()` just forgets the state.
 */
export class TypingThrottle {
  private lastSentAt: number | null = null;

  constructor(private readonly refreshMs = TYPING_REFRESH_MS) {}

  get active(): boolean {
    return this.lastSentAt !== null;
  }

  input(now: number): boolean {
    if (this.lastSentAt !== null && now - this.lastSentAt < this.refreshMs) {
      return false;
    }
    this.lastSentAt = now;
    return true;
  }

  stop(): boolean {
    const was = this.lastSentAt !== null;
    this.lastSentAt = null;
    return was;
  }

  sent(): void {
    this.lastSentAt = null;
  }
}
