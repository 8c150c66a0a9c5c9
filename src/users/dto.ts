import type { UserRow } from "../db/schema";
import { iso, isoOrNull, type User } from "../shared/api";

export function toUserDto(u: UserRow): User {
  return {
    id: u.id,
    email: u.email,
    displayName: u.displayName,
    isGuest: u.isGuest,
    createdAt: iso(u.createdAt),
    lastSeenAt: isoOrNull(u.lastSeenAt),
  };
}
