import { isChatApiError, type RoomConnection } from "../../src/client";
import type { AppContext, Cleanup } from "../context";
import { announce, busy, h, replaceChildren, show } from "../dom";
import { errorText, truncate } from "../format";
import { homePath } from "../router";
import { openInviteDialog } from "./invite";
import { MAX_CONTENT, MessageList } from "./message-list";
import { PeoplePanel } from "./people";

/**
 * A room: the header with the connection state, the message list (views/message-list.ts), the
 * people (views/people.ts), the typing line and the composer. Everything goes through the SDK's
 * RoomConnection; this file wires its events to the views and the user's actions to it.
 */
export function mountChat(main: HTMLElement, ctx: AppContext, roomId: string): Cleanup {
  const { client, me } = ctx;
  const room: RoomConnection = client.room(roomId);
  const offs: Array<() => void> = [];
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** The connection was lost since it was last open (announce the drop once, and the return). */
  let dropped = false;

  const known = ctx.myRooms.find((r) => r.room.id === roomId)?.room;
  let roomName = known?.name ?? "Room";

  // ---- layout --------------------------------------------------------------------------------

  const title = h("h1", { id: "main-title", tabindex: -1 }, roomName);
  const privateTag = h("span", { class: "tag" }, "Private");
  show(privateTag, known?.isPrivate === true);
  const status = h("p", { class: "conn", role: "status", "data-connection": "connecting" });
  const inviteButton = h("button", { type: "button", class: "small" }, "Invite");
  show(inviteButton, false);
  const leaveButton = h("button", { type: "button", class: "small danger" }, "Leave room");
  show(leaveButton, false);

  const typingLine = h("p", { class: "typing", "aria-live": "polite" });
  const input = h("textarea", {
    id: "composer-input",
    rows: 1,
    maxlength: MAX_CONTENT,
    placeholder: "Write a message",
    autocomplete: "off",
    enterkeyhint: "send",
    "aria-describedby": "composer-hint",
  });
  const composerLabel = h("label", { for: "composer-input", class: "visually-hidden" });
  const sendButton = h("button", { type: "submit", class: "primary" }, "Send");
  const composerError = h("p", { class: "error", role: "alert" });
  show(composerError, false);
  const composer = h(
    "form",
    { class: "composer", "aria-label": "Send a message" },
    composerLabel,
    input,
    sendButton,
    h(
      "p",
      { id: "composer-hint", class: "visually-hidden" },
      "Enter sends, Shift+Enter starts a new line.",
    ),
  );

  const showError = (text: string) => {
    composerError.textContent = text;
    show(composerError, true);
  };
  const people = new PeoplePanel(client, room, me, leaveButton);
  const myRole = () => room.info?.you.role ?? null;
  const messages = new MessageList(
    {
      room,
      me,
      nameOf: (userId) => people.nameOf(userId),
      canModerate: () => myRole() === "owner" || myRole() === "admin",
      resend: (content) => send(content),
      focusComposer: () => input.focus(),
      showError,
    },
    typingLine,
  );

  const view = h(
    "section",
    { class: "chat", "aria-labelledby": "main-title" },
    h(
      "header",
      { class: "chat-head" },
      h("a", { href: homePath, class: "back", "data-nav": "" }, "‹ Rooms"),
      h("div", { class: "chat-title" }, title, privateTag),
      status,
      h("div", { class: "chat-tools" }, people.toggle, inviteButton),
    ),
    h("div", { class: "chat-body" }, messages.el, people.el),
    composerError,
    composer,
  );
  replaceChildren(main, view);

  const setTitle = (name: string) => {
    roomName = name;
    title.textContent = name;
    composerLabel.textContent = `Message ${name}`;
    document.title = `${name} · Edge Chat`;
  };
  setTitle(roomName);

  // ---- connection status ---------------------------------------------------------------------

  const closedText = (): string => {
    switch (room.closeReason?.kind) {
      case "kicked":
        return "You were removed from this room.";
      case "room_deleted":
        return "This room was deleted.";
      case "unauthorized":
        return "Your session ended. Sign in again.";
      case "not_found":
      case "refused":
        return "You can't open this room: it doesn't exist, or you're not a member.";
      default:
        return "Disconnected.";
    }
  };

  const renderStatus = () => {
    const offline = !navigator.onLine;
    let state: string = room.status;
    let text: string;
    switch (room.status) {
      case "open":
        text = "Connected";
        break;
      case "connecting":
        text = "Connecting…";
        break;
      case "reconnecting":
        state = offline ? "offline" : "reconnecting";
        text = offline
          ? "You're offline. Messages you send will go out when you're back online."
          : "Reconnecting… Messages you send will go out when the connection is back.";
        break;
      case "closed":
        text = closedText();
        break;
    }
    status.dataset.connection = state;
    status.textContent = text;
    const closed = room.status === "closed";
    input.disabled = closed;
    sendButton.disabled = closed;
  };

  /** A public room you haven't joined answers like a missing one: offer to join it. */
  const offerJoin = async () => {
    try {
      const info = await client.rooms.get(roomId);
      if (info.isPrivate) {
        return;
      }
      setTitle(info.name);
      const join = h("button", { type: "button", class: "primary" }, `Join ${info.name}`);
      join.addEventListener("click", () => {
        void busy(join, "Joining…", async () => {
          try {
            await client.rooms.join(roomId);
            ctx.refreshRooms();
            ctx.navigate(location.pathname, { replace: true });
          } catch (e) {
            showError(errorText(e));
          }
        });
      });
      status.textContent = `${info.name} is a public room you haven't joined yet.`;
      status.after(join);
      join.focus();
    } catch {
      // Private or gone: the status line already says so.
    }
  };

  // ---- sending -------------------------------------------------------------------------------

  const send = (content: string) => {
    show(composerError, false);
    // The SDK queues the message in its outbox before send() returns; the promise's clientId
    // ties its outcome to the pending entry on screen (none when it was refused before queuing).
    const promise = room.send(content);
    const entry = room.pending.find((p) => p.clientId === promise.clientId);
    promise
      .then(() => {
        ctx.refreshRooms();
      })
      .catch((e: unknown) => {
        if (entry) {
          announce(`Not sent: ${truncate(content, 80)}. ${errorText(e)}`);
          messages.addFailed({
            clientId: entry.clientId,
            content,
            queuedAt: entry.queuedAt,
            error: errorText(e),
          });
        } else {
          // Refused before it was queued (too long, invalid): give the text back.
          input.value = content;
          showError(`Not sent: ${errorText(e)}`);
        }
      });
    messages.scrollToBottom();
  };

  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    const content = input.value.trim();
    if (!content) {
      input.focus();
      return;
    }
    input.value = "";
    send(content);
    input.focus();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    if (input.value.trim()) {
      room.typing();
    } else {
      room.stopTyping();
    }
  });

  // ---- header actions ------------------------------------------------------------------------

  people.toggle.addEventListener("click", () => {
    const open = people.toggle.getAttribute("aria-expanded") !== "true";
    people.toggle.setAttribute("aria-expanded", String(open));
    view.classList.toggle("people-open", open);
    if (open) {
      people.el.setAttribute("tabindex", "-1");
      people.el.focus();
    }
  });
  inviteButton.addEventListener("click", () => {
    openInviteDialog(client, { id: roomId, name: roomName }, inviteButton);
  });
  leaveButton.addEventListener("click", () => {
    void busy(leaveButton, "Leaving…", async () => {
      try {
        await client.rooms.leave(roomId);
        ctx.refreshRooms();
        ctx.navigate(homePath);
      } catch (e) {
        showError(`Couldn't leave: ${errorText(e)}`);
      }
    });
  });

  // ---- room events ---------------------------------------------------------------------------

  const scheduleRoomsRefresh = () => {
    if (refreshTimer === null) {
      refreshTimer = setTimeout(() => {
        refreshTimer = null;
        ctx.refreshRooms();
      }, 1500);
    }
  };

  offs.push(
    room.on("timeline", () => messages.render()),
    room.on("receipt", () => messages.render()),
    room.on("message", (m) => {
      people.learn(m.authorId, m.authorName);
      if (m.authorId !== me.id) {
        announce(`${m.authorName}: ${truncate(m.content, 200)}`);
        messages.noticeNewMessage();
      }
      scheduleRoomsRefresh();
    }),
    room.on("typing", () => {
      const t = room.typingUsers;
      const [a, b] = t;
      typingLine.textContent =
        t.length === 0 || !a
          ? ""
          : t.length === 1
            ? `${a.displayName} is typing…`
            : t.length === 2 && b
              ? `${a.displayName} and ${b.displayName} are typing…`
              : `${t.length} people are typing…`;
    }),
    room.on("presence", (p) => {
      people.noticePresence(p.userId);
      people.render();
    }),
    // A big room announces arrivals only as a new count.
    room.on("online_count", () => people.render()),
    room.on("ready", (info) => {
      setTitle(info.room.name);
      show(privateTag, info.room.isPrivate);
      show(inviteButton, info.you.role === "owner" || info.you.role === "admin");
      // An owner hands the room over or deletes it instead (the API refuses an owner's leave).
      show(leaveButton, info.you.role !== "owner");
      people.render();
      messages.render();
    }),
    room.on("status", ({ status: s }) => {
      renderStatus();
      people.render();
      // Pending messages say "Sending…" or "Waiting for connection…".
      messages.render();
      if (s === "reconnecting") {
        if (!dropped) {
          announce("Connection lost. Reconnecting…");
        }
        dropped = true;
      } else if (s === "open") {
        if (dropped) {
          announce("Reconnected.");
        }
        dropped = false;
      } else if (s === "closed") {
        announce(closedText());
        const kind = room.closeReason?.kind;
        if (kind === "not_found" || kind === "refused") {
          void offerJoin();
        }
      }
    }),
    room.on("error", (e) => {
      // Errors not tied to a send: show the ones a user can act on.
      if (isChatApiError(e) && e.code === "rate_limited") {
        showError(errorText(e));
      }
    }),
  );

  // The SDK reconnects when the browser says it is back online; a socket that the OS already
  // knows is gone is dropped at once, so the page shows "offline" and queues sends meanwhile
  // instead of writing into a dead socket until the heartbeat notices.
  const onOffline = () => {
    room.reconnect();
    renderStatus();
  };
  const onOnline = () => renderStatus();
  const onVisibility = () => messages.markReadIfSeen();
  window.addEventListener("offline", onOffline);
  window.addEventListener("online", onOnline);
  document.addEventListener("visibilitychange", onVisibility);
  offs.push(
    () => window.removeEventListener("offline", onOffline),
    () => window.removeEventListener("online", onOnline),
    () => document.removeEventListener("visibilitychange", onVisibility),
  );

  renderStatus();
  people.render();
  messages.render();
  void people.load().then(() => messages.render());
  input.focus();

  return () => {
    for (const off of offs) {
      off();
    }
    if (refreshTimer !== null) {
      clearTimeout(refreshTimer);
    }
    people.destroy();
    room.close();
  };
}
