import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { sha256Hex } from "../lib/ids";
import { enforceIpLimit } from "../limits/auth-limits";
import { toMembershipDto } from "../rooms/dto";
import type { Membership } from "../shared/api";
import { inviteState, unusableMessage } from "./invite-rules";
import { acceptInvite } from "./invites-repo";

export const inviteNotFound = () =>
  new ApiError({ code: "not_found", message: "Invite not found" });

/**
 * Accepting an invite, shared by POST /api/invites/{token}/accept and POST /api/rooms/join
 * {inviteCode}. New member: 201. Already a member: 200 and no use is spent, even on an invite that
 * has since expired (the link grants nothing they don't have). Unknown token: 404. Revoked,
 * expired or used up: 410 with `details.reason`.
 */
export async function acceptInviteToken(
  c: Context<AppEnv>,
  token: string,
): Promise<{ status: 200 | 201; membership: Membership }> {
  await enforceIpLimit(c, "invite-accept");
  const { db, now } = c.var.services;
  const at = now();
  const result = await acceptInvite(db, await sha256Hex(token), c.var.user.id, at);
  if (result.membership) {
    return {
      status: result.joined ? 201 : 200,
      membership: toMembershipDto(result.membership, result.membership),
    };
  }
  if (!result.invite) {
    throw inviteNotFound();
  }
  const state = inviteState(result.invite, at);
  if (state === "usable") {
    // Only reachable if the room vanished between the statements' reads, which the batch's
    // transaction rules out; answered as a retryable conflict rather than a 500 all the same.
    throw new ApiError({ code: "conflict", message: "The invite could not be accepted; retry" });
  }
  throw new ApiError({ code: "gone", message: unusableMessage(state), details: { reason: state } });
}
