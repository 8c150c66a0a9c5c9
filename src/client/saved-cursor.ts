import type { CursorStore } from "./room-types";
import type { Cursor } from "./timeline";

/**
 * The room's cursor in the app's CursorStore (e.g. localStorage): read once at start, written
 * only when it moved. A store that throws never breaks the room: an unreadable cursor means
 * "start from the newest page", a failed write is reported and the room goes on.
 */
export class SavedCursor {
  private last: Cursor | null;

  constructor(
    private readonly store: CursorStore | undefined,
    /** The cursor the room starts from (already stored, so not written again). */
    initial: Cursor | null,
    private readonly onError: (e: unknown) => void,
  ) {
    this.last = initial;
  }

  /** The stored cursor, or null when there is none or it doesn't look like one. */
  static load(store: CursorStore | undefined): Cursor | null {
    try {
      const c = store?.load() ?? null;
      return c && Number.isSafeInteger(c.since) && c.since >= 0 && typeof c.epoch === "string"
        ? c
        : null;
    } catch {
      return null; // unreadable storage: start from the newest page
    }
  }

  save(c: Cursor | null): void {
    const last = this.last;
    if (!c || !this.store || (last && last.since === c.since && last.epoch === c.epoch)) {
      return;
    }
    this.last = c;
    try {
      this.store.save(c);
    } catch (e) {
      this.onError(e);
    }
  }
}
