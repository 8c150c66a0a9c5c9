import type { ErrorCode } from "../shared/errors";

export type { ErrorCode };

/** What a ChatApiError is made of. */
export interface ChatApiErrorInit {
  status: number;
  code: ErrorCode;
  message: string;
  details?: unknown;
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * Every failure the SDK reports: HTTP error answers, WebSocket `error` frames, network failures
 * and a room that closed under a pending send. `code` is the API's error code (one list for HTTP
 * and WebSocket); `status` is the HTTP status that code maps to (0 for a network failure, where
 * no answer came back); `retryAfterMs` is set for `rate_limited` (and `unavailable` when the
 * server said when to retry).
 *
 * @example
 * try { await room.send("hi") } catch (e) {
 *   if (e instanceof ChatApiError && e.code === "rate_limited") wait(e.retryAfterMs)
 * }
 */
export class ChatApiError extends Error {
  override readonly name = "ChatApiError";
  /** HTTP status (the code's status for WebSocket errors); 0 when the network failed. */
  readonly status: number;
  /** The API's error code, e.g. "rate_limited", "not_found", "unauthorized". */
  readonly code: ErrorCode;
  /** Extra data from the API, e.g. the zod issues of a validation_failed answer. */
  readonly details: unknown;
  /** How long to wait before retrying, when the server said so. */
  readonly retryAfterMs: number | undefined;

  constructor(init: ChatApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** True for errors the SDK produced (narrows `unknown` in a catch block). */
export function isChatApiError(e: unknown): e is ChatApiError {
  return e instanceof ChatApiError;
}

/**
 * The HTTP status of each code, as the server maps them (src/lib/errors.ts), so an error that
 * arrived over the WebSocket carries the same status it would have had over HTTP.
 */
export function statusOfCode(code: ErrorCode): number {
  switch (code) {
    case "validation_failed":
      return 400;
    case "unauthorized":
      return 401;
    case "forbidden":
      return 403;
    case "not_found":
      return 404;
    case "conflict":
      return 409;
    case "gone":
      return 410;
    case "payload_too_large":
      return 413;
    case "unsupported_media_type":
      return 415;
    case "rate_limited":
      return 429;
    case "internal":
      return 500;
    case "unavailable":
      return 503;
  }
}

/** The code for a status when an answer didn't carry the error envelope (a proxy's 502, say). */
export function codeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return "validation_failed";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 409:
      return "conflict";
    case 410:
      return "gone";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 429:
      return "rate_limited";
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "validation_failed";
  }
}
