import type { ChatClient, InvitePreview, User } from "../../src/client";
import { isChatApiError } from "../../src/client";
import type { Cleanup } from "../context";
import { busy, h, replaceChildren, show } from "../dom";
import { errorText, longTime } from "../format";
import { homePath, roomPath } from "../router";
import { authPanel } from "./auth";

export interface JoinOptions {
  client: ChatClient;
  token: string;
  /** Null when signed out: the page then offers sign-in first. */
  me: User | null;
  onSignedIn(user: User): void;
  navigate(path: string, options?: { replace?: boolean }): void;
  refreshRooms(): void;
}

/**
 * `/join#<token>`: what the invite opens (no sign-in needed to see it), then sign-in if needed,
 * then one button to join. Joining replaces this history entry with the room, so the token
 * doesn't stay in the address bar or the back button.
 */
export function mountJoin(main: HTMLElement, options: JoinOptions): Cleanup {
  const { client, token } = options;
  let alive = true;
  const heading = h("h1", { id: "main-title", tabindex: -1 }, "Join a room");
  const body = h("div", { class: "stack" }, h("p", { role: "status" }, "Checking the invite…"));
  const card = h("section", { class: "card join", "aria-labelledby": "main-title" }, heading, body);
  replaceChildren(main, h("div", { class: "narrow" }, card));
  document.title = "Join a room · Edge Chat";
  heading.focus();

  const fail = (text: string) => {
    replaceChildren(
      body,
      h("p", { class: "error", role: "alert" }, text),
      h("p", {}, h("a", { href: homePath, "data-nav": "" }, "Go to your rooms")),
    );
  };

  if (!token) {
    fail("This link has no invite in it. Ask for a new link.");
    return () => {};
  }

  const render = (preview: InvitePreview) => {
    heading.textContent = `Join ${preview.room.name}`;
    document.title = `Join ${preview.room.name} · Edge Chat`;
    const members = `${preview.room.memberCount} ${preview.room.memberCount === 1 ? "member" : "members"}`;
    const summary = h(
      "p",
      { class: "join-summary" },
      "You're invited to ",
      h("strong", {}, preview.room.name),
      ` (${members}). The invite expires ${longTime(preview.expiresAt)}.`,
    );
    if (!preview.valid) {
      fail("This invite has expired, was revoked, or has been used up. Ask for a new link.");
      return;
    }
    if (!options.me) {
      const auth = authPanel({
        client,
        heading: "Sign in to join",
        headingLevel: "h2",
        intro: "Log in, create an account, or continue as a guest; then you can join.",
        onSignedIn: options.onSignedIn,
      });
      replaceChildren(body, summary, auth.el);
      return;
    }
    const joinButton = h(
      "button",
      { type: "button", class: "primary" },
      `Join ${preview.room.name}`,
    );
    const error = h("p", { class: "error", role: "alert" });
    show(error, false);
    joinButton.addEventListener("click", () => {
      show(error, false);
      void busy(joinButton, "Joining…", async () => {
        try {
          const membership = await client.invites.accept(token);
          options.refreshRooms();
          options.navigate(roomPath(membership.room.id), { replace: true });
        } catch (e) {
          error.textContent =
            isChatApiError(e) && e.code === "gone"
              ? "This invite has expired, was revoked, or has been used up. Ask for a new link."
              : errorText(e);
          show(error, true);
        }
      });
    });
    replaceChildren(
      body,
      summary,
      h("p", {}, `You'll join as ${options.me.displayName}.`),
      joinButton,
      error,
    );
    joinButton.focus();
  };

  client.invites
    .preview(token)
    .then((preview) => {
      if (alive) {
        render(preview);
      }
    })
    .catch((e: unknown) => {
      if (!alive) {
        return;
      }
      fail(
        isChatApiError(e) && (e.code === "not_found" || e.code === "gone")
          ? "This invite doesn't exist or is no longer valid. Ask for a new link."
          : errorText(e),
      );
    });

  return () => {
    alive = false;
  };
}
