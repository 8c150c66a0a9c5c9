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

export { codeOfStatus, statusOfCode } from "../shared/errors";
