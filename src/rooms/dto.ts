import type { Role, RoomRow } from "../db/schema";
import { iso, type Member, type Membership, type Room } from "../shared/api";

/** A room row plus its member count, as the repos return it. */
export interface RoomWithCount {
  room: RoomRow;
  memberCount: number;
}

export function toRoomDto({ room, memberCount }: RoomWithCount): Room {
  return {
    id: room.id,
    name: room.name,
    isPrivate: room.isPrivate,
    ownerId: room.ownerId,
    createdAt: iso(room.createdAt),
    memberCount,
  };
}

export function toMemberDto(m: {
  userId: string;
  displayName: string;
  role: Role;
  joinedAt: number;
}): Member {
  return { userId: m.userId, displayName: m.displayName, role: m.role, joinedAt: iso(m.joinedAt) };
}

export function toMembershipDto(
  room: RoomWithCount,
  m: { role: Role; joinedAt: number },
): Membership {
  return { room: toRoomDto(room), role: m.role, joinedAt: iso(m.joinedAt) };
}
