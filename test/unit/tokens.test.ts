import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  ACCESS_TOKEN_TTL_S,
  hashRefreshToken,
  JWT_AUDIENCE,
  JWT_ISSUER,
  newRefreshToken,
  parseRefreshToken,
  signAccessToken,
  verifyAccessToken,
} from "../../src/auth/tokens";
import { newId } from "../../src/lib/ids";

const SECRET = "unit-test-jwt-secret-0123456789-0123456789";
const key = new TextEncoder().encode(SECRET);
const nowS = () => Math.floor(Date.now() / 1000);

interface Forge {
  alg?: string;
  key?: Uint8Array;
  iss?: string;
  aud?: string;
  sub?: string | null;
  sid?: string | null;
  typ?: string | null;
  iat?: number;
  exp?: number | null;
  nbf?: number;
  headerTyp?: string;
}

/** Signs a token like signAccessToken does, with any one part changed. */
async function forge(f: Forge = {}): Promise<string> {
  const claims: Record<string, unknown> = {};
  if (f.sid !== null) {
    claims.sid = f.sid ?? "ses_x";
  }
  if (f.typ !== null) {
    claims.typ = f.typ ?? "access";
  }
  const iat = f.iat ?? nowS();
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: f.alg ?? "HS256", typ: f.headerTyp ?? "JWT" })
    .setIssuer(f.iss ?? JWT_ISSUER)
    .setAudience(f.aud ?? JWT_AUDIENCE)
    .setIssuedAt(iat);
  if (f.sub !== null) {
    jwt = jwt.setSubject(f.sub ?? "usr_x");
  }
  if (f.exp !== null) {
    jwt = jwt.setExpirationTime(f.exp ?? iat + ACCESS_TOKEN_TTL_S);
  }
  if (f.nbf !== undefined) {
    jwt = jwt.setNotBefore(f.nbf);
  }
  return jwt.sign(f.key ?? key);
}

const b64url = (s: string) => Buffer.from(s).toString("base64url");
const fromB64url = (s: string) => Buffer.from(s, "base64url").toString();

describe("access tokens", () => {
  it("round-trip: a signed token verifies to its user and session", async () => {
    const token = await signAccessToken(
      { userId: "usr_a", sessionId: "ses_b" },
      SECRET,
      Date.now(),
    );
    expect(await verifyAccessToken(token, SECRET)).toEqual({ userId: "usr_a", sessionId: "ses_b" });
  });

  it("accepts a token forged with exactly the real parameters (the forging helper is faithful)", async () => {
    expect(await verifyAccessToken(await forge(), SECRET)).toEqual({
      userId: "usr_x",
      sessionId: "ses_x",
    });
  });

  it("rejects alg none", async () => {
    const token = new UnsecuredJWT({ sid: "ses_x", typ: "access" })
      .setSubject("usr_x")
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("15m")
      .encode();
    expect(await verifyAccessToken(token, SECRET)).toBeNull();
    // Also with an empty signature appended, and with the header claiming HS256 but no signature.
    expect(await verifyAccessToken(`${token}`, SECRET)).toBeNull();
    const [, payload] = token.split(".");
    const fakeHs = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${payload}.`;
    expect(await verifyAccessToken(fakeHs, SECRET)).toBeNull();
  });

  it("rejects HS512 and HS384 even with the right key", async () => {
    expect(await verifyAccessToken(await forge({ alg: "HS512" }), SECRET)).toBeNull();
    expect(await verifyAccessToken(await forge({ alg: "HS384" }), SECRET)).toBeNull();
  });

  it("rejects a token signed with another key", async () => {
    const other = new TextEncoder().encode("another-secret-of-enough-length-0123456789");
    expect(await verifyAccessToken(await forge({ key: other }), SECRET)).toBeNull();
  });

  it("rejects a wrong issuer or audience", async () => {
    expect(await verifyAccessToken(await forge({ iss: "someone-else" }), SECRET)).toBeNull();
    expect(await verifyAccessToken(await forge({ aud: "another-api" }), SECRET)).toBeNull();
  });

  it("rejects an expired token, with no clock tolerance", async () => {
    const old = nowS() - 3600;
    expect(await verifyAccessToken(await forge({ iat: old, exp: old + 900 }), SECRET)).toBeNull();
    expect(await verifyAccessToken(await forge({ iat: old, exp: nowS() - 1 }), SECRET)).toBeNull();
  });

  it("rejects a token that is not valid yet (nbf in the future)", async () => {
    expect(await verifyAccessToken(await forge({ nbf: nowS() + 600 }), SECRET)).toBeNull();
  });

  it("rejects missing sid, sub or exp", async () => {
    expect(await verifyAccessToken(await forge({ sid: null }), SECRET)).toBeNull();
    expect(await verifyAccessToken(await forge({ sub: null }), SECRET)).toBeNull();
    expect(await verifyAccessToken(await forge({ exp: null }), SECRET)).toBeNull();
  });

  it("rejects a token whose typ is not access (e.g. a refresh or ws token)", async () => {
    expect(await verifyAccessToken(await forge({ typ: "refresh" }), SECRET)).toBeNull();
    expect(await verifyAccessToken(await forge({ typ: "ws" }), SECRET)).toBeNull();
    expect(await verifyAccessToken(await forge({ typ: null }), SECRET)).toBeNull();
  });

  it("rejects a token whose header typ is not JWT", async () => {
    expect(await verifyAccessToken(await forge({ headerTyp: "at+jwt" }), SECRET)).toBeNull();
  });

  it("rejects a tampered payload (another user swapped in) and a flipped signature bit", async () => {
    const token = await forge();
    const [header, payload, sig] = token.split(".") as [string, string, string];
    const claims = JSON.parse(fromB64url(payload));
    const swapped = `${header}.${b64url(JSON.stringify({ ...claims, sub: "usr_victim" }))}.${sig}`;
    expect(await verifyAccessToken(swapped, SECRET)).toBeNull();
    const flipped = sig.startsWith("A") ? `B${sig.slice(1)}` : `A${sig.slice(1)}`;
    expect(await verifyAccessToken(`${header}.${payload}.${flipped}`, SECRET)).toBeNull();
  });

  it("ignores jku/jwk/kid header tricks (the key is fixed, nothing is fetched)", async () => {
    const token = await new SignJWT({ sid: "ses_x", typ: "access" })
      .setProtectedHeader({
        alg: "HS256",
        typ: "JWT",
        kid: "../../etc/passwd",
        jku: "https://evil.example/jwks",
      })
      .setSubject("usr_x")
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("15m")
      .sign(new TextEncoder().encode("attacker-key-attacker-key-attacker-key"));
    expect(await verifyAccessToken(token, SECRET)).toBeNull();
  });

  it("answers null, never throws, for garbage", async () => {
    for (const garbage of ["", "a", "a.b", "a.b.c", "....", "x".repeat(10_000), "é.é.é"]) {
      expect(await verifyAccessToken(garbage, SECRET)).toBeNull();
    }
  });
});

describe("refresh tokens", () => {
  it("carry their session id and a tag that proves this server issued them", async () => {
    const sessionId = newId("ses");
    const token = await newRefreshToken(sessionId, SECRET);
    expect(token.startsWith(`${sessionId}.`)).toBe(true);
    expect(await parseRefreshToken(token, SECRET)).toEqual({ sessionId, issuedByUs: true });
  });

  it("are told apart from forgeries that reuse a real session id", async () => {
    const sessionId = newId("ses");
    const real = await newRefreshToken(sessionId, SECRET);
    const [, secret, tag] = real.split(".") as [string, string, string];
    const otherSecret = `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
    expect(await parseRefreshToken(`${sessionId}.${otherSecret}.${tag}`, SECRET)).toEqual({
      sessionId,
      issuedByUs: false,
    });
    expect(
      (await parseRefreshToken(real, "another-secret-0123456789-0123456789"))?.issuedByUs,
    ).toBe(false);
  });

  it("parse to null when they are not shaped like a refresh token", async () => {
    const real = await newRefreshToken(newId("ses"), SECRET);
    for (const bad of [
      "",
      "x",
      "ses_abc.def",
      `${real}.extra`,
      `x${real}`,
      real.slice(0, -1),
      "\u0000",
    ]) {
      expect(await parseRefreshToken(bad, SECRET), bad).toBeNull();
    }
  });

  it("are random: two for one session differ, and so do their stored hashes", async () => {
    const sessionId = newId("ses");
    const a = await newRefreshToken(sessionId, SECRET);
    const b = await newRefreshToken(sessionId, SECRET);
    expect(a).not.toBe(b);
    expect(await hashRefreshToken(a)).not.toBe(await hashRefreshToken(b));
    expect(await hashRefreshToken(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});
