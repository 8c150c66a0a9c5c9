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

/**
 * Your own typing indicator on the room's socket: the throttle, plus the idle timer that says
 * "stopped" when the keystrokes stop. Nothing is sent while the socket isn't ready.
 */
export class TypingIndicator {
  private readonly throttle = new TypingThrottle();
  private idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly ready: () => boolean,
    private readonly send: (isTyping: boolean) => void,
  ) {}

  /** A keystroke. */
  input(now: number): void {
    if (!this.ready()) {
      return;
    }
    if (this.throttle.input(now)) {
      this.send(true);
    }
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => this.stop(), TYPING_IDLE_MS);
  }

  /** Says "stopped" now, if "typing" was said. */
  stop(): void {
    this.clearIdleTimer();
    if (this.throttle.stop() && this.ready()) {
      this.send(false);
    }
  }

  /** A message was sent: the server ends the indicator by itself. */
  sent(): void {
    this.throttle.sent();
    this.clearIdleTimer();
  }

  /** The room closed for good. */
  dispose(): void {
    this.clearIdleTimer();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }
}
