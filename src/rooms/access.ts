import type { Db } from "../db/client";
import type { MembershipRow, Role, RoomRow } from "../db/schema";
import { ApiError } from "../lib/errors";
import { findRoomWithMembership } from "./memberships-repo";

export interface RoomAccess {
  room: RoomRow;
  membership: MembershipRow | null;
}

const roomNotFound = () => new ApiError({ code: "not_found", message: "Room not found" });

/**
 * Loads a room as the caller may see it. A private room the caller is not in answers 404, the same
 * as a room that doesn't exist, so room ids can't be probed (DESIGN "Security defaults").
 */
export async function loadVisibleRoom(db: Db, roomId: string, userId: string): Promise<RoomAccess> {
  const found = await findRoomWithMembership(db, roomId, userId);
  if (!found || (found.room.isPrivate && !found.membership)) {
    throw roomNotFound();
  }
  return found;
}

/** Like loadVisibleRoom, but the caller must be a member; non-members of public rooms get 403. */
export async function loadMemberRoom(
  db: Db,
  roomId: string,
  userId: string,
): Promise<{ room: RoomRow; membership: MembershipRow }> {
  const { room, membership } = await loadVisibleRoom(db, roomId, userId);
  if (!membership) {
    throw new ApiError({ code: "forbidden", message: "Join the room first" });
  }
  return { room, membership };
}

const rank: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

/** True when `role` is at least `min` in owner > admin > member. */
export function hasRole(role: Role, min: Role): boolean {
  return rank[role] >= rank[min];
}
