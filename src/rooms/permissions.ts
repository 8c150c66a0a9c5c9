import type { Role } from "../db/schema";

/**
 * Role rules for rooms, as pure functions (STYLE rule 1: decisions live outside handlers).
 * A room has exactly one owner (rooms.owner_id and the one membership with role "owner"); admins
 * moderate members; members chat. docs/api-decisions.md "Rooms and members" lists the same rules.
 */

/** Why an action is refused, as the error the caller gets. */
export interface Refusal {
  ok: false;
  code: "forbidden" | "conflict";
  message: string;
}

/** Either the action may go ahead, or the error the caller gets. */
export type Decision = { ok: true } | Refusal;

const allow: Decision = { ok: true };
const forbid = (message: string): Decision => ({ ok: false, code: "forbidden", message });
const conflict = (message: string): Decision => ({ ok: false, code: "conflict", message });

const isModerator = (role: Role): boolean => role === "owner" || role === "admin";

/** Rename a room or switch it between public and private: owner and admins. */
export const canEditRoom = isModerator;

/** Delete a room: the owner only (DESIGN). */
export const canDeleteRoom = (role: Role): boolean => role === "owner";

/** Create, list and revoke invites: owner and admins (DESIGN "Contract details"). */
export const canManageInvites = isModerator;

/** Change someone's role: the owner only (DESIGN). */
export const canChangeRoles = (role: Role): boolean => role === "owner";

/**
 * Kick: the owner kicks admins and members; an admin kicks members only; nobody kicks the owner.
 * Kicking yourself is not a kick: use leave, which has its own rule for owners.
 */
export function decideKick(actorRole: Role, targetRole: Role, self: boolean): Decision {
  if (self) {
    return conflict("You can't kick yourself; use POST /api/rooms/{roomId}/leave");
  }
  if (targetRole === "owner") {
    return forbid("The owner can't be kicked");
  }
  if (actorRole === "owner") {
    return allow;
  }
  if (actorRole === "admin" && targetRole === "member") {
    return allow;
  }
  return forbid(
    actorRole === "admin"
      ? "Admins can kick members, not other admins"
      : "Only owner and admins kick",
  );
}

/** What a role change amounts to once it is allowed. */
export type RoleChange =
  | { ok: true; kind: "noop" }
  | { ok: true; kind: "set"; role: Exclude<Role, "owner"> }
  | { ok: true; kind: "transfer" }
  | Refusal;

/**
 * Role changes keep exactly one owner: giving someone "owner" transfers ownership (the old owner
 * becomes admin), and the owner can't demote themself without handing the room over first.
 */
export function decideRoleChange(
  actorRole: Role,
  targetRole: Role,
  newRole: Role,
  self: boolean,
): RoleChange {
  if (!canChangeRoles(actorRole)) {
    return { ok: false, code: "forbidden", message: "Only the owner changes roles" };
  }
  if (targetRole === newRole) {
    return { ok: true, kind: "noop" };
  }
  if (self) {
    return {
      ok: false,
      code: "conflict",
      message: "The owner can't step down; give another member the owner role first",
    };
  }
  return newRole === "owner"
    ? { ok: true, kind: "transfer" }
    : { ok: true, kind: "set", role: newRole };
}

/**
 * Leave: anyone but the owner. The owner must transfer ownership or delete the room first, so a
 * room never ends up without an owner (nobody else could delete it or manage roles).
 */
export function decideLeave(role: Role): Decision {
  return role === "owner"
    ? conflict("The owner can't leave; transfer ownership first or delete the room")
    : allow;
}
