/**
 * Error codes shared by the HTTP API and WebSocket `error` frames (DESIGN "Contract details").
 * Imports nothing, so the browser SDK can use it too.
 */
export const errorCodes = [
  "validation_failed",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "gone",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "unavailable",
  "internal",
] as const;

export type ErrorCode = (typeof errorCodes)[number];
