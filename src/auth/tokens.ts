import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { newSecretToken, sha256Hex } from "../lib/ids";

export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;
const ISSUER = "edge-chat";
const AUDIENCE = "edge-chat-api";

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function signAccessToken(
  claims: AccessClaims,
  secret: string,
  nowMs: number,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ sid: claims.sessionId, typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ACCESS_TOKEN_TTL_S)
    .sign(keyOf(secret));
}

/**
 * Verifies signature, algorithm (pinned to HS256: no `none`, no key confusion), issuer, audience,
 * expiry and the token kind. Returns null for any token that is not a valid access token.
 */
export async function verifyAccessToken(
  token: string,
  secret: string,
): Promise<AccessClaims | null> {
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), {
      algorithms: ["HS256"],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ["sub", "exp", "iat", "sid"],
    });
    if (payload.typ !== "access" || typeof payload.sid !== "string" || !payload.sub) {
      return null;
    }
    return { userId: payload.sub, sessionId: payload.sid };
  } catch (err) {
    if (err instanceof joseErrors.JOSEError) {
      return null;
    }
    throw err;
  }
}

/**
 * Refresh tokens are `<sessionId>.<256-bit secret>`: the id finds the session, so presenting an
 * already-rotated token can be recognised as reuse and revoke that session (RFC 9700).
 */
export function newRefreshToken(sessionId: string): string {
  return `${sessionId}.${newSecretToken(32)}`;
}

export function sessionIdOfRefreshToken(token: string): string | null {
  const dot = token.indexOf(".");
  if (dot <= 0) {
    return null;
  }
  return token.slice(0, dot);
}

export const hashRefreshToken = sha256Hex;
