import type { ChatClient, MyRoom } from "../../src/client";
import { h, replaceChildren, show } from "../dom";
import { errorText, truncate } from "../format";
import { homePath, roomPath } from "../router";

/** How often the list is reloaded while the page is visible: unread counts of other rooms. */
const POLL_MS = 15_000;

/**
 * The sidebar: your rooms with unread counts and the last message. There is no account-wide live
 * channel (a socket is per room), so it reloads on navigation, on focus, when the open room gets a
 * message, and every POLL_MS while the page is visible.
 */
export class RoomsNav {
  readonly el: HTMLElement;
  private readonly list = h("ul", { class: "room-list" });
  private readonly empty = h(
    "p",
    { class: "hint" },
    "No rooms yet. Create one or join a public room.",
  );
  private readonly error = h("p", { class: "error", role: "alert" });
  private rooms: MyRoom[] = [];
  private activeId: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private loading: Promise<void> | null = null;
  private again = false;
  private readonly onVisible = () => {
    if (document.visibilityState === "visible") {
      this.refresh();
    }
  };

  constructor(private readonly client: ChatClient) {
    show(this.empty, false);
    show(this.error, false);
    this.el = h(
      "nav",
      { class: "sidebar", "aria-labelledby": "rooms-nav-title" },
      h(
        "div",
        { class: "sidebar-head" },
        h("h2", { id: "rooms-nav-title" }, "Your rooms"),
        h("a", { href: homePath, class: "button small", "data-nav": "" }, "New or discover"),
      ),
      this.list,
      this.empty,
      this.error,
    );
    this.timer = setInterval(() => {
      if (document.visibilityState === "visible") {
        this.refresh();
      }
    }, POLL_MS);
    document.addEventListener("visibilitychange", this.onVisible);
    window.addEventListener("focus", this.onVisible);
  }

  get items(): readonly MyRoom[] {
    return this.rooms;
  }

  /** Marks the open room (aria-current) and clears its badge: you are reading it. */
  setActive(roomId: string | null): void {
    this.activeId = roomId;
    this.render();
  }

  /** Reloads the list; calls made while a load runs coalesce into one more load. */
  refresh(): void {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = this.load().finally(() => {
      this.loading = null;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    });
  }

  destroy(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
    }
    document.removeEventListener("visibilitychange", this.onVisible);
    window.removeEventListener("focus", this.onVisible);
  }

  private async load(): Promise<void> {
    try {
      const page = await this.client.rooms.mine({ limit: 100 });
      this.rooms = page.items;
      show(this.error, false);
      this.render();
    } catch (e) {
      this.error.textContent = `Couldn't load your rooms. ${errorText(e)}`;
      show(this.error, true);
    }
  }

  private render(): void {
    show(this.empty, this.rooms.length === 0);
    replaceChildren(this.list, ...this.rooms.map((r) => this.item(r)));
  }

  private item(r: MyRoom): HTMLLIElement {
    const active = r.room.id === this.activeId;
    const unread = active ? 0 : r.unreadCount;
    const last = r.lastMessage;
    const preview = last
      ? last.deletedAt
        ? `${last.authorName}: message deleted`
        : `${last.authorName}: ${truncate(last.content, 60)}`
      : "No messages yet";
    return h(
      "li",
      {},
      h(
        "a",
        {
          href: roomPath(r.room.id),
          "data-nav": "",
          "data-room-id": r.room.id,
          "aria-current": active ? "page" : false,
          class: unread > 0 ? "room-link has-unread" : "room-link",
        },
        h(
          "span",
          { class: "room-line" },
          h("span", { class: "room-name" }, r.room.name),
          r.room.isPrivate ? h("span", { class: "tag" }, "Private") : null,
          unread > 0
            ? h(
                "span",
                { class: "unread", "data-unread": unread },
                String(unread),
                h("span", { class: "visually-hidden" }, " unread"),
              )
            : null,
        ),
        h("span", { class: "room-preview" }, preview),
      ),
    );
  }
}
