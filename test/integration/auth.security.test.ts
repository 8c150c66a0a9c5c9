import { type Client, createClient } from "@libsql/client";
import { decodeJwt, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { JWT_AUDIENCE, JWT_ISSUER } from "../../src/auth/tokens";
import { DEV_JWT_SECRET } from "../../src/config";
import { apiClient } from "../helpers/api";
import { createRoom, guestUser, registerUser, type TestUser } from "../helpers/factories";
import { startService, useService } from "../helpers/service";
import { TestSocket } from "../helpers/ws";

const service = useService({ AUTH_RATE_LIMIT: "100000" });
const api = apiClient(service);
let db: Client;

beforeAll(async () => {
  db = createClient({ url: inject("libsqlUrl") });
});

afterAll(async () => {
  db?.close();
});

const newEmail = () => `sec-${crypto.randomUUID()}@example.test`;
const devKey = new TextEncoder().encode(DEV_JWT_SECRET);
const nowS = () => Math.floor(Date.now() / 1000);
const sessionOf = (u: TestUser) => decodeJwt(u.token).sid as string;

async function userRow(id: string) {
  const rs = await db.execute({ sql: "SELECT * FROM users WHERE id = ?", args: [id] });
  return rs.rows[0];
}

async function sessionRow(id: string) {
  const rs = await db.execute({ sql: "SELECT * FROM sessions WHERE id = ?", args: [id] });
  return rs.rows[0];
}

const me = (token: string) => api("GET", "/api/me", { token });
const refresh = (refreshToken: string) =>
  api("POST", "/api/auth/refresh", { json: { refreshToken } });

/** An access token the way the server signs one, with any claim or header overridden. */
function accessJwt(
  u: TestUser,
  over: { iat?: number; exp?: number; sub?: string; sid?: string; typ?: string; alg?: string } = {},
) {
  const iat = over.iat ?? nowS();
  return new SignJWT({ sid: over.sid ?? sessionOf(u), typ: over.typ ?? "access" })
    .setProtectedHeader({ alg: over.alg ?? "HS256", typ: "JWT" })
    .setSubject(over.sub ?? u.id)
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(over.exp ?? iat + 900);
}

describe("password storage", () => {
  it("stores bcrypt at the configured default cost (10), with no plaintext anywhere in the row", async () => {
    const costly = await startService({ BCRYPT_COST: "10" });
    try {
      const u = await registerUser(apiClient(costly.url));
      const row = await userRow(u.id);
      expect(String(row?.password_hash)).toMatch(/^\$2[aby]\$10\$[./A-Za-z0-9]{53}$/);
      for (const value of Object.values(row ?? {})) {
        expect(String(value)).not.toContain(u.password);
      }
    } finally {
      await costly.close();
    }
  });

  it("re-hashes at the new cost on the next successful login after BCRYPT_COST changes", async () => {
    const u = await registerUser(api); // this service hashes at cost 4
    expect(String((await userRow(u.id))?.password_hash)).toMatch(/^\$2[aby]\$04\$/);
    const retuned = await startService({ BCRYPT_COST: "5" });
    try {
      const login = await apiClient(retuned.url)("POST", "/api/auth/login", {
        json: { email: u.email, password: u.password },
      });
      expect(login.status).toBe(200);
      expect(String((await userRow(u.id))?.password_hash)).toMatch(/^\$2[aby]\$05\$/);
    } finally {
      await retuned.close();
    }
    // And the re-hashed password still works here.
    const again = await api("POST", "/api/auth/login", {
      json: { email: u.email, password: u.password },
    });
    expect(again.status).toBe(200);
  });

  it("stores refresh tokens only as SHA-256 hashes", async () => {
    const u = await registerUser(api);
    const row = await sessionRow(sessionOf(u));
    expect(String(row?.refresh_token_hash)).toMatch(/^[0-9a-f]{64}$/);
    for (const value of Object.values(row ?? {})) {
      expect(String(value)).not.toContain(u.refreshToken.split(".")[1]);
    }
  });

  it("has no 72-byte cliff end to end: 'a'*72+'X' registered, 'a'*72+'Y' refused", async () => {
    const email = newEmail();
    await api("POST", "/api/auth/register", {
      json: { email, password: `${"a".repeat(72)}X`, displayName: "Cliff" },
    });
    const wrong = await api("POST", "/api/auth/login", {
      json: { email, password: `${"a".repeat(72)}Y` },
    });
    expect(wrong.status).toBe(401);
    const right = await api("POST", "/api/auth/login", {
      json: { email, password: `${"a".repeat(72)}X` },
    });
    expect(right.status).toBe(200);
  });

  it("verifies the NFD form of a password registered in NFC", async () => {
    const email = newEmail();
    const nfc = "cr\u00e8me-br\u00fbl\u00e9e";
    await api("POST", "/api/auth/register", { json: { email, password: nfc, displayName: "Nfc" } });
    const res = await api("POST", "/api/auth/login", {
      json: { email, password: nfc.normalize("NFD") },
    });
    expect(res.status).toBe(200);
  });
});

describe("login failures", () => {
  it("answer an unknown email and a wrong password with the same 401 body", async () => {
    const u = await registerUser(api);
    const wrong = await api("POST", "/api/auth/login", {
      json: { email: u.email, password: "not-the-password" },
    });
    const unknown = await api("POST", "/api/auth/login", {
      json: { email: newEmail(), password: "not-the-password" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.body).toEqual({
      error: { code: "unauthorized", message: "Invalid email or password" },
    });
  });

  it("answer a too-short password with the generic 401, never a policy hint", async () => {
    const u = await registerUser(api);
    const short = await api("POST", "/api/auth/login", { json: { email: u.email, password: "x" } });
    expect(short.status).toBe(401);
    expect(short.body.error.message).toBe("Invalid email or password");
  });
});

describe("access tokens", () => {
  it("accept a token signed like the server's (the forging below is faithful)", async () => {
    const u = await registerUser(api);
    expect((await me(await accessJwt(u).sign(devKey))).status).toBe(200);
  });

  it("refuse an expired token for a live session", async () => {
    const u = await registerUser(api);
    const old = nowS() - 3600;
    const expired = await accessJwt(u, { iat: old, exp: old + 900 }).sign(devKey);
    expect((await me(expired)).status).toBe(401);
  });

  it("refuse a tampered payload (another user's id swapped in) and a flipped signature", async () => {
    const a = await registerUser(api);
    const b = await registerUser(api);
    const [header, payload, sig] = a.token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const swapped = Buffer.from(JSON.stringify({ ...claims, sub: b.id })).toString("base64url");
    expect((await me(`${header}.${swapped}.${sig}`)).status).toBe(401);
    const flipped = `${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`;
    expect((await me(`${header}.${payload}.${flipped}`)).status).toBe(401);
  });

  it("refuse a token signed with HS512, with another key, or with alg none", async () => {
    const u = await registerUser(api);
    const hs512 = await accessJwt(u, { alg: "HS512" }).sign(devKey);
    expect((await me(hs512)).status).toBe(401);
    const otherKey = new TextEncoder().encode("some-other-secret-that-is-long-enough-0123");
    expect((await me(await accessJwt(u).sign(otherKey))).status).toBe(401);
    const none = new UnsecuredJWT({ sid: sessionOf(u), typ: "access" })
      .setSubject(u.id)
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("15m")
      .encode();
    expect((await me(none)).status).toBe(401);
  });

  it("refuse a validly signed token whose session doesn't exist or belongs to someone else", async () => {
    const a = await registerUser(api);
    const b = await registerUser(api);
    expect(
      (await me(await accessJwt(a, { sid: "ses_0000000000000000000000" }).sign(devKey))).status,
    ).toBe(401);
    expect((await me(await accessJwt(a, { sid: sessionOf(b) }).sign(devKey))).status).toBe(401);
  });

  it("refuse a token of another kind (typ) and a refresh token presented as an access token", async () => {
    const u = await registerUser(api);
    expect((await me(await accessJwt(u, { typ: "refresh" }).sign(devKey))).status).toBe(401);
    expect((await me(u.refreshToken)).status).toBe(401);
    expect((await refresh(u.token)).status).toBe(401);
  });

  it("are read from a case-insensitive Bearer scheme only", async () => {
    const u = await registerUser(api);
    const withHeader = (authorization: string) =>
      api("GET", "/api/me", { headers: { authorization } });
    expect((await withHeader(`bearer ${u.token}`)).status).toBe(200);
    expect((await withHeader(`Basic ${u.token}`)).status).toBe(401);
    expect((await withHeader(u.token)).status).toBe(401);
    expect((await withHeader("Bearer ")).status).toBe(401);
    expect((await api("GET", "/api/me")).status).toBe(401);
  });
});

describe("refresh token rotation", () => {
  it("detects reuse: replaying a rotated token revokes the whole session", async () => {
    const u = await registerUser(api);
    const r2 = await refresh(u.refreshToken);
    expect(r2.status).toBe(200);
    // R1 again: refused, and the session ends.
    expect((await refresh(u.refreshToken)).status).toBe(401);
    expect((await refresh(r2.body.refreshToken)).status).toBe(401);
    expect((await me(r2.body.token)).status).toBe(401);
    expect((await me(u.token)).status).toBe(401);
    expect((await sessionRow(sessionOf(u)))?.revoked_at).not.toBeNull();
  });

  it("lets exactly one of 10 concurrent refreshes with one token win (the rest count as reuse)", async () => {
    const u = await registerUser(api);
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(u.refreshToken)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(9);
    // Documented consequence: the losers look like a replay, so the session is revoked and the
    // winner's new pair is dead too. Clients must serialise their refreshes.
    const winner = results.find((r) => r.status === 200);
    expect((await refresh(winner?.body.refreshToken)).status).toBe(401);
  });

  it("does not let a forged token with a real session id revoke that session", async () => {
    const u = await registerUser(api);
    const [sid] = u.refreshToken.split(".");
    const forged = `${sid}.${"A".repeat(43)}.${"B".repeat(22)}`;
    expect((await refresh(forged)).status).toBe(401);
    expect((await api("POST", "/api/auth/logout", { json: { refreshToken: forged } })).status).toBe(
      204,
    );
    expect((await me(u.token)).status).toBe(200);
    expect((await refresh(u.refreshToken)).status).toBe(200);
  });

  it("refuses tokens of an expired session", async () => {
    const u = await registerUser(api);
    await db.execute({
      sql: "UPDATE sessions SET expires_at = ? WHERE id = ?",
      args: [Date.now() - 1000, sessionOf(u)],
    });
    expect((await refresh(u.refreshToken)).status).toBe(401);
    expect((await me(u.token)).status).toBe(401);
  });
});

describe("logout", () => {
  it("revokes the session in the database, so its still-unexpired access token gets 401", async () => {
    const u = await registerUser(api);
    expect((await me(u.token)).status).toBe(200);
    await api("POST", "/api/auth/logout", { json: { refreshToken: u.refreshToken } });
    expect((await sessionRow(sessionOf(u)))?.revoked_at).not.toBeNull();
    expect((await me(u.token)).status).toBe(401);
    // Even a fresh, validly signed token for that session is refused.
    expect((await me(await accessJwt(u).sign(devKey))).status).toBe(401);
  });

  it("with an old (rotated) refresh token also ends the session", async () => {
    const u = await registerUser(api);
    const r2 = await refresh(u.refreshToken);
    await api("POST", "/api/auth/logout", { json: { refreshToken: u.refreshToken } });
    expect((await me(r2.body.token)).status).toBe(401);
  });
});

describe("guest upgrade", () => {
  it("refuses a token of a registered user with 409 and creates nothing", async () => {
    const u = await registerUser(api);
    const email = newEmail();
    const res = await api("POST", "/api/auth/register", {
      token: u.token,
      json: { email, password: "another-password", displayName: "Second" },
    });
    expect(res.status).toBe(409);
    const rs = await db.execute({ sql: "SELECT id FROM users WHERE email = ?", args: [email] });
    expect(rs.rows).toHaveLength(0);
  });

  it("refuses an invalid token with 401 rather than silently creating a second account", async () => {
    const email = newEmail();
    const res = await api("POST", "/api/auth/register", {
      token: "not-a-token",
      json: { email, password: "another-password", displayName: "Second" },
    });
    expect(res.status).toBe(401);
    const rs = await db.execute({ sql: "SELECT id FROM users WHERE email = ?", args: [email] });
    expect(rs.rows).toHaveLength(0);
  });

  it("to an email that is taken answers 409 and leaves the guest a guest", async () => {
    const taken = await registerUser(api);
    const guest = await guestUser(api);
    const res = await api("POST", "/api/auth/register", {
      token: guest.token,
      json: { email: taken.email, password: "guest-password", displayName: "Guest" },
    });
    expect(res.status).toBe(409);
    expect((await me(guest.token)).body).toMatchObject({
      id: guest.id,
      isGuest: true,
      email: null,
    });
  });

  it("run twice concurrently lets exactly one win and leaves one row", async () => {
    const guest = await guestUser(api);
    const emails = [newEmail(), newEmail()];
    const results = await Promise.all(
      emails.map((email) =>
        api("POST", "/api/auth/register", {
          token: guest.token,
          json: { email, password: "guest-password", displayName: "Racer" },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const rs = await db.execute({
      sql: "SELECT id FROM users WHERE email IN (?, ?)",
      args: emails,
    });
    expect(rs.rows.map((r) => r.id)).toEqual([guest.id]);
  });

  it("rotates the guest's refresh token: the pre-upgrade one no longer refreshes", async () => {
    const guest = await guestUser(api);
    const up = await api("POST", "/api/auth/register", {
      token: guest.token,
      json: { email: newEmail(), password: "guest-password", displayName: "Rotated" },
    });
    expect(up.status).toBe(201);
    const row = await sessionRow(sessionOf(guest));
    const oldHash = Buffer.from(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(guest.refreshToken)),
    ).toString("hex");
    expect(row?.refresh_token_hash).not.toBe(oldHash);
  });
});

describe("live sockets of an ended session", () => {
  /** Proves a socket is still served: the runtime answers the exact ping text. */
  const stillOpen = async (socket: TestSocket) => {
    socket.send({ type: "ping" });
    await socket.next("pong", 3000, "a pong on the socket that should stay open");
  };
  const open = async (roomId: string, token: string) => {
    const socket = await TestSocket.open(`${service.wsUrl}/api/rooms/${roomId}/ws`, {
      authorization: `Bearer ${token}`,
    });
    await socket.next("ready", 5000, "the ready frame");
    // A heartbeat first, as real clients send: locally, workerd delivers a server-initiated close
    // to a client that never sent a frame only after a long timeout (see chat-helpers.ts).
    await stillOpen(socket);
    return socket;
  };

  it("close with 4001 in every room on logout, while the user's other session stays connected", async () => {
    const u = await registerUser(api);
    const other = await api("POST", "/api/auth/login", {
      json: { email: u.email, password: u.password },
    });
    const [a, b] = [await createRoom(api, u), await createRoom(api, u)];
    const sockets = [await open(a.id, u.token), await open(b.id, u.token)];
    const otherSocket = await open(a.id, other.body.token);
    try {
      await api("POST", "/api/auth/logout", { json: { refreshToken: u.refreshToken } });
      for (const socket of sockets) {
        expect(await socket.closed(3000)).toBe(4001);
      }
      await stillOpen(otherSocket);
      // And the ended session can't open a new one.
      await expect(open(a.id, u.token)).rejects.toMatchObject({ status: 401 });
    } finally {
      for (const socket of [...sockets, otherSocket]) {
        socket.close();
      }
    }
  });

  it("close with 4001 when refresh-token reuse revokes the session", async () => {
    const u = await registerUser(api);
    const room = await createRoom(api, u);
    const socket = await open(room.id, u.token);
    try {
      expect((await refresh(u.refreshToken)).status).toBe(200);
      expect((await refresh(u.refreshToken)).status).toBe(401);
      expect(await socket.closed(3000)).toBe(4001);
    } finally {
      socket.close();
    }
  });

  it("stay open when a guest upgrades, since the session is the same", async () => {
    const guest = await guestUser(api);
    const room = await createRoom(api, guest);
    const socket = await open(room.id, guest.token);
    try {
      const up = await api("POST", "/api/auth/register", {
        token: guest.token,
        json: { email: newEmail(), password: "guest-password", displayName: "Upgraded" },
      });
      expect(up.status).toBe(201);
      await stillOpen(socket);
    } finally {
      socket.close();
    }
  });
});
