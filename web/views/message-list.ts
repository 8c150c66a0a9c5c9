import type { Message, PendingMessage, RoomConnection, User } from "../../src/client";
import { announce, busy, h, show } from "../dom";
import { errorText, longTime, shortTime } from "../format";

/** The server's content limit (DESIGN "Limits and config"); editors stop there. */
export const MAX_CONTENT = 4000;
/** Within this many pixels of the bottom counts as "at the bottom": keep following new messages. */
const STICK_PX = 48;
/** Scrolling up to within this many pixels of the top pages in older messages. */
const LOAD_OLDER_PX = 120;

/** A send the server refused (or that a closed room dropped), kept on screen to retry. */
export interface FailedSend {
  clientId: string;
  content: string;
  queuedAt: number;
  error: string;
}

type Item =
  | { kind: "stored"; key: string; message: Message }
  | { kind: "pending"; key: string; pending: PendingMessage }
  | { kind: "failed"; key: string; failed: FailedSend };

interface Seen {
  seq: number;
  text: string;
  all: string;
}

export interface MessageListOptions {
  room: RoomConnection;
  me: User;
  /** A display name for a user id (members, the online list, authors). */
  nameOf(userId: string): string;
  /** Owners and admins may delete anyone's message. */
  canModerate(): boolean;
  /** Sends again (a failed message's Retry). */
  resend(content: string): void;
  /** Where focus goes when a message's controls go away. */
  focusComposer(): void;
  /** Shows an error that belongs to no single message. */
  showError(text: string): void;
}

/**
 * The message list of a room: stored messages in seq order, then your pending and failed sends.
 * Rendering is keyed: each message keeps its <li> across updates (only a changed one is rebuilt),
 * so a pending message turns into the stored one in place, an edit doesn't move anything, and
 * focus and scroll position survive live updates. Your own messages are keyed by clientId, which
 * the pending entry and the stored message share.
 */
export class MessageList {
  readonly el: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly list = h("ol", { class: "messages", "aria-label": "Messages" });
  private readonly olderButton = h(
    "button",
    { type: "button", class: "load-older" },
    "Load older messages",
  );
  private readonly historyStart = h(
    "p",
    { class: "history-start" },
    "This is the start of the room.",
  );
  private readonly empty = h("p", { class: "empty" }, "No messages yet. Say hello!");
  private readonly jumpButton = h("button", { type: "button", class: "jump" }, "New messages ↓");
  private readonly rendered = new Map<string, { li: HTMLLIElement; signature: string }>();
  private readonly failed = new Map<string, FailedSend>();
  private readonly actionErrors = new Map<number, string>();
  private editingSeq: number | null = null;
  private confirmingDeleteSeq: number | null = null;
  private loadingOlder = false;
  private lastScrollTop = 0;
  private firstRenderDone = false;

  constructor(
    private readonly options: MessageListOptions,
    footer: HTMLElement,
  ) {
    for (const el of [this.olderButton, this.historyStart, this.empty, this.jumpButton]) {
      show(el, false);
    }
    this.scroller = h(
      "div",
      { class: "scroller", tabindex: 0, role: "region", "aria-label": "Message history" },
      this.olderButton,
      this.historyStart,
      this.empty,
      this.list,
    );
    this.el = h("div", { class: "timeline" }, this.scroller, this.jumpButton, footer);

    this.olderButton.addEventListener("click", () => void this.loadOlder(true));
    this.scroller.addEventListener("scroll", () => {
      const top = this.scroller.scrollTop;
      // Only a move up near the top pages in: programmatic scrolls to the bottom never do.
      if (top < this.lastScrollTop && top <= LOAD_OLDER_PX) {
        void this.loadOlder(false);
      }
      this.lastScrollTop = top;
      if (this.nearBottom()) {
        show(this.jumpButton, false);
        this.markReadIfSeen();
      }
    });
    this.jumpButton.addEventListener("click", () => {
      this.scrollToBottom();
      this.markReadIfSeen();
      this.options.focusComposer();
    });
  }

  /** Keeps a refused send on screen with Retry and Discard. */
  addFailed(f: FailedSend): void {
    this.failed.set(f.clientId, f);
    this.render();
  }

  /** Another person's message arrived: offer a jump when the reader is scrolled up. */
  noticeNewMessage(): void {
    if (this.firstRenderDone && !this.nearBottom()) {
      show(this.jumpButton, true);
    }
  }

  scrollToBottom(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.lastScrollTop = this.scroller.scrollTop;
    show(this.jumpButton, false);
  }

  /** Reading = this tab visible and scrolled to the newest message. */
  markReadIfSeen(): void {
    const { room } = this.options;
    if (document.visibilityState === "visible" && this.nearBottom() && room.status !== "closed") {
      room.markRead();
    }
  }

  render(): void {
    const { room } = this.options;
    const all = this.items();
    const seen = this.seenLine(room.timeline);
    const wasAtBottom = !this.firstRenderDone || this.nearBottom();
    const anchor = wasAtBottom ? null : this.findAnchor();

    const keep = new Set<string>();
    let previous: Element | null = null;
    for (const item of all) {
      keep.add(item.key);
      const signature = this.signatureOf(item, seen);
      let r = this.rendered.get(item.key);
      if (!r) {
        r = { li: h("li", { class: "msg" }), signature: "" };
        this.rendered.set(item.key, r);
      }
      if (r.signature !== signature) {
        this.fill(r.li, item, seen);
        r.signature = signature;
      }
      const expected: Element | null = previous
        ? previous.nextElementSibling
        : this.list.firstElementChild;
      if (expected !== r.li) {
        this.list.insertBefore(r.li, expected);
      }
      previous = r.li;
    }
    for (const [key, r] of this.rendered) {
      if (!keep.has(key)) {
        r.li.remove();
        this.rendered.delete(key);
      }
    }

    const loaded = room.cursor !== null;
    show(this.empty, all.length === 0 && loaded);
    show(this.olderButton, room.hasOlder);
    show(this.historyStart, !room.hasOlder && loaded && all.length > 0);

    if (wasAtBottom) {
      this.scrollToBottom();
    } else if (anchor) {
      const el = this.rendered.get(anchor.key)?.li;
      if (el) {
        this.scroller.scrollTop = el.offsetTop - anchor.offset;
        this.lastScrollTop = this.scroller.scrollTop;
      }
    }
    this.firstRenderDone = true;
    this.markReadIfSeen();
  }

  // ---- model ---------------------------------------------------------------------------------

  private keyOf(m: Message): string {
    return m.authorId === this.options.me.id && m.clientId !== null
      ? `c:${m.clientId}`
      : `s:${m.seq}`;
  }

  private items(): Item[] {
    const { room } = this.options;
    const out: Item[] = [];
    const seen = new Set<string>();
    for (const message of room.timeline) {
      const key = this.keyOf(message);
      seen.add(key);
      out.push({ kind: "stored", key, message });
    }
    const tail: Array<Item & { at: number }> = [];
    for (const pending of room.pending) {
      const key = `c:${pending.clientId}`;
      if (!seen.has(key)) {
        tail.push({ kind: "pending", key, pending, at: pending.queuedAt });
      }
    }
    for (const f of this.failed.values()) {
      tail.push({ kind: "failed", key: `f:${f.clientId}`, failed: f, at: f.queuedAt });
    }
    tail.sort((a, b) => a.at - b.at);
    return [...out, ...tail];
  }

  /** "Seen by …" on your latest stored message: who has read up to it (receipts seen live). */
  private seenLine(timeline: readonly Message[]): Seen | null {
    const { room, me, nameOf } = this.options;
    let mine: Message | undefined;
    for (let i = timeline.length - 1; i >= 0; i--) {
      const m = timeline[i];
      if (m && m.authorId === me.id && m.deletedAt === null) {
        mine = m;
        break;
      }
    }
    if (!mine) {
      return null;
    }
    const readers: string[] = [];
    for (const [userId, w] of room.receipts) {
      if (userId !== me.id && w.readSeq >= mine.seq) {
        readers.push(nameOf(userId));
      }
    }
    if (readers.length === 0) {
      return null;
    }
    readers.sort((a, b) => a.localeCompare(b));
    const text =
      readers.length <= 2 ? `Seen by ${readers.join(" and ")}` : `Seen by ${readers.length} people`;
    return { seq: mine.seq, text, all: `Seen by ${readers.join(", ")}` };
  }

  private signatureOf(item: Item, seen: Seen | null): string {
    const { room, me, nameOf, canModerate } = this.options;
    switch (item.kind) {
      case "stored": {
        const m = item.message;
        return JSON.stringify([
          m.content,
          m.editedAt,
          m.deletedAt,
          seen?.seq === m.seq ? seen.text : "",
          this.editingSeq === m.seq,
          this.confirmingDeleteSeq === m.seq,
          this.actionErrors.get(m.seq) ?? "",
          canModerate(),
          m.authorId === me.id ? "" : nameOf(m.authorId),
        ]);
      }
      case "pending":
        return JSON.stringify([item.pending.state, room.status]);
      case "failed":
        return JSON.stringify([item.failed.error, room.status === "closed"]);
    }
  }

  // ---- scrolling -----------------------------------------------------------------------------

  private nearBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= STICK_PX;
  }

  /** The first message at least partly visible, and where it sits: kept in place on re-render. */
  private findAnchor(): { key: string; offset: number } | null {
    const top = this.scroller.scrollTop;
    for (const [key, r] of this.rendered) {
      if (r.li.offsetTop + r.li.offsetHeight > top) {
        return { key, offset: r.li.offsetTop - top };
      }
    }
    return null;
  }

  private async loadOlder(fromButton: boolean): Promise<void> {
    const { room } = this.options;
    if (this.loadingOlder || !room.hasOlder) {
      return;
    }
    this.loadingOlder = true;
    this.olderButton.disabled = true;
    this.olderButton.textContent = "Loading…";
    try {
      const added = await room.loadOlder();
      announce(
        added.length === 0
          ? "No older messages."
          : `${added.length} older ${added.length === 1 ? "message" : "messages"} loaded.`,
      );
    } catch (e) {
      this.options.showError(`Couldn't load older messages: ${errorText(e)}`);
    } finally {
      this.loadingOlder = false;
      this.olderButton.disabled = false;
      this.olderButton.textContent = "Load older messages";
      this.render();
      if (fromButton) {
        (room.hasOlder ? this.olderButton : this.scroller).focus();
      }
    }
  }

  // ---- elements ------------------------------------------------------------------------------

  /** (Re)builds one message's element, keeping keyboard focus on the same control. */
  private fill(li: HTMLLIElement, item: Item, seen: Seen | null): void {
    const focused = document.activeElement;
    const focusAction =
      focused instanceof HTMLElement && li.contains(focused)
        ? (focused.dataset.action ?? "")
        : null;
    li.replaceChildren();
    switch (item.kind) {
      case "stored":
        this.fillStored(li, item.message, seen?.seq === item.message.seq ? seen : null);
        break;
      case "pending":
        this.fillPending(li, item.pending);
        break;
      case "failed":
        this.fillFailed(li, item.failed);
        break;
    }
    if (focusAction !== null) {
      const target = focusAction
        ? li.querySelector<HTMLElement>(`[data-action="${focusAction}"]`)
        : null;
      const fallback = li.querySelector<HTMLElement>("[data-action]");
      if (target ?? fallback) {
        (target ?? fallback)?.focus();
      } else {
        this.options.focusComposer();
      }
    }
  }

  private meta(author: string, own: boolean, ...extra: Array<HTMLElement | null>): HTMLElement {
    return h(
      "div",
      { class: "meta" },
      h(
        "span",
        { class: "author" },
        author,
        own ? h("span", { class: "visually-hidden" }, " (you)") : null,
      ),
      ...extra,
    );
  }

  private fillStored(li: HTMLLIElement, m: Message, seen: Seen | null): void {
    const own = m.authorId === this.options.me.id;
    li.className = `msg${own ? " own" : ""}${m.deletedAt ? " deleted" : ""}`;
    li.dataset.seq = String(m.seq);
    li.dataset.state = "sent";
    const time = h(
      "time",
      { datetime: m.createdAt, title: longTime(m.createdAt) },
      shortTime(m.createdAt),
    );
    const edited =
      m.editedAt && !m.deletedAt
        ? h("span", { class: "edited", title: `Edited ${longTime(m.editedAt)}` }, "(edited)")
        : null;
    li.append(this.meta(m.authorName, own, time, edited));

    if (m.deletedAt) {
      li.append(h("p", { class: "body" }, "Message deleted"));
      return;
    }
    const editing = this.editingSeq === m.seq;
    li.append(editing ? this.editForm(m) : h("p", { class: "body" }, m.content));
    if (seen) {
      li.append(h("p", { class: "receipt", title: seen.all }, seen.text));
    }
    const canDelete = own || this.options.canModerate();
    if (!editing && (own || canDelete)) {
      li.append(this.actions(m, own, canDelete));
    }
    const actionError = this.actionErrors.get(m.seq);
    if (actionError) {
      li.append(h("p", { class: "error", role: "alert" }, actionError));
    }
  }

  private focusIn(m: Message, action: string): void {
    this.rendered
      .get(this.keyOf(m))
      ?.li.querySelector<HTMLElement>(`[data-action="${action}"]`)
      ?.focus();
  }

  private actions(m: Message, canEdit: boolean, canDelete: boolean): HTMLElement {
    const when = shortTime(m.createdAt);
    const whose = m.authorId === this.options.me.id ? "your message" : `${m.authorName}'s message`;
    if (this.confirmingDeleteSeq === m.seq) {
      const yes = h(
        "button",
        { type: "button", class: "small danger", "data-action": "confirm-delete" },
        "Delete",
      );
      const no = h(
        "button",
        { type: "button", class: "small", "data-action": "cancel-delete" },
        "Cancel",
      );
      yes.addEventListener("click", () => {
        void busy(yes, "Deleting…", async () => {
          try {
            await this.options.room.remove(m.seq);
            this.actionErrors.delete(m.seq);
            this.confirmingDeleteSeq = null;
            this.options.focusComposer();
          } catch (e) {
            this.actionErrors.set(m.seq, `Couldn't delete: ${errorText(e)}`);
          }
          this.render();
        });
      });
      no.addEventListener("click", () => {
        this.confirmingDeleteSeq = null;
        this.render();
        this.focusIn(m, "delete");
      });
      return h(
        "div",
        { class: "actions confirm", role: "group", "aria-label": "Confirm delete" },
        h("span", {}, "Delete this message for everyone?"),
        yes,
        no,
      );
    }
    const buttons: HTMLButtonElement[] = [];
    if (canEdit) {
      const edit = h(
        "button",
        {
          type: "button",
          class: "link",
          "data-action": "edit",
          "aria-label": `Edit ${whose} from ${when}`,
        },
        "Edit",
      );
      edit.addEventListener("click", () => {
        this.editingSeq = m.seq;
        this.confirmingDeleteSeq = null;
        this.render();
        const area = this.rendered.get(this.keyOf(m))?.li.querySelector("textarea");
        if (area) {
          area.focus();
          area.setSelectionRange(area.value.length, area.value.length);
        }
      });
      buttons.push(edit);
    }
    if (canDelete) {
      const del = h(
        "button",
        {
          type: "button",
          class: "link",
          "data-action": "delete",
          "aria-label": `Delete ${whose} from ${when}`,
        },
        "Delete",
      );
      del.addEventListener("click", () => {
        this.confirmingDeleteSeq = m.seq;
        this.editingSeq = null;
        this.render();
        this.focusIn(m, "cancel-delete");
      });
      buttons.push(del);
    }
    return h("div", { class: "actions" }, ...buttons);
  }

  private editForm(m: Message): HTMLFormElement {
    const id = `edit-${m.seq}`;
    const area = h("textarea", { id, rows: 2, maxlength: MAX_CONTENT, required: true });
    area.value = m.content;
    const save = h(
      "button",
      { type: "submit", class: "small primary", "data-action": "save" },
      "Save",
    );
    const cancel = h(
      "button",
      { type: "button", class: "small", "data-action": "cancel-edit" },
      "Cancel",
    );
    const form = h(
      "form",
      { class: "edit-form" },
      h("label", { for: id, class: "visually-hidden" }, "Edit message"),
      area,
      h("div", { class: "actions" }, save, cancel),
    );
    const stop = () => {
      this.editingSeq = null;
      this.render();
      this.focusIn(m, "edit");
    };
    cancel.addEventListener("click", stop);
    area.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        stop();
      } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const content = area.value.trim();
      if (!content) {
        area.focus();
        return;
      }
      if (content === m.content) {
        stop();
        return;
      }
      void busy(save, "Saving…", async () => {
        try {
          await this.options.room.edit(m.seq, content);
          this.actionErrors.delete(m.seq);
          stop();
        } catch (err) {
          this.actionErrors.set(m.seq, `Couldn't save: ${errorText(err)}`);
          this.editingSeq = null;
          this.render();
        }
      });
    });
    return form;
  }

  private fillPending(li: HTMLLIElement, p: PendingMessage): void {
    const { room, me } = this.options;
    li.className = "msg own pending";
    li.dataset.state = "pending";
    delete li.dataset.seq;
    const label = room.status === "open" ? "Sending…" : "Waiting for connection…";
    li.append(
      this.meta(me.displayName, true, h("span", { class: "sending" }, label)),
      h("p", { class: "body" }, p.content),
    );
  }

  private fillFailed(li: HTMLLIElement, f: FailedSend): void {
    const { room, me } = this.options;
    li.className = "msg own failed";
    li.dataset.state = "failed";
    delete li.dataset.seq;
    const retry = h("button", { type: "button", class: "small", "data-action": "retry" }, "Retry");
    const discard = h(
      "button",
      { type: "button", class: "small", "data-action": "discard" },
      "Discard",
    );
    retry.disabled = room.status === "closed";
    retry.addEventListener("click", () => {
      this.failed.delete(f.clientId);
      this.options.resend(f.content);
      this.options.focusComposer();
    });
    discard.addEventListener("click", () => {
      this.failed.delete(f.clientId);
      this.render();
      this.options.focusComposer();
    });
    li.append(
      this.meta(me.displayName, true),
      h("p", { class: "body" }, f.content),
      h("p", { class: "error" }, `Not sent: ${f.error}`),
      h("div", { class: "actions" }, retry, discard),
    );
  }
}
