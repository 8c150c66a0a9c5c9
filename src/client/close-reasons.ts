import { CLOSE_KICKED, CLOSE_ROOM_DELETED, CLOSE_UNAUTHORIZED } from "../shared/protocol";
import { ChatApiError, type ErrorCode, isChatApiError, statusOfCode } from "./errors";
import type { CloseReason } from "./room-types";

// When a live room stops for good, and the errors it hands out then.

/** The close codes that mean "don't come back" (DESIGN "Close codes"). */
export function finalCloseReason(code: number, reason: string): CloseReason | null {
  switch (code) {
    case CLOSE_UNAUTHORIZED:
      return { kind: "unauthorized", message: reason || "Session ended", closeCode: code };
    case CLOSE_KICKED:
      return { kind: "kicked", message: reason || "Removed from the room", closeCode: code };
    case CLOSE_ROOM_DELETED:
      return { kind: "room_deleted", message: reason || "The room was deleted", closeCode: code };
    default:
      return null;
  }
}

/** HTTP answers that retrying can't fix: signed out for good, no such room, refused. */
export function finalHttpReason(e: unknown): CloseReason | null {
  if (!isChatApiError(e)) {
    return null;
  }
  switch (e.status) {
    case 401:
      return { kind: "unauthorized", message: e.message, closeCode: null };
    case 404:
    case 410:
      return { kind: "not_found", message: e.message, closeCode: null };
    case 400:
    case 403:
      return { kind: "refused", message: e.message, closeCode: null };
    default:
      return null;
  }
}

/** The code a closed room's errors carry, by why it closed. */
function codeForClose(kind: CloseReason["kind"] | undefined): ErrorCode {
  switch (kind) {
    case "unauthorized":
      return "unauthorized";
    case "kicked":
      return "forbidden";
    case "not_found":
    case "room_deleted":
      return "not_found";
    default:
      return "unavailable";
  }
}

/**
 * The error for a call on a closed room, or for a send still pending when it closed (which may
 * or may not have been stored: the ack never came).
 */
export function errorForClose(reason: CloseReason | null, pendingSend: boolean): ChatApiError {
  const code = codeForClose(reason?.kind);
  return new ChatApiError({
    status: statusOfCode(code),
    code,
    message: `Room closed: ${reason?.message ?? "closed"}${pendingSend ? " (the message may or may not have been stored)" : ""}`,
  });
}

/** Any thrown value as a ChatApiError (e.g. a CursorStore that threw), for the `error` event. */
export function toChatApiError(e: unknown): ChatApiError {
  return isChatApiError(e)
    ? e
    : new ChatApiError({
        status: 0,
        code: "internal",
        message: e instanceof Error ? e.message : String(e),
        cause: e,
      });
}
