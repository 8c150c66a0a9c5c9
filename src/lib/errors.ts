import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { codeOfStatus, type ErrorCode, errorCodes, statusOfCode } from "../shared/errors";

export { type ErrorCode, errorCodes, statusOfCode };

export interface ApiErrorInit {
  code: ErrorCode;
  message: string;
  details?: unknown;
  /** For rate_limited / unavailable: becomes the Retry-After header (whole seconds, rounded up). */
  retryAfterMs?: number;
}

/**
 * The one error type routes throw. It is an HTTPException so Hono's own middleware
 * (bodyLimit, validators) and ours meet in a single onError.
 */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly retryAfterMs: number | undefined;

  constructor(init: ApiErrorInit) {
    super(statusOfCode(init.code), { message: init.message });
    this.code = init.code;
    this.details = init.details;
    this.retryAfterMs = init.retryAfterMs;
  }
}

export const notFound = (what = "Not found"): ApiError =>
  new ApiError({ code: "not_found", message: what });

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function errorBody(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return details === undefined
    ? { error: { code, message } }
    : { error: { code, message, details } };
}

const UNAVAILABLE_RETRY_MS = 5000;

/** Renders every thrown error in DESIGN's shape. Never leaks a stack or an internal message. */
export function renderError(err: unknown, c: Context): Response {
  if (err instanceof ApiError) {
    const headers: Record<string, string> = {};
    // 429 and 503 always say when to come back (HTTP-4); whole seconds, rounded up, >= 1.
    const retryAfterMs =
      err.retryAfterMs ?? (err.code === "unavailable" ? UNAVAILABLE_RETRY_MS : undefined);
    if (retryAfterMs !== undefined) {
      headers["Retry-After"] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    }
    if (err.status >= 500) {
      logServerError(c, err);
    }
    return c.json(errorBody(err.code, err.message, err.details), err.status, headers);
  }
  if (err instanceof HTTPException) {
    const code = codeOfStatus(err.status);
    if (err.status >= 500) {
      logServerError(c, err);
      return c.json(errorBody(code, "Internal error"), 500);
    }
    // Hono's own exceptions (malformed JSON, 415 from the route validators) carry safe messages.
    const message = err.message || defaultMessage(code);
    return c.json(errorBody(code, message), err.status as ContentfulStatusCode);
  }
  if (isStoreUnavailable(err)) {
    logServerError(c, err);
    return c.json(errorBody("unavailable", "A backing store is unavailable; try again"), 503, {
      "Retry-After": String(UNAVAILABLE_RETRY_MS / 1000),
    });
  }
  logServerError(c, err);
  return c.json(errorBody("internal", "Internal error"), 500);
}

function defaultMessage(code: ErrorCode): string {
  return code.replaceAll("_", " ");
}

/** libSQL network failures (server down, Turso unreachable) become 503, not 500. */
function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) {
    return false;
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && /^(HRANA_|SERVER_ERROR|HTTP_|STREAM_|FETCH_)/.test(code)) {
    return true;
  }
  return err.name === "TypeError" && /fetch|network|connect/i.test(err.message);
}

function logServerError(c: Context, err: unknown): void {
  const requestId = c.get("requestId" as never) as string | undefined;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  console.error(JSON.stringify({ level: "error", requestId, path: c.req.path, message }));
}
