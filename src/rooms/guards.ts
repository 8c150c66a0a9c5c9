import type { Db } from "../db/client";
import type { MembershipRow, Role, RoomRow } from "../db/schema";
import { ApiError } from "../lib/errors";
import { loadMemberRoom } from "./access";
import type { Refusal } from "./permissions";

/** Turns a refused permissions decision into the API error the caller gets. */
export function enforce<T extends { ok: true }>(decision: T | Refusal): asserts decision is T {
  if (!decision.ok) {
    throw new ApiError({ code: decision.code, message: decision.message });
  }
}

/**
 * A room the caller is a member of with a role that `allowed` accepts. Access errors come first
 * (404 for a private room they're not in, 403 for a public one), then 403 for the role.
 */
export async function loadRoomAs(
  db: Db,
  roomId: string,
  userId: string,
  allowed: (role: Role) => boolean,
  refusal: string,
): Promise<{ room: RoomRow; membership: MembershipRow }> {
  const access = await loadMemberRoom(db, roomId, userId);
  if (!allowed(access.membership.role)) {
    throw new ApiError({ code: "forbidden", message: refusal });
  }
  return access;
}
