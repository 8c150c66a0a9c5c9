import type { TokenPair } from "../shared/api";
import { ChatApiError, isChatApiError } from "./errors";

/** The two tokens a session is made of: a short-lived access JWT and a single-use refresh token. */
export type Tokens = TokenPair;

/** Called with the new tokens after every change (sign-in, rotation), and null when cleared. */
export type TokensListener = (tokens: Tokens | null) => void;

/**
 * Runs `fn` while holding a lock shared by every context (browser tab, worker) that shares the
 * stored tokens, e.g. `(fn) => navigator.locks.request("tokens", fn)`; resolves with its result.
 */
export type RefreshLock = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * How contexts that share one stored token pair take turns refreshing it: inside `refreshLock`,
 * the session re-reads the stored pair with `loadTokens` and adopts it instead of refreshing
 * when another context already rotated.
 */
export interface SharedTokens {
  refreshLock?: RefreshLock;
  /** The stored tokens as they are now; null when none (or unreadable) lets the refresh go on. */
  loadTokens?: () => Tokens | null;
}

/**
 * Holds the session's tokens and rotates them. Refresh tokens are single use and a reused one
 * revokes the whole session on the server (src/auth/routes.ts), so at most one refresh is ever in
 * flight: concurrent 401s all wait for the same rotation, and a request that failed with a token
 * that has since been replaced just retries with the new one. With `shared`, that also holds
 * across contexts sharing the stored pair (tabs): refreshes take turns under `refreshLock`, and
 * one that finds the stored pair already rotated adopts it rather than reuse the old token.
 */
export class TokenSession {
  private current: Tokens | null;
  private refreshing: Promise<string> | null = null;

  constructor(
    initial: Tokens | null,
    private readonly onTokens: TokensListener | undefined,
    private readonly rotate: (refreshToken: string) => Promise<Tokens>,
    private readonly shared: SharedTokens = {},
  ) {
    this.current = initial;
  }

  get tokens(): Tokens | null {
    return this.current;
  }

  /** Replaces the tokens (sign-in, sign-out) and tells the app. */
  set(tokens: Tokens | null): void {
    this.current = tokens;
    this.onTokens?.(tokens);
  }

  /**
   * An access token to use now: the current one, or a refreshed one when only a refresh token is
   * known (an app that persisted just that). Rejects with `unauthorized` when signed out.
   */
  async accessToken(): Promise<string> {
    const t = this.current;
    if (t?.token) {
      return t.token;
    }
    return this.freshTokenAfter(null);
  }

  /**
   * A token to retry with after `failed` got a 401: the current one if someone already rotated
   * past `failed`, else the result of the one shared refresh.
   */
  freshTokenAfter(failed: string | null): Promise<string> {
    const t = this.current;
    if (t?.token && failed !== null && t.token !== failed) {
      return Promise.resolve(t.token);
    }
    if (!this.refreshing) {
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async refresh(): Promise<string> {
    const refreshToken = this.current?.refreshToken;
    if (!refreshToken) {
      throw signedOut("Not signed in");
    }
    const { refreshLock } = this.shared;
    return refreshLock
      ? refreshLock(() => this.refreshUnlessRotated(refreshToken))
      : this.refreshUnlessRotated(refreshToken);
  }

  /**
   * Runs holding the shared lock, if any. While this context waited for it, it may have been
   * given other tokens (setTokens, sign-in, sign-out), or another context may have rotated and
   * stored the new pair: reusing `refreshToken` would then end the session, so the newer pair
   * wins. Without `shared` neither can have happened, and this just rotates.
   */
  private async refreshUnlessRotated(refreshToken: string): Promise<string> {
    if (this.current?.refreshToken !== refreshToken) {
      return this.theirs();
    }
    const stored = this.shared.loadTokens?.() ?? null;
    if (stored === null || stored.refreshToken === refreshToken) {
      return this.rotateFrom(refreshToken);
    }
    this.set(stored);
    // A stored pair with only a refresh token: rotate that one, still holding the lock.
    return stored.token ? stored.token : this.rotateFrom(stored.refreshToken);
  }

  private async rotateFrom(refreshToken: string): Promise<string> {
    let pair: Tokens;
    try {
      pair = await this.rotate(refreshToken);
    } catch (e) {
      // 400/401: the refresh token is invalid, expired, revoked or reused, so the session is
      // over. Network errors, 429 and 5xx leave the tokens alone: the next call can try again.
      if (isChatApiError(e) && (e.status === 400 || e.status === 401)) {
        if (this.current?.refreshToken === refreshToken) {
          this.set(null);
        }
        throw signedOut("Session expired; sign in again", e);
      }
      throw e;
    }
    if (this.current?.refreshToken !== refreshToken) {
      // Signed out or signed in as someone else while the refresh ran: theirs wins.
      return this.theirs();
    }
    this.set(pair);
    return pair.token;
  }

  /** The access token of tokens that replaced the ones being refreshed; signed out if none. */
  private theirs(): string {
    if (this.current?.token) {
      return this.current.token;
    }
    throw signedOut("Signed out during a token refresh");
  }
}

function signedOut(message: string, cause?: unknown): ChatApiError {
  return new ChatApiError({ status: 401, code: "unauthorized", message, cause });
}
