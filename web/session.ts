import type { RefreshLock, Tokens } from "../src/client";

/**
 * The session's tokens live in localStorage under this key, so a reload or a new tab stays signed
 * in (docs/web-app.md says so). localStorage is readable by any script on this origin; the
 * page's CSP (web/_headers) allows only its own scripts, and every user-provided string is
 * rendered as text (web/dom.ts).
 */
export const TOKENS_KEY = "edge-chat.tokens";

/** The stored tokens, or null when there are none or they don't look like tokens. */
export function loadTokens(): Tokens | null {
  try {
    const raw = localStorage.getItem(TOKENS_KEY);
    return raw === null ? null : parseTokens(raw);
  } catch {
    return null; // storage disabled (private mode, policy): start signed out
  }
}

/** Stores the tokens (the SDK calls this after every sign-in and rotation), or removes them. */
export function saveTokens(tokens: Tokens | null): void {
  try {
    if (tokens) {
      localStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
    } else {
      localStorage.removeItem(TOKENS_KEY);
    }
  } catch {
    // Storage disabled: the session lasts as long as the page.
  }
}

/**
 * Calls `fn` when another tab of this origin changes the tokens. Refresh tokens are single use
 * and a reused one ends the session on the server, so every tab must pick up the pair another
 * tab rotated to, or its next refresh would sign everyone out.
 */
export function onTokensChangedElsewhere(fn: (tokens: Tokens | null) => void): () => void {
  const listener = (e: StorageEvent) => {
    if (e.key === TOKENS_KEY || e.key === null) {
      fn(e.newValue === null ? null : parseTokens(e.newValue));
    }
  };
  window.addEventListener("storage", listener);
  return () => window.removeEventListener("storage", listener);
}

/**
 * A lock shared by every tab of this origin (Web Locks API) for the SDK's `refreshLock`: two tabs
 * whose access tokens expire together would otherwise both present the same single-use refresh
 * token, and the second would end the session in every tab. Under the lock, the tab that comes
 * second re-reads localStorage (`loadTokens`) and adopts the pair the first one stored. Undefined
 * where there is no `navigator.locks` (old browsers, plain-http origins other than localhost):
 * tabs then only have the `storage` event.
 */
export function tabsRefreshLock(): RefreshLock | undefined {
  const locks: LockManager | undefined = globalThis.navigator?.locks;
  if (!locks) {
    return undefined;
  }
  return (fn) => locks.request(REFRESH_LOCK, () => fn());
}

const REFRESH_LOCK = "edge-chat.tokens.refresh";

function parseTokens(raw: string): Tokens | null {
  try {
    const value: unknown = JSON.parse(raw);
    if (
      typeof value === "object" &&
      value !== null &&
      "token" in value &&
      "refreshToken" in value &&
      typeof value.token === "string" &&
      typeof value.refreshToken === "string"
    ) {
      return { token: value.token, refreshToken: value.refreshToken };
    }
  } catch {
    // Not JSON: treat as signed out.
  }
  return null;
}
