import type { Message } from "../shared/api";
import type { ResumeKind } from "../shared/protocol";
import { fetchCatchUp } from "./catch-up";
import { finalHttpReason, toChatApiError } from "./close-reasons";
import type { Emitter } from "./emitter";
import { ChatApiError } from "./errors";
import type { CloseReason, RoomEvents, RoomTransport } from "./room-types";
import type { ApplyResult, Timeline } from "./timeline";

/** Failed upgrades in a row before asking over HTTP whether the cursor or the access is wrong. */
const FAILED_UPGRADES_BEFORE_PROBE = 2;

/** What history sync asks of its room. */
export interface HistorySyncHooks {
  /** A page replaced or refreshed the timeline: emit, settle sends, save the cursor. */
  applied(result: ApplyResult, forceTimeline: boolean): void;
  /** Older messages were paged in. */
  addedOlder(): void;
  /** An HTTP answer retrying can't fix: close the room for good. */
  finish(reason: CloseReason): void;
  /** Drops the socket on purpose and resumes on a new one. */
  restart(reason: string): void;
}

/**
 * The room's history over HTTP: the first page, older pages, the repair of a resume that didn't
 * replay, and the check that runs when the socket's upgrade keeps failing.
 */
export class HistorySync {
  private syncing = false;
  /** Bumped by every `ready` and by close: an HTTP catch-up of an older socket is dropped. */
  private generation = 0;
  private olderInFlight: Promise<Message[]> | null = null;
  private failedUpgrades = 0;
  private probing = false;

  constructor(
    private readonly roomId: string,
    private readonly transport: RoomTransport,
    private readonly tl: Timeline,
    private readonly emitter: Emitter<RoomEvents>,
    private readonly historyLimit: number,
    private readonly hooks: HistorySyncHooks,
  ) {}

  /** True while the timeline is being reloaded after a "reset"/"truncated" resume. */
  get isSyncing(): boolean {
    return this.syncing;
  }

  /** First load (or after the cursor was found invalid): the newest page replaces the timeline. */
  async loadNewest(): Promise<void> {
    const hadMessages = this.tl.messages.length > 0;
    const page = await this.transport.listMessages(this.roomId, { limit: this.historyLimit });
    const result = this.tl.reset(page);
    if (hadMessages) {
      this.emitter.emit("reset", { reason: "reset" });
    }
    this.hooks.applied(result, true);
  }

  /** `limit` messages below the oldest held; concurrent calls share one request. */
  loadOlder(limit: number = this.historyLimit): Promise<Message[]> {
    if (!this.tl.hasOlder || this.tl.cursor === null) {
      return Promise.resolve([]);
    }
    this.olderInFlight ??= (async () => {
      try {
        const page = await this.transport.listMessages(this.roomId, {
          before: this.tl.oldestSeq,
          limit,
        });
        const added = this.tl.addOlder(page);
        this.hooks.addedOlder();
        return added;
      } finally {
        this.olderInFlight = null;
      }
    })();
    return this.olderInFlight;
  }

  /**
   * A new socket is ready: frames queued from the old one are replayed by this one, and a resume
   * that didn't replay is repaired over HTTP.
   */
  connected(resume: ResumeKind, epoch: string): void {
    this.failedUpgrades = 0;
    this.generation++;
    this.syncing = false;
    this.tl.restart();
    const repair = repairFor(resume, this.tl.cursor !== null);
    if (repair) {
      this.startSync(repair, epoch);
    }
  }

  /** A socket with a ticket never opened; repeated, ask over HTTP why (see probe). */
  upgradeFailed(): void {
    this.failedUpgrades++;
    if (this.failedUpgrades >= FAILED_UPGRADES_BEFORE_PROBE) {
      void this.probe();
    }
  }

  /** The room closed: a catch-up still running is dropped. */
  stop(): void {
    this.generation++;
  }

  /**
   * A resume that didn't replay: hold the live frames, reload over HTTP (see fetchCatchUp), then
   * apply the held frames on top. Transient failures retry with backoff while this socket lives.
   */
  private startSync(mode: "reset" | "truncated", epoch: string): void {
    this.tl.hold();
    this.syncing = true;
    const gen = this.generation;
    const cancelled = () => gen !== this.generation;
    void (async () => {
      for (let attempt = 0; !cancelled(); attempt++) {
        try {
          const found = await fetchCatchUp(
            (query) => this.transport.listMessages(this.roomId, query),
            {
              mode,
              epoch,
              oldestHeldSeq: this.tl.messages.length > 0 ? this.tl.oldestSeq : null,
              newestPageLimit: this.historyLimit,
              cancelled,
            },
          );
          if (found?.kind === "reset" && found.page.epoch !== epoch) {
            // The room's history changed again since this socket's ready: start over.
            this.hooks.restart("epoch changed");
            return;
          }
          if (found) {
            this.syncing = false;
            const result =
              found.kind === "refresh" ? this.tl.refresh(found.pages) : this.tl.reset(found.page);
            this.emitter.emit("reset", { reason: mode });
            this.hooks.applied(result, true);
          }
          return;
        } catch (e) {
          if (cancelled()) {
            return;
          }
          const final = finalHttpReason(e);
          if (final) {
            this.hooks.finish(final);
            return;
          }
          this.emitter.emit("error", toChatApiError(e));
          await sleep(Math.min(30_000, 1000 * 2 ** attempt));
        }
      }
    })();
  }

  /**
   * Repeated upgrade failures with a ticket in hand: the upgrade itself is refused (browsers
   * don't show its status). Ask over HTTP: a room gone or hidden is final; a cursor from another
   * epoch or beyond the room's last seq is dropped, so the next attempt starts from the newest page.
   */
  private async probe(): Promise<void> {
    if (this.probing) {
      return;
    }
    this.probing = true;
    try {
      const page = await this.transport.listMessages(this.roomId, { limit: 1 });
      const cursor = this.tl.cursor;
      if (cursor && (page.epoch !== cursor.epoch || page.latestSeq < cursor.since)) {
        this.tl.invalidate();
      } else {
        this.emitter.emit(
          "error",
          new ChatApiError({
            status: 0,
            code: "unavailable",
            message: "The room's WebSocket upgrade keeps failing (origin not allowed, or a proxy?)",
          }),
        );
      }
      this.failedUpgrades = 0;
    } catch (e) {
      const final = finalHttpReason(e);
      if (final) {
        this.hooks.finish(final);
      }
    } finally {
      this.probing = false;
    }
  }
}

/**
 * How a new socket's timeline must be repaired: not at all after a replay ("ok"); the newest
 * page after another epoch ("reset") or when the cursor was dropped meanwhile; a re-read of the
 * held window otherwise ("truncated", or "none" if a socket ever starts without `since`).
 */
function repairFor(resume: ResumeKind, hasCursor: boolean): "reset" | "truncated" | null {
  if (!hasCursor || resume === "reset") {
    return "reset";
  }
  return resume === "ok" ? null : "truncated";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
