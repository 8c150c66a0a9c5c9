/**
 * CORS and WebSocket Origin policy: same-origin is always allowed, others only when listed
 * exactly in ALLOWED_ORIGINS (no wildcards, no suffix matching, never a reflected `*`).
 */
export function isOriginAllowed(origin: string, requestUrl: string, allowList: string): boolean {
  if (!origin) {
    return false;
  }
  if (origin === new URL(requestUrl).origin) {
    return true;
  }
  return allowList
    .split(",")
    .map((o) => o.trim())
    .some((o) => o.length > 0 && o === origin);
}
