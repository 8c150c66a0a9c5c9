import { isChatApiError } from "../src/client";

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});

/** "14:05" today, "Mar 3, 2026, 14:05" on other days. */
export function shortTime(iso: string, now = new Date()): string {
  const d = new Date(iso);
  return d.toDateString() === now.toDateString() ? timeFormat.format(d) : dateTimeFormat.format(d);
}

/** "Mar 3, 2026, 14:05": for tooltips and expiry dates. */
export function longTime(iso: string): string {
  return dateTimeFormat.format(new Date(iso));
}

/** What to tell the user about a failure, in words (the API's message, or a network hint). */
export function errorText(e: unknown): string {
  if (isChatApiError(e)) {
    if (e.status === 0) {
      return "Can't reach the server. Check your connection and try again.";
    }
    if (e.code === "rate_limited") {
      const s = Math.max(1, Math.ceil((e.retryAfterMs ?? 1000) / 1000));
      return `Too many requests: try again in ${s} s.`;
    }
    if (e.code === "validation_failed") {
      return validationText(e.details) ?? e.message;
    }
    return e.message;
  }
  return e instanceof Error ? e.message : "Something went wrong.";
}

/** The first zod issue of a validation_failed answer, as "field: message". */
function validationText(details: unknown): string | null {
  if (!Array.isArray(details)) {
    return null;
  }
  const first: unknown = details[0];
  if (typeof first !== "object" || first === null || !("message" in first)) {
    return null;
  }
  const message = typeof first.message === "string" ? first.message : null;
  const path = "path" in first && Array.isArray(first.path) ? first.path.join(".") : "";
  return message && path ? `${path}: ${message}` : message;
}

/** Up to `max` characters, with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}
