import { type Client, createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Api, type ApiResponse, apiClient, type CallOptions } from "../helpers/api";
import { type Service, startService } from "../helpers/service";

// Per-IP budgets (AUTH_RATE_LIMIT per AUTH_RATE_WINDOW_MS, per action) and the per-account
// login-failure limit, kept in the RateLimiter Durable Object. cf-connecting-ip is what
// Cloudflare sets in production; the local server doesn't, so tests set it to act as many IPs.
// Every test uses fresh random IPs and accounts, so tests never share a budget.
let three: Service; // AUTH_RATE_LIMIT=3: a limit taken from config
let defaults: Service; // wrangler.toml defaults: 20/min per IP, 10 failures per 15 min
let db: Client;

beforeAll(async () => {
  [three, defaults] = await Promise.all([startService({ AUTH_RATE_LIMIT: "3" }), startService()]);
  db = createClient({ url: inject("libsqlUrl") });
});

afterAll(async () => {
  db?.close();
  await Promise.all([three?.close(), defaults?.close()]);
});

const randomIp = () => {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
};

/** An API client whose every request comes from `ip`. */
function fromIp(service: Service, ip = randomIp()): Api {
  const api = apiClient(service.url);
  return (method: string, path: string, opts: CallOptions = {}) =>
    api(method, path, { ...opts, headers: { ...opts.headers, "cf-connecting-ip": ip } });
}

const newEmail = () => `rl-${crypto.randomUUID()}@example.test`;
const PASSWORD = "rate-limit-password";

async function register(api: Api, email = newEmail()) {
  const res = await api("POST", "/api/auth/register", {
    json: { email, password: PASSWORD, displayName: "Limited" },
  });
  return { res, email };
}

function expectLimited(res: ApiResponse<any>, maxRetrySeconds: number) {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body.error.code).toBe("rate_limited");
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxRetrySeconds);
}

// With 3 per 60 s, a refusal waits at most one window plus a third of one (sliding-window.ts).
const MAX_RETRY_3_PER_MIN = 80;

describe("per-IP limits (AUTH_RATE_LIMIT=3 from config)", () => {
  it("refuses the 4th register from one IP with 429 + Retry-After, writes nothing, and lets another IP in", async () => {
    const api = fromIp(three);
    for (let i = 0; i < 3; i++) {
      expect((await register(api)).res.status).toBe(201);
    }
    const fourth = await register(api);
    expectLimited(fourth.res, MAX_RETRY_3_PER_MIN);
    const rs = await db.execute({
      sql: "SELECT id FROM users WHERE email = ?",
      args: [fourth.email],
    });
    expect(rs.rows).toHaveLength(0);
    expect((await register(fromIp(three))).res.status).toBe(201);
  });

  it("refuses the 4th login from one IP, even with the right password, and lets another IP in", async () => {
    const { email } = await register(fromIp(three));
    const api = fromIp(three);
    const login = () => api("POST", "/api/auth/login", { json: { email, password: PASSWORD } });
    for (let i = 0; i < 3; i++) {
      expect((await login()).status).toBe(200);
    }
    expectLimited(await login(), MAX_RETRY_3_PER_MIN);
    const other = await fromIp(three)("POST", "/api/auth/login", {
      json: { email, password: PASSWORD },
    });
    expect(other.status).toBe(200);
  });

  it("refuses the 4th guest sign-in from one IP and lets another IP in", async () => {
    const api = fromIp(three);
    for (let i = 0; i < 3; i++) {
      expect((await api("POST", "/api/auth/guest")).status).toBe(201);
    }
    expectLimited(await api("POST", "/api/auth/guest"), MAX_RETRY_3_PER_MIN);
    expect((await fromIp(three)("POST", "/api/auth/guest")).status).toBe(201);
  });

  it("refuses the 4th refresh from one IP without spending the token, which then works elsewhere", async () => {
    const { res } = await register(fromIp(three));
    const api = fromIp(three);
    let refreshToken: string = res.body.refreshToken;
    for (let i = 0; i < 3; i++) {
      const r = await api("POST", "/api/auth/refresh", { json: { refreshToken } });
      expect(r.status).toBe(200);
      refreshToken = r.body.refreshToken;
    }
    expectLimited(
      await api("POST", "/api/auth/refresh", { json: { refreshToken } }),
      MAX_RETRY_3_PER_MIN,
    );
    const elsewhere = await fromIp(three)("POST", "/api/auth/refresh", { json: { refreshToken } });
    expect(elsewhere.status).toBe(200);
  });

  it("keeps a separate budget per action: using up guest sign-ins leaves register open", async () => {
    const api = fromIp(three);
    for (let i = 0; i < 3; i++) {
      await api("POST", "/api/auth/guest");
    }
    expect((await api("POST", "/api/auth/guest")).status).toBe(429);
    expect((await register(api)).res.status).toBe(201);
  });

  it("counts a register of an existing email (409) against the IP's budget", async () => {
    const { email } = await register(fromIp(three));
    const api = fromIp(three);
    for (let i = 0; i < 3; i++) {
      expect((await register(api, email)).res.status).toBe(409);
    }
    expectLimited((await register(api, email)).res, MAX_RETRY_3_PER_MIN);
  });

  it("does not count requests refused by validation (they cost no hashing)", async () => {
    const api = fromIp(three);
    for (let i = 0; i < 5; i++) {
      const bad = await api("POST", "/api/auth/register", { json: { email: "nope" } });
      expect(bad.status).toBe(400);
    }
    expect((await register(api)).res.status).toBe(201);
  });
});

describe("per-IP limits at the defaults", () => {
  it("refuses the 21st register from one IP within a minute (AUTH_RATE_LIMIT=20)", async () => {
    const api = fromIp(defaults);
    for (let i = 0; i < 20; i++) {
      expect((await register(api)).res.status).toBe(201);
    }
    expectLimited((await register(api)).res, 60 + 3);
  });
});

describe("per-account login failures (LOGIN_FAILURE_LIMIT=10 per 15 min)", () => {
  const login = (email: string, password: string) =>
    fromIp(defaults)("POST", "/api/auth/login", { json: { email, password } });

  it("refuses the 11th attempt after 10 failures with 429 even with the right password, from any IP", async () => {
    const { email } = await register(fromIp(defaults));
    for (let i = 0; i < 10; i++) {
      expect((await login(email, `wrong-password-${i}`)).status).toBe(401);
    }
    const right = await login(email, PASSWORD);
    expectLimited(right, 15 * 60 + 90);
    expect(right.body.error.message).not.toMatch(/password/i);
  });

  it("answers an unknown email the same way, so the lockout reveals no accounts", async () => {
    const email = newEmail();
    for (let i = 0; i < 10; i++) {
      expect((await login(email, "wrong-password")).status).toBe(401);
    }
    expectLimited(await login(email, "wrong-password"), 15 * 60 + 90);
  });

  it("clears the failures on a successful sign-in", async () => {
    const { email } = await register(fromIp(defaults));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 9; i++) {
        expect((await login(email, "wrong-password")).status).toBe(401);
      }
      expect((await login(email, PASSWORD)).status).toBe(200);
    }
  });

  it("locks only that account: another account signs in from the same IP", async () => {
    const victim = await register(fromIp(defaults));
    const other = await register(fromIp(defaults));
    const attacker = fromIp(defaults);
    for (let i = 0; i < 10; i++) {
      await attacker("POST", "/api/auth/login", {
        json: { email: victim.email, password: "guess" },
      });
    }
    const res = await attacker("POST", "/api/auth/login", {
      json: { email: other.email, password: PASSWORD },
    });
    expect(res.status).toBe(200);
  });

  it("trade-off (BF-2): an attacker's failures lock the victim out of password sign-in, but not out of existing sessions", async () => {
    const victim = await register(fromIp(defaults));
    const attacker = fromIp(defaults);
    for (let i = 0; i < 10; i++) {
      await attacker("POST", "/api/auth/login", {
        json: { email: victim.email, password: "guess" },
      });
    }
    // The victim, from their own IP, is locked out of new sign-ins until the window passes...
    expect((await login(victim.email, PASSWORD)).status).toBe(429);
    // ...but a session they already had keeps working, refresh included.
    const api = fromIp(defaults);
    expect((await api("GET", "/api/me", { token: victim.res.body.token })).status).toBe(200);
    const refreshed = await api("POST", "/api/auth/refresh", {
      json: { refreshToken: victim.res.body.refreshToken },
    });
    expect(refreshed.status).toBe(200);
  });
});

describe("Retry-After", () => {
  it("is honest: after waiting that long the same request is allowed", async () => {
    const tiny = await startService({ AUTH_RATE_LIMIT: "1", AUTH_RATE_WINDOW_MS: "1000" });
    try {
      const api = fromIp(tiny);
      expect((await api("POST", "/api/auth/guest")).status).toBe(201);
      const refused = await api("POST", "/api/auth/guest");
      expectLimited(refused, 2);
      await new Promise((r) => setTimeout(r, Number(refused.headers.get("retry-after")) * 1000));
      expect((await api("POST", "/api/auth/guest")).status).toBe(201);
    } finally {
      await tiny.close();
    }
  });
});
