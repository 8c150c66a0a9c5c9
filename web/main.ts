import { type ChatClient, createChatClient, isChatApiError, type User } from "../src/client";
import type { AppContext, Cleanup } from "./context";
import { h, replaceChildren } from "./dom";
import { errorText } from "./format";
import { homePath, parseRoute, type Route } from "./router";
import { loadTokens, onTokensChangedElsewhere, saveTokens, tabsRefreshLock } from "./session";
import { authPanel } from "./views/auth";
import { mountChat } from "./views/chat";
import { mountHome } from "./views/home";
import { mountJoin } from "./views/join";
import { RoomsNav } from "./views/rooms-nav";

/**
 * The app shell: one SDK client for the page, the signed-in user, and the view for the current
 * path. Views are functions that fill <main> and return a cleanup; there is no framework.
 */
class App {
  private readonly client: ChatClient;
  private me: User | null = null;
  private cleanup: Cleanup | null = null;
  private nav: RoomsNav | null = null;
  private readonly root: HTMLElement;

  constructor(root: HTMLElement) {
    this.root = root;
    this.client = createChatClient({
      baseUrl: location.origin,
      tokens: loadTokens(),
      onTokens: (tokens) => {
        saveTokens(tokens);
        if (!tokens && this.me) {
          // Signed out here, in another tab, or the session ended (refresh refused).
          this.signedOut();
        }
      },
      // Tabs take turns refreshing the shared pair; the second adopts what the first stored.
      refreshLock: tabsRefreshLock(),
      loadTokens,
    });
    onTokensChangedElsewhere((tokens) => {
      this.client.setTokens(tokens);
      if (tokens && !this.me) {
        void this.start();
      }
    });
    window.addEventListener("popstate", () => this.render());
    // Links marked data-nav move within the app; modified clicks still open new tabs.
    document.addEventListener("click", (e) => {
      const a = e.target instanceof Element ? e.target.closest("a[data-nav]") : null;
      if (
        !(a instanceof HTMLAnchorElement) ||
        e.defaultPrevented ||
        e.button !== 0 ||
        e.metaKey ||
        e.ctrlKey ||
        e.shiftKey ||
        e.altKey
      ) {
        return;
      }
      e.preventDefault();
      this.navigate(a.pathname + a.hash);
    });
  }

  /** Resumes a stored session (GET /api/me), then shows the page for the current path. */
  async start(): Promise<void> {
    if (this.client.tokens) {
      try {
        this.me = await this.client.me.get();
      } catch (e) {
        if (!(isChatApiError(e) && e.status === 401)) {
          this.showFatal(`Can't reach the chat server. ${errorText(e)}`);
          return;
        }
        // 401: the SDK already dropped the tokens; show the sign-in page.
      }
    }
    this.render();
  }

  navigate(path: string, options: { replace?: boolean } = {}): void {
    if (options.replace) {
      history.replaceState(null, "", path);
    } else {
      history.pushState(null, "", path);
    }
    this.render();
  }

  private render(): void {
    this.cleanup?.();
    this.cleanup = null;
    const route = parseRoute(location);
    const main = h("main", { id: "main", class: `view-${route.name}` });

    if (!this.me) {
      this.destroyNav();
      replaceChildren(this.root, this.header(null), main);
      if (route.name === "join") {
        this.cleanup = mountJoin(main, this.joinOptions(route.token));
      } else {
        const panel = authPanel({
          client: this.client,
          heading: "Welcome to Edge Chat",
          headingLevel: "h1",
          intro: "Real-time rooms for your team. Sign in to see your rooms.",
          // Stay on the same path: a room link opened while signed out opens after sign-in.
          onSignedIn: (user) => this.signedIn(user),
        });
        replaceChildren(main, h("div", { class: "narrow" }, panel.el));
        document.title = "Sign in · Edge Chat";
        panel.focus();
      }
      return;
    }

    const nav = this.ensureNav();
    nav.setActive(route.name === "room" ? route.roomId : null);
    document.body.dataset.route = route.name;
    replaceChildren(this.root, this.header(this.me), h("div", { class: "layout" }, nav.el, main));
    nav.refresh();
    this.cleanup = this.mountRoute(main, route, this.context(this.me));
  }

  private mountRoute(main: HTMLElement, route: Route, ctx: AppContext): Cleanup {
    switch (route.name) {
      case "home":
        return mountHome(main, ctx);
      case "room":
        return mountChat(main, ctx, route.roomId);
      case "join":
        return mountJoin(main, this.joinOptions(route.token));
      case "not_found": {
        const heading = h("h1", { id: "main-title", tabindex: -1 }, "Page not found");
        replaceChildren(
          main,
          h(
            "div",
            { class: "narrow card" },
            heading,
            h("p", {}, h("a", { href: homePath, "data-nav": "" }, "Go to your rooms")),
          ),
        );
        heading.focus();
        return () => {};
      }
    }
  }

  private context(me: User): AppContext {
    const nav = this.ensureNav();
    return {
      client: this.client,
      me,
      navigate: (path, options) => this.navigate(path, options),
      refreshRooms: () => nav.refresh(),
      get myRooms() {
        return nav.items;
      },
      userChanged: (user) => this.signedIn(user),
    };
  }

  private joinOptions(token: string) {
    return {
      client: this.client,
      token,
      me: this.me,
      onSignedIn: (user: User) => this.signedIn(user),
      navigate: (path: string, options?: { replace?: boolean }) => this.navigate(path, options),
      refreshRooms: () => this.nav?.refresh(),
    };
  }

  private ensureNav(): RoomsNav {
    this.nav ??= new RoomsNav(this.client);
    return this.nav;
  }

  private destroyNav(): void {
    this.nav?.destroy();
    this.nav = null;
    delete document.body.dataset.route;
  }

  private signedIn(user: User): void {
    this.me = user;
    this.render();
  }

  private signedOut(): void {
    this.me = null;
    this.cleanup?.();
    this.cleanup = null;
    this.client.close();
    if (parseRoute(location).name !== "join") {
      history.replaceState(null, "", homePath);
    }
    this.render();
  }

  private header(me: User | null): HTMLElement {
    const brand = h("a", { href: homePath, class: "brand", "data-nav": "" }, "Edge Chat");
    if (!me) {
      return h("header", { class: "topbar" }, brand);
    }
    const signOut = h("button", { type: "button", class: "small" }, "Sign out");
    signOut.addEventListener("click", () => {
      signOut.disabled = true;
      // The SDK forgets the tokens first (onTokens(null) signs this page out), then tells the
      // server; a failure there leaves nothing signed in here.
      this.client.auth.logout().catch(() => {});
    });
    return h(
      "header",
      { class: "topbar" },
      brand,
      h(
        "div",
        { class: "whoami" },
        h("span", { class: "me-name" }, me.displayName),
        me.isGuest ? h("span", { class: "tag" }, "Guest") : null,
        signOut,
      ),
    );
  }

  private showFatal(text: string): void {
    const retry = h("button", { type: "button", class: "primary" }, "Try again");
    retry.addEventListener("click", () => void this.start());
    replaceChildren(
      this.root,
      this.header(null),
      h(
        "main",
        { id: "main" },
        h("div", { class: "narrow card" }, h("p", { class: "error", role: "alert" }, text), retry),
      ),
    );
  }
}

const root = document.getElementById("app");
if (root) {
  void new App(root).start();
}
