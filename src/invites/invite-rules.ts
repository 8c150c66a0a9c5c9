/**
 * Invite rules as pure functions: expiry math, usability and the join URL. The SQL in
 * invites-repo.ts (acceptInvite) applies the same usability test inside one statement; this module
 * explains an invite that the statement refused.
 */

export const HOUR_MS = 3_600_000;
/** DESIGN "Contract details": default one week, at most 30 days, at most 10,000 uses. */
export const DEFAULT_INVITE_HOURS = 168;
export const MAX_INVITE_HOURS = 720;
export const MAX_INVITE_USES = 10_000;

export interface InviteUsage {
  expiresAt: number;
  maxUses: number | null;
  uses: number;
  revokedAt: number | null;
}

/** Why an invite can't be used; `usable` when it can. */
export type InviteState = "usable" | "revoked" | "expired" | "used_up";

export function inviteExpiresAt(now: number, expiresInHours: number): number {
  return now + expiresInHours * HOUR_MS;
}

/**
 * Revoked wins over expired wins over used up, so the answer names the most deliberate cause.
 * An invite is alive strictly before `expiresAt`, like the `expires_at > now` of the accept SQL.
 */
export function inviteState(invite: InviteUsage, now: number): InviteState {
  if (invite.revokedAt !== null) {
    return "revoked";
  }
  if (invite.expiresAt <= now) {
    return "expired";
  }
  if (invite.maxUses !== null && invite.uses >= invite.maxUses) {
    return "used_up";
  }
  return "usable";
}

export const isInviteUsable = (invite: InviteUsage, now: number): boolean =>
  inviteState(invite, now) === "usable";

const unusableMessages: Record<Exclude<InviteState, "usable">, string> = {
  revoked: "This invite was revoked",
  expired: "This invite has expired",
  used_up: "This invite has no uses left",
};

export const unusableMessage = (state: Exclude<InviteState, "usable">): string =>
  unusableMessages[state];

/**
 * The web app's join link. The token rides in the fragment, which browsers never send to a
 * server, so it stays out of access logs, proxies and Referer headers (INV-8).
 */
export function joinUrl(publicUrl: string, requestUrl: string, token: string): string {
  const base = publicUrl.length > 0 ? publicUrl : new URL(requestUrl).origin;
  return `${base.replace(/\/+$/, "")}/join#${token}`;
}
