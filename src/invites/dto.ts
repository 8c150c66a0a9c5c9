import type { InviteRow } from "../db/schema";
import type { RoomWithCount } from "../rooms/dto";
import { type CreatedInvite, type Invite, type InvitePreview, iso, isoOrNull } from "../shared/api";
import { isInviteUsable } from "./invite-rules";

/** Metadata only: the raw token is never stored, so it can't leak from here. */
export function toInviteDto(row: InviteRow): Invite {
  return {
    id: row.id,
    roomId: row.roomId,
    createdBy: row.createdBy,
    createdAt: iso(row.createdAt),
    expiresAt: iso(row.expiresAt),
    maxUses: row.maxUses,
    uses: row.uses,
    revokedAt: isoOrNull(row.revokedAt),
  };
}

/** The creation answer: the only response that carries the raw token. */
export function toCreatedInviteDto(row: InviteRow, token: string, url: string): CreatedInvite {
  return {
    id: row.id,
    token,
    url,
    expiresAt: iso(row.expiresAt),
    maxUses: row.maxUses,
    uses: row.uses,
  };
}

export function toInvitePreviewDto(
  row: InviteRow,
  { room, memberCount }: RoomWithCount,
  now: number,
): InvitePreview {
  return {
    room: { id: room.id, name: room.name, memberCount },
    expiresAt: iso(row.expiresAt),
    valid: isInviteUsable(row, now),
  };
}
