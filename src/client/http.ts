import { errorResponseSchema } from "../shared/api";
import type { TokenSession } from "./auth";
import { ChatApiError, codeOfStatus, isChatApiError } from "./errors";

/**
 * The subset of a zod schema the SDK uses to check answers. Structural, so the client code
 * depends on the shared schemas, not on zod's types.
 */
export interface Schema<T> {
  safeParse(
    data: unknown,
  ): { success: true; data: T } | { success: false; error: { message: string } };
}

/** A `fetch` as the SDK calls it (the global one, or the app's: a test double, a proxy). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * How long one HTTP call may take before the SDK gives up on it (`unavailable`), unless the
 * client sets `requestTimeoutMs`. Without a limit a request the network silently dropped would
 * hang its caller, and a token refresh held under `refreshLock` would hold up every tab.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Query values; undefined and null ones are left out. */
export type Query = Record<string, string | number | boolean | undefined | null>;

/** One API call: method, path under /api, query, JSON body, auth, and the answer's schema. */
export interface RequestSpec<T> {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Under /api, e.g. "/rooms/room_1/messages". */
  path: string;
  query?: Query;
  json?: unknown;
  /** Send the access token (default true); auth routes and invite previews don't. */
  auth?: boolean;
  /** Checks and types the JSON answer; without one the answer is ignored (204). */
  schema?: Schema<T>;
}

/**
 * JSON over fetch with the session's Bearer token. A 401 on an authenticated call triggers the
 * session's single shared refresh and one retry; every failure becomes a ChatApiError.
 */
export class HttpClient {
  readonly baseUrl: string;
  private readonly fetchFn: FetchLike;

  constructor(
    baseUrl: string,
    fetchImpl: FetchLike | undefined,
    private readonly session: TokenSession,
    private readonly timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    const impl = fetchImpl ?? globalThis.fetch;
    // Called through a closure: a browser's fetch throws "Illegal invocation" when `this` isn't
    // the global object.
    this.fetchFn = (input, init) => impl(input, init);
  }

  /** The absolute URL of an API path (for links the app opens itself, like a QR code image). */
  url(path: string, query?: Query): string {
    let url = `${this.baseUrl}/api${path}`;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null) {
          params.set(k, String(v));
        }
      }
      const qs = params.toString();
      if (qs) {
        url += `?${qs}`;
      }
    }
    return url;
  }

  request<T>(spec: RequestSpec<T> & { schema: Schema<T> }): Promise<T>;
  request(spec: RequestSpec<void>): Promise<void>;
  async request<T>(spec: RequestSpec<T>): Promise<T | undefined> {
    if (spec.auth === false) {
      return this.send(spec, null);
    }
    const token = await this.session.accessToken();
    try {
      return await this.send(spec, token);
    } catch (e) {
      if (!isChatApiError(e) || e.status !== 401) {
        throw e;
      }
      return this.send(spec, await this.session.freshTokenAfter(token));
    }
  }

  private async send<T>(spec: RequestSpec<T>, token: string | null): Promise<T | undefined> {
    const headers: Record<string, string> = { accept: "application/json" };
    let body: string | undefined;
    if (spec.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(spec.json);
    }
    if (token !== null) {
      headers.authorization = `Bearer ${token}`;
    }
    const url = this.url(spec.path, spec.query);
    let res: Response;
    // The signal also bounds reading the body (res.json() rejects once it fires).
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      res = await this.fetchFn(url, { method: spec.method, headers, body, signal });
    } catch (e) {
      const what = signal.aborted
        ? `no answer within ${this.timeoutMs} ms`
        : e instanceof Error
          ? e.message
          : String(e);
      throw new ChatApiError({
        status: 0,
        code: "unavailable",
        message: `Network error on ${spec.method} ${spec.path}: ${what}`,
        cause: e,
      });
    }
    if (!res.ok) {
      throw await errorFromResponse(res);
    }
    if (!spec.schema) {
      await res.body?.cancel();
      return undefined;
    }
    let data: unknown;
    try {
      data = await res.json();
    } catch (e) {
      if (signal.aborted) {
        throw new ChatApiError({
          status: 0,
          code: "unavailable",
          message: `Network error on ${spec.method} ${spec.path}: the answer did not arrive within ${this.timeoutMs} ms`,
          cause: e,
        });
      }
      throw unexpected(res.status, `${spec.method} ${spec.path} answered with invalid JSON`, e);
    }
    const parsed = spec.schema.safeParse(data);
    if (!parsed.success) {
      throw unexpected(
        res.status,
        `${spec.method} ${spec.path} answered an unexpected shape: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }
}

function unexpected(status: number, message: string, cause?: unknown): ChatApiError {
  return new ChatApiError({ status, code: "internal", message, cause });
}

/** Reads the API's error envelope; falls back to the status for answers without one. */
export async function errorFromResponse(res: Response): Promise<ChatApiError> {
  const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    // Not JSON (a proxy's error page): the status alone says what happened.
  }
  const parsed = errorResponseSchema.safeParse(json);
  const init = parsed.success
    ? {
        status: res.status,
        code: parsed.data.error.code,
        message: parsed.data.error.message,
        details: parsed.data.error.details,
      }
    : {
        status: res.status,
        code: codeOfStatus(res.status),
        message: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`,
      };
  return new ChatApiError(retryAfterMs === undefined ? init : { ...init, retryAfterMs });
}

/** Retry-After is whole seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") {
    return undefined;
  }
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return Number(trimmed) * 1000;
  }
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
