import type { TokenPair } from "../shared/api";
import { ChatApiError, isChatApiError } from "./errors";

/** The two tokens a session is made of: a short-lived access JWT and a single-use refresh token. */
export type Tokens = TokenPair;

/** Called with the new tokens after every change (sign-in, rotation), and null when cleared. */
export type TokensListener = (tokens: Tokens | null) => void;

/**
 * Holds the session's tokens and rotates them. Refresh tokens are single use and a reused one
 * revokes the whole session on the server (src/auth/routes.ts), so at most one refresh is ever in
 * flight: concurrent 401s all wait for the same rotation, and a request that failed with a token
 * that has since been replaced just retries with the new one.
 */
export class TokenSession {
  private current: Tokens | null;
  private refreshing: Promise<string> | null = null;

  constructor(
    initial: Tokens | null,
    private readonly onTokens: TokensListener | undefined,
    private readonly rotate: (refreshToken: string) => Promise<Tokens>,
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
      if (this.current?.token) {
        return this.current.token;
      }
      throw signedOut("Signed out during a token refresh");
    }
    this.set(pair);
    return pair.token;
  }
}

function signedOut(message: string, cause?: unknown): ChatApiError {
  return new ChatApiError({ status: 401, code: "unauthorized", message, cause });
}
