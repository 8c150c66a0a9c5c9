import { describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api";
import { guestUser, registerUser, uniq } from "../helpers/factories";
import { useService } from "../helpers/service";

const service = useService({ AUTH_RATE_LIMIT: "100000" });
const api = apiClient(service);

describe("GET /api/me", () => {
  it("answers the signed-in user", async () => {
    const u = await registerUser(api);
    const res = await api("GET", "/api/me", { token: u.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: u.id,
      email: u.email,
      displayName: u.displayName,
      isGuest: false,
      createdAt: expect.any(String),
      lastSeenAt: null,
    });
  });

  it("answers a guest with email null", async () => {
    const g = await guestUser(api);
    const res = await api("GET", "/api/me", { token: g.token });
    expect(res.body).toMatchObject({ id: g.id, email: null, isGuest: true });
  });

  it("answers 401 in the envelope without a token, with a malformed one, and after logout", async () => {
    expect((await api("GET", "/api/me")).body.error.code).toBe("unauthorized");
    expect((await api("GET", "/api/me", { token: "x.y.z" })).status).toBe(401);
    const u = await registerUser(api);
    await api("POST", "/api/auth/logout", { json: { refreshToken: u.refreshToken } });
    expect((await api("GET", "/api/me", { token: u.token })).status).toBe(401);
  });

  it("is never cached: Cache-Control no-store on success and on 401", async () => {
    const u = await registerUser(api);
    expect((await api("GET", "/api/me", { token: u.token })).headers.get("cache-control")).toBe(
      "no-store",
    );
    expect((await api("GET", "/api/me")).headers.get("cache-control")).toBe("no-store");
  });
});

describe("PATCH /api/me", () => {
  it("changes the display name, trimmed and NFC, and GET /me shows it", async () => {
    const u = await registerUser(api);
    const name = `  Rene\u0301 ${uniq()} `;
    const res = await api("PATCH", "/api/me", { token: u.token, json: { displayName: name } });
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBe(name.normalize("NFC").trim());
    expect((await api("GET", "/api/me", { token: u.token })).body.displayName).toBe(
      res.body.displayName,
    );
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("works for guests", async () => {
    const g = await guestUser(api);
    const res = await api("PATCH", "/api/me", {
      token: g.token,
      json: { displayName: "Renamed guest" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: g.id, displayName: "Renamed guest", isGuest: true });
  });

  it("changes nothing but the display name, whatever else is sent", async () => {
    const u = await registerUser(api);
    const res = await api("PATCH", "/api/me", {
      token: u.token,
      json: { displayName: "Only this", email: "other@example.test", isGuest: true, id: "usr_x" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: u.id,
      email: u.email,
      isGuest: false,
      displayName: "Only this",
    });
  });

  it("answers 401 without a token, before looking at the body", async () => {
    const res = await api("PATCH", "/api/me", { json: { displayName: 42 } });
    expect(res.status).toBe(401);
  });

  it("refuses every bad display name with 400 and keeps the old one", async () => {
    const u = await registerUser(api);
    const bad: unknown[] = [
      undefined,
      null,
      42,
      true,
      [],
      {},
      "",
      "   ",
      "\u200b",
      "x".repeat(65),
      "a\u0000b",
      "two\nlines",
      "a\u202eb",
      "a\ud800b",
      `Z${"\u0336".repeat(40)}`,
    ];
    for (const displayName of bad) {
      const res = await api("PATCH", "/api/me", { token: u.token, json: { displayName } });
      expect(res.status, JSON.stringify(displayName)).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect((await api("GET", "/api/me", { token: u.token })).body.displayName).toBe(u.displayName);
  });

  it("refuses malformed bodies with 4xx: non-JSON 400, text/plain 415, over 64 KiB 413", async () => {
    const u = await registerUser(api);
    const send = (headers: Record<string, string>, body: string) =>
      api("PATCH", "/api/me", { token: u.token, headers, body });
    expect((await send({ "content-type": "application/json" }, "{nope")).status).toBe(400);
    expect((await send({ "content-type": "text/plain" }, '{"displayName":"x"}')).status).toBe(415);
    const huge = JSON.stringify({ displayName: "x".repeat(70_000) });
    expect((await send({ "content-type": "application/json" }, huge)).status).toBe(413);
    expect((await api("GET", "/api/me", { token: u.token })).body.displayName).toBe(u.displayName);
  });
});
