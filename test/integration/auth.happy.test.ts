import { describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api";
import { guestUser, registerUser, uniq } from "../helpers/factories";
import { useService } from "../helpers/service";

// Each test makes its own users; the per-IP budget is raised so this file's many sign-ups from
// one address are not what's under test (rate-limits.test.ts covers that).
const service = useService({ AUTH_RATE_LIMIT: "100000" });
const api = apiClient(service);

const newEmail = () => `happy-${crypto.randomUUID()}@example.test`;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("register", () => {
  it("creates an email account and answers 201 with a token pair and the user", async () => {
    const email = newEmail();
    const res = await api("POST", "/api/auth/register", {
      json: { email, password: "a-good-password", displayName: "Ada" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      token: expect.any(String),
      refreshToken: expect.any(String),
      user: {
        id: expect.stringMatching(/^usr_/),
        email,
        displayName: "Ada",
        isGuest: false,
        createdAt: expect.stringMatching(ISO),
        lastSeenAt: null,
      },
    });
    const me = await api("GET", "/api/me", { token: res.body.token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(res.body.user);
  });

  it("stores the email trimmed and lower-cased, and the display name trimmed and NFC", async () => {
    const email = newEmail();
    const res = await api("POST", "/api/auth/register", {
      json: {
        email: `  ${email.toUpperCase()} `,
        password: "a-good-password",
        displayName: " Cafe\u0301 ",
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.user.email).toBe(email);
    expect(res.body.user.displayName).toBe("Caf\u00e9");
  });

  it("ignores unknown fields, so a client can't set its own id, guest flag or hash", async () => {
    const email = newEmail();
    const res = await api("POST", "/api/auth/register", {
      json: {
        email,
        password: "a-good-password",
        displayName: "Mallory",
        id: "usr_chosen",
        isGuest: true,
        passwordHash: "$2b$04$nope",
        role: "owner",
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.user.id).not.toBe("usr_chosen");
    expect(res.body.user.isGuest).toBe(false);
    const login = await api("POST", "/api/auth/login", {
      json: { email, password: "a-good-password" },
    });
    expect(login.status).toBe(200);
  });
});

describe("login", () => {
  it("signs in with email and password and answers the same user", async () => {
    const u = await registerUser(api);
    const res = await api("POST", "/api/auth/login", {
      json: { email: u.email, password: u.password },
    });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: u.id, email: u.email, isGuest: false });
    expect((await api("GET", "/api/me", { token: res.body.token })).body.id).toBe(u.id);
  });

  it("matches the email case-insensitively and ignores surrounding spaces", async () => {
    const u = await registerUser(api);
    const res = await api("POST", "/api/auth/login", {
      json: { email: ` ${u.email?.toUpperCase()}  `, password: u.password },
    });
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(u.id);
  });

  it("starts a new, independent session each time", async () => {
    const u = await registerUser(api);
    const second = await api("POST", "/api/auth/login", {
      json: { email: u.email, password: u.password },
    });
    expect(second.body.refreshToken).not.toBe(u.refreshToken);
    expect(
      (await api("POST", "/api/auth/logout", { json: { refreshToken: u.refreshToken } })).status,
    ).toBe(204);
    expect((await api("GET", "/api/me", { token: u.token })).status).toBe(401);
    expect((await api("GET", "/api/me", { token: second.body.token })).status).toBe(200);
  });

  it("accepts a 256-character password and one with a NUL in the middle", async () => {
    for (const password of ["p".repeat(256), "nul\u0000inside-the-password"]) {
      const email = newEmail();
      const reg = await api("POST", "/api/auth/register", {
        json: { email, password, displayName: "Long" },
      });
      expect(reg.status).toBe(201);
      const login = await api("POST", "/api/auth/login", { json: { email, password } });
      expect(login.status).toBe(200);
    }
  });
});

describe("guest", () => {
  it("creates a guest with the given display name", async () => {
    const name = `Guest ${uniq()}`;
    const res = await api("POST", "/api/auth/guest", { json: { displayName: name } });
    expect(res.status).toBe(201);
    expect(res.body.user).toEqual({
      id: expect.stringMatching(/^usr_/),
      email: null,
      displayName: name,
      isGuest: true,
      createdAt: expect.stringMatching(ISO),
      lastSeenAt: null,
    });
    const me = await api("GET", "/api/me", { token: res.body.token });
    expect(me.body).toEqual(res.body.user);
  });

  it("names the guest itself when no body, or no displayName, is sent", async () => {
    for (const opts of [{}, { json: {} }]) {
      const res = await api("POST", "/api/auth/guest", opts);
      expect(res.status).toBe(201);
      expect(res.body.user.displayName).toMatch(/^Guest \w{4}$/);
    }
  });
});

describe("guest upgrade", () => {
  it("turns the guest into an email account with the same id and session", async () => {
    const guest = await guestUser(api);
    const email = newEmail();
    const res = await api("POST", "/api/auth/register", {
      token: guest.token,
      json: { email, password: "upgrade-password", displayName: "Upgraded" },
    });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({
      id: guest.id,
      email,
      displayName: "Upgraded",
      isGuest: false,
    });
    // Same session: the guest's access token keeps working and now sees the account.
    const me = await api("GET", "/api/me", { token: guest.token });
    expect(me.body).toMatchObject({ id: guest.id, email, isGuest: false });
    // The new refresh token works, and email + password sign in to the same id.
    const refreshed = await api("POST", "/api/auth/refresh", {
      json: { refreshToken: res.body.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    const login = await api("POST", "/api/auth/login", {
      json: { email, password: "upgrade-password" },
    });
    expect(login.body.user.id).toBe(guest.id);
  });

  it("keeps the guest's room memberships", async () => {
    const guest = await guestUser(api);
    const created = await api("POST", "/api/rooms", {
      token: guest.token,
      json: { name: `Guest room ${uniq()}`, isPrivate: true },
    });
    expect(created.status).toBe(201);
    const upgraded = await api("POST", "/api/auth/register", {
      token: guest.token,
      json: { email: newEmail(), password: "upgrade-password", displayName: "Owner now" },
    });
    expect(upgraded.status).toBe(201);
    const room = await api("GET", `/api/rooms/${created.body.id}`, { token: upgraded.body.token });
    expect(room.status).toBe(200);
    expect(room.body.ownerId).toBe(guest.id);
    const mine = await api("GET", "/api/rooms", { token: upgraded.body.token });
    expect(mine.body.items.map((i: { room: { id: string } }) => i.room.id)).toContain(
      created.body.id,
    );
  });
});

describe("refresh", () => {
  it("rotates: each refresh answers a new pair, and the chain keeps working", async () => {
    const u = await registerUser(api);
    let refreshToken = u.refreshToken;
    for (let i = 0; i < 3; i++) {
      const res = await api("POST", "/api/auth/refresh", { json: { refreshToken } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ token: expect.any(String), refreshToken: expect.any(String) });
      expect(res.body.refreshToken).not.toBe(refreshToken);
      expect((await api("GET", "/api/me", { token: res.body.token })).body.id).toBe(u.id);
      refreshToken = res.body.refreshToken;
    }
  });

  it("works for guests too", async () => {
    const g = await guestUser(api);
    const res = await api("POST", "/api/auth/refresh", { json: { refreshToken: g.refreshToken } });
    expect(res.status).toBe(200);
    expect((await api("GET", "/api/me", { token: res.body.token })).body.id).toBe(g.id);
  });
});

describe("logout", () => {
  it("answers 204 and ends the session: its access and refresh tokens stop working at once", async () => {
    const u = await registerUser(api);
    const res = await api("POST", "/api/auth/logout", { json: { refreshToken: u.refreshToken } });
    expect(res.status).toBe(204);
    expect(res.body).toBe("");
    expect((await api("GET", "/api/me", { token: u.token })).status).toBe(401);
    const refresh = await api("POST", "/api/auth/refresh", {
      json: { refreshToken: u.refreshToken },
    });
    expect(refresh.status).toBe(401);
  });

  it("is idempotent: logging out twice answers 204 both times", async () => {
    const u = await registerUser(api);
    for (let i = 0; i < 2; i++) {
      expect(
        (await api("POST", "/api/auth/logout", { json: { refreshToken: u.refreshToken } })).status,
      ).toBe(204);
    }
  });

  it("leaves the user's other sessions alone", async () => {
    const u = await registerUser(api);
    const other = await api("POST", "/api/auth/login", {
      json: { email: u.email, password: u.password },
    });
    await api("POST", "/api/auth/logout", { json: { refreshToken: other.body.refreshToken } });
    expect((await api("GET", "/api/me", { token: u.token })).status).toBe(200);
    const refreshed = await api("POST", "/api/auth/refresh", {
      json: { refreshToken: u.refreshToken },
    });
    expect(refreshed.status).toBe(200);
  });
});
