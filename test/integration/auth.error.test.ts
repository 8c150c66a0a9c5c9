import { type Client, createClient } from "@libsql/client";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ApiResponse, apiClient } from "../helpers/api";
import { registerUser, type TestUser, uniq } from "../helpers/factories";
import { useService } from "../helpers/service";

// The input corpus (reliability-testing §4.9, IN-*) against every auth body field: every case
// ends in a 4xx in the error envelope (apiClient checks the envelope), never a 5xx, and writes
// nothing. The per-IP budget is raised: this file sends a few hundred requests from one address.
const service = useService({ AUTH_RATE_LIMIT: "100000" });
const api = apiClient(service);
let db: Client;

beforeAll(async () => {
  db = createClient({ url: inject("libsqlUrl") });
});

afterAll(async () => {
  db?.close();
});

const MISSING = Symbol("missing");
interface Case {
  label: string;
  value: unknown;
  /** 400 unless the value is well-formed but simply wrong. */
  status?: number;
}

const typeCases: Case[] = [
  { label: "missing", value: MISSING },
  { label: "null", value: null },
  { label: "a number", value: 12345678 },
  { label: "a boolean", value: true },
  { label: "an array", value: ["a@example.test"] },
  { label: "an object", value: { $ne: "" } },
];

const emailCases: Case[] = [
  ...typeCases,
  { label: "empty", value: "" },
  { label: "whitespace-only", value: "    " },
  { label: "zero-width-only", value: "\u200b" },
  {
    label: "overlong (255 chars)",
    value: `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.test`,
  },
  { label: "very long (10k chars)", value: `${"a".repeat(10_000)}@example.test` },
  { label: "NUL-containing", value: "a\u0000b@example.test" },
  { label: "bidi-override", value: "\u202eab@example.test" },
  { label: "lone-surrogate", value: "a\ud800@example.test" },
  { label: "dotless-domain", value: "a@b" },
  { label: "at-less", value: "not-an-email" },
  { label: "double-at", value: "a@b@example.test" },
  { label: "SQL-ish", value: "' OR 1=1--@example.test" },
];

const registerPasswordCases: Case[] = [
  ...typeCases,
  { label: "empty", value: "" },
  { label: "whitespace-only", value: "          " },
  { label: "zero-width-only", value: "\u200b".repeat(8) },
  { label: "7-character", value: "1234567" },
  { label: "257-character", value: "x".repeat(257) },
  { label: "10k-character", value: "x".repeat(10_000) },
  { label: "lone-surrogate", value: "abcdefgh\ud800" },
];

const loginPasswordCases: Case[] = [
  ...typeCases,
  { label: "empty", value: "" },
  { label: "257-character", value: "x".repeat(257) },
  { label: "lone-surrogate", value: "abcdefgh\udc00" },
];

const displayNameCases: Case[] = [
  ...typeCases.filter((c) => c.value !== MISSING),
  { label: "empty", value: "" },
  { label: "whitespace-only", value: "   \t " },
  { label: "zero-width-only", value: "\u200b\u200d" },
  { label: "Hangul-filler-only", value: "\u3164\u3164" },
  { label: "65-character", value: "x".repeat(65) },
  { label: "10k-character", value: "x".repeat(10_000) },
  { label: "NUL-containing", value: "a\u0000b" },
  { label: "newline-containing", value: "two\nlines" },
  { label: "bidi-override", value: "admin\u202etxt.exe" },
  { label: "bidi-isolate", value: "a\u2066b\u2069" },
  { label: "lone-surrogate", value: "a\ud800b" },
  { label: "zalgo", value: `Z${"\u0336\u0337".repeat(30)}` },
];

const refreshTokenCases: Case[] = [
  ...typeCases,
  { label: "empty", value: "" },
  { label: "513-character", value: "x".repeat(513) },
  { label: "whitespace-only", value: "   ", status: 401 },
  { label: "NUL", value: "\u0000", status: 401 },
  { label: "lone-surrogate", value: "\ud800", status: 401 },
  { label: "access-token-shaped", value: "eyJhbGciOiJIUzI1NiJ9.e30.sig", status: 401 },
  { label: "session-less", value: ".abc.def", status: 401 },
];

function withField(body: Record<string, unknown>, field: string, value: unknown) {
  const copy = { ...body };
  if (value === MISSING) {
    delete copy[field];
  } else {
    copy[field] = value;
  }
  return copy;
}

function expectRefused(res: ApiResponse<any>, status: number) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  if (status === 400) {
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.length).toBeGreaterThan(0);
  }
}

async function count(sql: string, ...args: Array<string | number>): Promise<number> {
  const rs = await db.execute({ sql, args });
  return Number(rs.rows[0]?.n);
}

const usersWith = (email: string, displayName: string) =>
  count("SELECT count(*) AS n FROM users WHERE email = ? OR display_name = ?", email, displayName);

async function sessionState(u: TestUser) {
  const sid = decodeJwt(u.token).sid as string;
  const rs = await db.execute({
    sql: "SELECT refresh_token_hash, revoked_at, expires_at FROM sessions WHERE id = ?",
    args: [sid],
  });
  return rs.rows[0];
}

const sessionsOf = (u: TestUser) =>
  count("SELECT count(*) AS n FROM sessions WHERE user_id = ?", u.id);

describe("register refuses bad input and writes nothing", () => {
  const valid = () => ({
    email: `err-${crypto.randomUUID()}@example.test`,
    password: "a-valid-password",
    displayName: `Valid ${uniq()}`,
  });
  const fields: Array<[string, Case[]]> = [
    ["email", emailCases],
    ["password", registerPasswordCases],
    ["displayName", [{ label: "missing", value: MISSING }, ...displayNameCases]],
  ];
  for (const [field, cases] of fields) {
    for (const c of cases) {
      it(`answers ${c.status ?? 400} to a ${c.label} ${field}`, async () => {
        const body = valid();
        const res = await api("POST", "/api/auth/register", {
          json: withField(body, field, c.value),
        });
        expectRefused(res, c.status ?? 400);
        expect(await usersWith(body.email, body.displayName)).toBe(0);
      });
    }
  }
});

describe("login refuses bad input and writes nothing", () => {
  const fields: Array<[string, Case[]]> = [
    ["email", emailCases],
    ["password", loginPasswordCases],
  ];
  for (const [field, cases] of fields) {
    it(`answers 400 to every bad ${field} and starts no session`, async () => {
      const u = await registerUser(api);
      for (const c of cases) {
        const body = withField({ email: u.email, password: u.password }, field, c.value);
        expectRefused(await api("POST", "/api/auth/login", { json: body }), c.status ?? 400);
      }
      expect(await sessionsOf(u)).toBe(1);
    });
  }

  it("answers the generic 401 to a whitespace-only or wrong password (well-formed, just wrong)", async () => {
    const u = await registerUser(api);
    for (const password of ["        ", `${u.password}\u0000`, u.password?.toUpperCase()]) {
      expectRefused(
        await api("POST", "/api/auth/login", { json: { email: u.email, password } }),
        401,
      );
    }
    expect(await sessionsOf(u)).toBe(1);
  });
});

describe("guest refuses bad input and writes nothing", () => {
  for (const c of displayNameCases) {
    it(`answers 400 to a ${c.label} displayName`, async () => {
      const res = await api("POST", "/api/auth/guest", { json: { displayName: c.value } });
      expectRefused(res, 400);
      if (typeof c.value === "string") {
        expect(await count("SELECT count(*) AS n FROM users WHERE display_name = ?", c.value)).toBe(
          0,
        );
      }
    });
  }
});

describe("refresh and logout refuse bad input and change nothing", () => {
  for (const path of ["/api/auth/refresh", "/api/auth/logout"]) {
    it(`${path} answers 4xx to every bad refreshToken and leaves the session as it was`, async () => {
      const u = await registerUser(api);
      const before = await sessionState(u);
      for (const c of refreshTokenCases) {
        const res = await api("POST", path, { json: withField({}, "refreshToken", c.value) });
        const expected = path.endsWith("logout") && c.status === 401 ? 204 : (c.status ?? 400);
        expect(res.status, `${c.label}: ${JSON.stringify(res.body)}`).toBe(expected);
      }
      expect(await sessionState(u)).toEqual(before);
      expect((await api("GET", "/api/me", { token: u.token })).status).toBe(200);
    });
  }
});

describe("every auth route refuses malformed bodies with a 4xx envelope", () => {
  const routes = ["register", "login", "guest", "refresh", "logout"].map((r) => `/api/auth/${r}`);
  const json = { "content-type": "application/json" };
  const raw: Array<{
    label: string;
    headers: Record<string, string>;
    body: string;
    status: number;
  }> = [
    { label: "non-JSON", headers: json, body: "{not json", status: 400 },
    { label: "truncated JSON", headers: json, body: '{"email":"a@example.test"', status: 400 },
    { label: "an empty JSON body", headers: json, body: "", status: 400 },
    { label: "a JSON array", headers: json, body: "[]", status: 400 },
    { label: "JSON null", headers: json, body: "null", status: 400 },
    { label: "a JSON string", headers: json, body: '"hello"', status: 400 },
    { label: "a JSON number", headers: json, body: "1e309", status: 400 },
    {
      label: "a nested depth bomb",
      headers: json,
      body: `{"email":${"[".repeat(20_000)}${"]".repeat(20_000)},"displayName":${'{"a":'.repeat(3000)}1${"}".repeat(3000)}}`,
      status: 400,
    },
    {
      label: "a top-level depth bomb",
      headers: json,
      body: `${"[".repeat(30_000)}${"]".repeat(30_000)}`,
      status: 400,
    },
    {
      label: "JSON sent as text/plain",
      headers: { "content-type": "text/plain" },
      body: '{"email":"a@example.test","password":"a-valid-password"}',
      status: 415,
    },
    {
      label: "a form-encoded body",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=a%40example.test&password=a-valid-password",
      status: 415,
    },
    {
      label: "a body with no content-type",
      headers: {},
      body: '{"email":"a@example.test","password":"a-valid-password"}',
      status: 415,
    },
    {
      label: "a body over 64 KiB",
      headers: json,
      body: JSON.stringify({ email: "a@example.test", password: "x".repeat(70_000) }),
      status: 413,
    },
  ];
  for (const route of routes) {
    for (const c of raw) {
      it(`${route} answers ${c.status} to ${c.label}`, async () => {
        const res = await api("POST", route, { headers: c.headers, body: c.body });
        expect(res.status, JSON.stringify(res.body)).toBe(c.status);
      });
    }
  }
});

describe("field quirks that are accepted on purpose", () => {
  it("resolves duplicate keys to the last one (JSON.parse), never to a mix", async () => {
    const email = `dup-${crypto.randomUUID()}@example.test`;
    const body = `{"email":"first-${email}","email":"${email}","password":"a-valid-password","displayName":"Dup"}`;
    const res = await api("POST", "/api/auth/register", {
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(201);
    expect(res.body.user.email).toBe(email);
    expect(await count("SELECT count(*) AS n FROM users WHERE email = ?", `first-${email}`)).toBe(
      0,
    );
  });

  it("ignores __proto__ and constructor keys instead of merging them into anything", async () => {
    const email = `proto-${crypto.randomUUID()}@example.test`;
    const body = `{"__proto__":{"isGuest":true,"email":"x@evil.test"},"constructor":{"prototype":{"polluted":1}},"email":"${email}","password":"a-valid-password","displayName":"Proto"}`;
    const res = await api("POST", "/api/auth/register", {
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ email, isGuest: false });
  });

  it("accepts a content-type with a charset parameter", async () => {
    const res = await api("POST", "/api/auth/guest", {
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({ displayName: "Charset" }),
    });
    expect(res.status).toBe(201);
  });
});
