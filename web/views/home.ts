import { parseInviteToken, type Room } from "../../src/client";
import type { AppContext, Cleanup } from "../context";
import { busy, field, h, replaceChildren, show } from "../dom";
import { errorText } from "../format";
import { joinPath, roomPath } from "../router";

/** The start page: create a room, open an invite link, discover public rooms. */
export function mountHome(main: HTMLElement, ctx: AppContext): Cleanup {
  const { client } = ctx;
  document.title = "Edge Chat";

  // Create a room.
  const name = h("input", { type: "text", required: true, maxlength: 100, autocomplete: "off" });
  const isPrivate = h("input", { type: "checkbox", id: "create-private" });
  const createButton = h("button", { type: "submit", class: "primary" }, "Create room");
  const createError = h("p", { class: "error", role: "alert" });
  show(createError, false);
  const createForm = h(
    "form",
    { class: "stack", "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, "Create a room"),
    field("create-name", "Room name", name),
    h(
      "div",
      { class: "check" },
      isPrivate,
      h("label", { for: "create-private" }, "Private: only people you invite can join"),
    ),
    createButton,
    createError,
  );
  createForm.addEventListener("submit", (e) => {
    e.preventDefault();
    show(createError, false);
    void busy(createButton, "Creating…", async () => {
      try {
        const room = await client.rooms.create({
          name: name.value.trim(),
          isPrivate: isPrivate.checked,
        });
        ctx.refreshRooms();
        ctx.navigate(roomPath(room.id));
      } catch (err) {
        createError.textContent = errorText(err);
        show(createError, true);
      }
    });
  });

  // Open an invite someone sent: the same page a scanned QR code opens.
  const link = h("input", { type: "text", required: true, autocomplete: "off", inputmode: "url" });
  const linkError = h("p", { class: "error", role: "alert" });
  show(linkError, false);
  const linkForm = h(
    "form",
    { class: "stack", "aria-labelledby": "invite-link-title" },
    h("h2", { id: "invite-link-title" }, "Have an invite link?"),
    field("invite-link", "Invite link", link, "Paste the link someone sent you."),
    h("button", { type: "submit" }, "Open invite"),
    linkError,
  );
  linkForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const token = parseInviteToken(link.value);
    if (!token) {
      linkError.textContent = "That doesn't look like an invite link.";
      show(linkError, true);
      link.focus();
      return;
    }
    ctx.navigate(joinPath(token));
  });

  // Discover public rooms.
  const query = h("input", { type: "search", autocomplete: "off", maxlength: 100 });
  const results = h("ul", { class: "discover-list" });
  const discoverStatus = h("p", { class: "hint", role: "status" });
  const searchButton = h("button", { type: "submit" }, "Search");
  const discoverForm = h(
    "form",
    { class: "inline-form", role: "search", "aria-label": "Public rooms" },
    field("discover-q", "Find public rooms", query),
    searchButton,
  );
  let more: string | null = null;
  const moreButton = h("button", { type: "button" }, "Show more");
  show(moreButton, false);

  const joinedIds = () => new Set(ctx.myRooms.map((r) => r.room.id));
  const roomItem = (room: Room): HTMLLIElement => {
    const member = joinedIds().has(room.id);
    const action = member
      ? h("a", { href: roomPath(room.id), class: "button", "data-nav": "" }, "Open")
      : h("button", { type: "button", "aria-label": `Join ${room.name}` }, "Join");
    if (action instanceof HTMLButtonElement) {
      action.addEventListener("click", () => {
        void busy(action, "Joining…", async () => {
          try {
            await client.rooms.join(room.id);
            ctx.refreshRooms();
            ctx.navigate(roomPath(room.id));
          } catch (err) {
            discoverStatus.textContent = errorText(err);
          }
        });
      });
    }
    const members = `${room.memberCount} ${room.memberCount === 1 ? "member" : "members"}`;
    return h(
      "li",
      {},
      h("span", { class: "room-name" }, room.name),
      h("span", { class: "hint" }, members),
      action,
    );
  };

  let searchSeq = 0;
  const search = async (append: boolean) => {
    const mine = ++searchSeq;
    discoverStatus.textContent = "Loading…";
    try {
      const q = query.value.trim();
      const page = await client.rooms.discover({
        limit: 20,
        ...(q ? { q } : {}),
        ...(append && more ? { cursor: more } : {}),
      });
      if (mine !== searchSeq) {
        return; // a newer search is on its way
      }
      more = page.nextCursor;
      if (!append) {
        replaceChildren(results);
      }
      for (const room of page.items) {
        results.append(roomItem(room));
      }
      show(moreButton, more !== null);
      const count = results.children.length;
      discoverStatus.textContent =
        count === 0
          ? q
            ? `No public rooms match "${q}".`
            : "No public rooms yet."
          : `${count} public ${count === 1 ? "room" : "rooms"}${more ? " so far" : ""}.`;
    } catch (err) {
      discoverStatus.textContent = errorText(err);
    }
  };
  discoverForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(searchButton, "Searching…", () => search(false));
  });
  moreButton.addEventListener("click", () => {
    void busy(moreButton, "Loading…", () => search(true));
  });
  void search(false);

  const heading = h("h1", { id: "main-title", tabindex: -1 }, `Hi, ${ctx.me.displayName}`);
  const keepAccount = ctx.me.isGuest ? guestUpgradeCard(ctx) : null;
  replaceChildren(
    main,
    h(
      "div",
      { class: "home" },
      heading,
      h(
        "div",
        { class: "home-grid" },
        h("div", { class: "card" }, createForm),
        h("div", { class: "card" }, linkForm),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "discover-title" },
        h("h2", { id: "discover-title" }, "Discover public rooms"),
        discoverForm,
        discoverStatus,
        results,
        moreButton,
      ),
      keepAccount,
    ),
  );
  heading.focus();
  return () => {
    searchSeq++;
  };
}

/**
 * Guests can turn into an email account in place: same user, same rooms (the SDK's
 * auth.upgradeGuest, POST /api/auth/register with the guest's token).
 */
function guestUpgradeCard(ctx: AppContext): HTMLElement {
  const name = h("input", {
    type: "text",
    autocomplete: "nickname",
    maxlength: 64,
    required: true,
  });
  name.value = ctx.me.displayName;
  const email = h("input", { type: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password",
    autocomplete: "new-password",
    required: true,
    minlength: 8,
    maxlength: 256,
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Create account");
  const error = h("p", { class: "error", role: "alert" });
  show(error, false);
  const form = h(
    "form",
    { class: "stack", "aria-labelledby": "keep-title" },
    h("h2", { id: "keep-title" }, "Keep your rooms"),
    h(
      "p",
      { class: "hint" },
      "You're a guest: signing out ends this account. Add an email and password to keep it.",
    ),
    h(
      "div",
      { class: "home-grid" },
      field("keep-name", "Display name", name),
      field("keep-email", "Email", email),
      field("keep-password", "Password", password, "At least 8 characters."),
    ),
    submit,
    error,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    show(error, false);
    void busy(submit, "Creating account…", async () => {
      try {
        const result = await ctx.client.auth.upgradeGuest({
          email: email.value.trim(),
          password: password.value,
          displayName: name.value.trim(),
        });
        ctx.userChanged(result.user);
      } catch (err) {
        error.textContent = errorText(err);
        show(error, true);
      }
    });
  });
  return h("section", { class: "card" }, form);
}
