import type { HistoryPage } from "../shared/api";
import type { HistoryQuery } from "./api";

/** `after` pages of a catch-up are this big (the API's maximum). */
export const CATCH_UP_PAGE = 200;
/** A catch-up longer than this many pages reloads the newest page instead. */
export const MAX_CATCH_UP_PAGES = 20;

/** What to do with the timeline: merge re-read pages, or replace it with the newest page. */
export type CatchUp =
  | { kind: "refresh"; pages: HistoryPage[] }
  | { kind: "reset"; page: HistoryPage };

/**
 * The HTTP half of repairing a resume that didn't replay (DESIGN "WebSocket session"):
 * - "reset" (another epoch) or an empty timeline: the newest page, to replace everything;
 * - "truncated": `after` pages from just below the oldest held message to the end, so the
 *   messages held are re-read with edits and deletions made while away, plus everything newer.
 *   An epoch change mid-way, or more than MAX_CATCH_UP_PAGES pages, falls back to a reset.
 * `cancelled()` is checked after every request: a newer socket may have started its own repair.
 * Returns null when cancelled.
 */
export async function fetchCatchUp(
  list: (query: HistoryQuery) => Promise<HistoryPage>,
  opts: {
    mode: "reset" | "truncated";
    epoch: string;
    oldestHeldSeq: number | null;
    newestPageLimit: number;
    cancelled: () => boolean;
  },
): Promise<CatchUp | null> {
  if (opts.mode === "truncated" && opts.oldestHeldSeq !== null) {
    const pages: HistoryPage[] = [];
    let after = opts.oldestHeldSeq - 1;
    while (pages.length < MAX_CATCH_UP_PAGES) {
      const page = await list({ after, limit: CATCH_UP_PAGE });
      if (opts.cancelled()) {
        return null;
      }
      if (page.epoch !== opts.epoch) {
        break;
      }
      pages.push(page);
      if (page.nextCursor === null) {
        return { kind: "refresh", pages };
      }
      after = page.nextCursor;
    }
  }
  const page = await list({ limit: opts.newestPageLimit });
  return opts.cancelled() ? null : { kind: "reset", page };
}
