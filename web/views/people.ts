import type { ChatClient, Member, RoomConnection, User } from "../../src/client";
import { h, replaceChildren, show } from "../dom";

/**
 * The room's people: members (GET members, first 100) with who is online now (the socket's
 * presence). In a big room the socket names only you of those online (`room.online` is partial,
 * `room.onlineCount` exact): the panel shows the count, the names it knows, and a button that
 * loads everyone online on demand (`room.loadPresence()`). Also the room's name book, for
 * "Seen by" and authors.
 */
export class PeoplePanel {
  readonly el: HTMLElement;
  /** The header button that opens the panel on small screens. */
  readonly toggle: HTMLButtonElement;
  private readonly list = h("ul", { class: "people-list" });
  private readonly count = h("p", { class: "hint" });
  private readonly showAll = h(
    "button",
    { type: "button", class: "small", hidden: true },
    "Show everyone online",
  );
  private readonly names = new Map<string, string>();
  private members: Member[] = [];
  private reloadTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly client: ChatClient,
    private readonly room: RoomConnection,
    private readonly me: User,
    footer: HTMLElement,
  ) {
    this.names.set(me.id, me.displayName);
    this.toggle = h(
      "button",
      { type: "button", class: "small", "aria-expanded": "false", "aria-controls": "people-panel" },
      "People",
    );
    this.el = h(
      "aside",
      { id: "people-panel", class: "people", "aria-labelledby": "people-title" },
      h("h2", { id: "people-title" }, "People"),
      this.count,
      this.showAll,
      this.list,
      footer,
    );
    this.showAll.addEventListener("click", () => void this.loadEveryoneOnline());
  }

  /** Loads the whole online list over HTTP (the socket's is partial in a big room). */
  private async loadEveryoneOnline(): Promise<void> {
    this.showAll.disabled = true;
    try {
      await this.room.loadPresence();
    } catch {
      // Stays partial; the button is there to try again.
    } finally {
      this.showAll.disabled = false;
      this.render();
    }
  }

  nameOf(userId: string): string {
    return this.names.get(userId) ?? "Someone";
  }

  /** Remembers a name seen elsewhere (a message's author). */
  learn(userId: string, name: string): void {
    if (!this.names.has(userId)) {
      this.names.set(userId, name);
    }
  }

  /** Someone not in the member list came online: they just joined, reload the list soon. */
  noticePresence(userId: string): void {
    if (!this.members.some((m) => m.userId === userId) && this.reloadTimer === null) {
      this.reloadTimer = setTimeout(() => {
        this.reloadTimer = null;
        void this.load();
      }, 300);
    }
  }

  /** Loads the members; resolves once the names are known (or the load failed). */
  async load(): Promise<void> {
    try {
      const page = await this.client.rooms.members(this.room.roomId, { limit: 100 });
      this.members = page.items;
      for (const m of this.members) {
        this.names.set(m.userId, m.displayName);
      }
      this.render();
    } catch {
      // The online list still comes from the socket; names fall back to "Someone".
    }
  }

  render(): void {
    const online = new Map(this.room.online.map((u) => [u.userId, u.displayName]));
    // The exact count; the names are only those the socket told (a ready lists up to 100).
    const n = Math.max(this.room.onlineCount, online.size);
    const complete = online.size >= n;
    for (const [id, name] of online) {
      this.names.set(id, name);
    }
    const everyone = new Map<string, { name: string; role: string | null }>();
    for (const m of this.members) {
      everyone.set(m.userId, { name: m.displayName, role: m.role });
    }
    for (const [id, name] of online) {
      if (!everyone.has(id)) {
        everyone.set(id, { name, role: null });
      }
    }
    const rows = [...everyone.entries()].sort(([a, x], [b, y]) => {
      const byOnline = Number(online.has(b)) - Number(online.has(a));
      return byOnline !== 0 ? byOnline : x.name.localeCompare(y.name);
    });
    replaceChildren(
      this.list,
      ...rows.map(([id, p]) => {
        // Not in a partial list says nothing: they may be online too.
        const state = online.has(id) ? "online" : complete ? "offline" : "unknown";
        return h(
          "li",
          { class: state, "data-user-id": id },
          h("span", { class: "dot", "aria-hidden": "true" }),
          h("span", { class: "person" }, p.name, id === this.me.id ? " (you)" : ""),
          p.role && p.role !== "member" ? h("span", { class: "tag" }, p.role) : null,
          state === "unknown" ? null : h("span", { class: "visually-hidden" }, `, ${state}`),
        );
      }),
    );
    // Presence comes over the socket: while it is down the list is only what was last known.
    this.count.textContent =
      this.room.status === "open" ? `${n} online` : `${n} online when last connected`;
    this.toggle.textContent = `People (${n} online)`;
    show(this.showAll, !complete && this.room.status === "open");
  }

  destroy(): void {
    if (this.reloadTimer !== null) {
      clearTimeout(this.reloadTimer);
    }
  }
}
