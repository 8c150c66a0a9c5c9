import { jwtVerify, SignJWT } from "jose";
import { base64Url, newSecretToken, sha256Hex } from "../lib/ids";

export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;
export const JWT_ISSUER = "edge-chat";
export const JWT_AUDIENCE = "edge-chat-api";

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

/** Key bytes typed over a plain ArrayBuffer, as Web Crypto's BufferSource wants under every lib. */
function keyOf(secret: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(new TextEncoder().encode(secret));
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
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ACCESS_TOKEN_TTL_S)
    .sign(keyOf(secret));
}

/**
 * The HS256 key for verifying, imported once per secret per isolate: jose given raw bytes
 * imports a fresh CryptoKey on every verify, and every request and WebSocket upgrade verifies
 * (docs/performance.md, finding 3). Only a resolved key is kept, never a pending promise: workerd
 * ties a promise to the request that made it, so another request must not wait on it.
 */
const verifyKeys = new Map<string, CryptoKey>();

async function verifyKeyOf(secret: string): Promise<CryptoKey> {
  let key = verifyKeys.get(secret);
  if (!key) {
    key = await crypto.subtle.importKey(
      "raw",
      keyOf(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    verifyKeys.set(secret, key);
  }
  return key;
}

/**
 * Verifies signature, algorithm (pinned to HS256: no `none`, no HS512, no public-key confusion;
 * jose never fetches `jku`/`x5u` keys for a symmetric key), issuer, audience, expiry (no clock
 * tolerance) and the token kind. Returns null for anything that is not a valid access token,
 * whatever the input, so a hostile token can only ever produce a 401.
 */
export async function verifyAccessToken(
  token: string,
  secret: string,
): Promise<AccessClaims | null> {
  try {
    const { payload } = await jwtVerify(token, await verifyKeyOf(secret), {
      algorithms: ["HS256"],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      typ: "JWT",
      requiredClaims: ["sub", "exp", "iat", "sid"],
    });
    if (payload.typ !== "access" || typeof payload.sid !== "string" || !payload.sub) {
      return null;
    }
    return { userId: payload.sub, sessionId: payload.sid };
  } catch {
    return null;
  }
}

/*
 * Refresh tokens are `<sessionId>.<secret>.<tag>`: a 256-bit random secret, and a 128-bit
 * HMAC tag over the session id and secret under JWT_SECRET. Only SHA-256 of the whole token is
 * stored. The session id finds the session, so a token that was already rotated away can be
 * recognised and the whole session revoked (RFC 9700 reuse detection). The tag proves the
 * token was once issued by this server: without it, anyone who saw a session id (it is in every
 * access token's `sid`) could send `<sid>.garbage` and revoke someone else's session.
 */
const SESSION_ID = "ses_[0-9A-Za-z]{22}";
const REFRESH_TOKEN = new RegExp(`^(${SESSION_ID})\\.([A-Za-z0-9_-]{43})\\.([A-Za-z0-9_-]{22})$`);

async function refreshTag(sessionId: string, secretPart: string, key: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    keyOf(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    k,
    new TextEncoder().encode(`refresh-token:${sessionId}.${secretPart}`),
  );
  return base64Url(new Uint8Array(mac).slice(0, 16));
}

export async function newRefreshToken(sessionId: string, key: string): Promise<string> {
  const secretPart = newSecretToken(32);
  return `${sessionId}.${secretPart}.${await refreshTag(sessionId, secretPart, key)}`;
}

export interface ParsedRefreshToken {
  sessionId: string;
  /** True when the tag checks out: this server issued the token (it may be rotated since). */
  issuedByUs: boolean;
}

/** Splits a refresh token; null when it isn't even shaped like one. */
export async function parseRefreshToken(
  token: string,
  key: string,
): Promise<ParsedRefreshToken | null> {
  const m = REFRESH_TOKEN.exec(token);
  if (!m?.[1] || !m[2] || !m[3]) {
    return null;
  }
  const expected = await refreshTag(m[1], m[2], key);
  return { sessionId: m[1], issuedByUs: timingSafeEqual(expected, m[3]) };
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  }
  return diff === 0;
}

export const hashRefreshToken = sha256Hex;
