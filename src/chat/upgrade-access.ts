import type { Context } from "hono";
import { bearerToken } from "../auth/require-auth";
import { verifyAccessToken } from "../auth/tokens";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { sha256Hex } from "../lib/ids";
import { toRoomDto } from "../rooms/dto";
import { joinPublicRoom } from "../rooms/memberships-repo";
import { roomStub, type UpgradeContext } from "./room-stub";
import { readUpgradeAccess } from "./upgrade-read";

/** What the Worker establishes before forwarding an upgrade (the rest of UpgradeContext is the query). */
export type UpgradeGrant = Pick<UpgradeContext, "user" | "role" | "joinedAt" | "room">;

const badToken = () =>
  new ApiError({ code: "unauthorized", message: "Missing, invalid or expired access token" });
const badTicket = () =>
  new ApiError({ code: "unauthorized", message: "Invalid, used or expired ticket" });
const roomNotFound = () => new ApiError({ code: "not_found", message: "Room not found" });

/**
 * Who is connecting: a Bearer header (native clients) or a ws ticket (browsers), consumed inside
 * the room's object so it works once and only for this room. Both give (user, session) claims
 * without touching libSQL; the session is checked in authorizeUpgrade.
 */
async function upgradeClaims(
  c: Context<AppEnv>,
  roomId: string,
  ticket: string | undefined,
): Promise<{ userId: string; sessionId: string; viaTicket: boolean }> {
  if (c.req.header("authorization") !== undefined || ticket === undefined) {
    const token = bearerToken(c.req.header("authorization"));
    const claims = token ? await verifyAccessToken(token, c.var.services.config.jwtSecret) : null;
    if (!claims) {
      throw badToken();
    }
    return { ...claims, viaTicket: false };
  }
  const claim = await roomStub(c.env, roomId).consumeTicket(await sha256Hex(ticket));
  if (!claim) {
    throw badTicket();
  }
  return { ...claim, viaTicket: true };
}

/**
 * The identity and membership a socket runs under. The live session, the room, its member count
 * and the caller's membership come back in ONE libSQL round trip (one fixed SQL statement,
 * upgrade-read.ts), where the HTTP routes take one per check: joins are faster, and the upgrade
 * makes fewer subrequests (local workerd keeps tens of KiB of memory per subrequest,
 * docs/performance.md). Same answers as every other route: 401 for a dead session, 404 for a
 * private room you are not in; connecting to a public room you are not in joins it (as POST /join
 * would).
 */
export async function authorizeUpgrade(
  c: Context<AppEnv>,
  roomId: string,
  ticket: string | undefined,
): Promise<UpgradeGrant> {
  const claims = await upgradeClaims(c, roomId, ticket);
  const { libsql, now } = c.var.services;
  const { session, found } = await readUpgradeAccess(libsql, {
    sessionId: claims.sessionId,
    userId: claims.userId,
    roomId,
    now: now(),
  });
  if (!session) {
    throw claims.viaTicket ? badTicket() : badToken();
  }
  const user = {
    id: session.user.id,
    displayName: session.user.displayName,
    isGuest: session.user.isGuest,
    sessionId: claims.sessionId,
  };
  if (found?.membership) {
    const { role, joinedAt } = found.membership;
    return { user, role, joinedAt, room: toRoomDto(found) };
  }
  if (!found || found.room.isPrivate) {
    throw roomNotFound();
  }
  const joined = await joinPublicRoom(c.var.services.db, roomId, user.id, now());
  if (!joined.membership || !joined.room) {
    throw roomNotFound();
  }
  const { role, joinedAt } = joined.membership;
  return { user, role, joinedAt, room: toRoomDto(joined.room) };
}
