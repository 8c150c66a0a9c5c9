import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { apiClient } from "../helpers/api";
import { registerUser } from "../helpers/factories";
import { startService, useService } from "../helpers/service";
import { postUntilAnswered } from "../helpers/upload";

// The HTTP surface every route shares (reliability-testing §4.10): CORS, secure headers,
// caching, body limits, the error envelope, health, the OpenAPI document and the docs page.
const ALLOWED = "https://app.example.com";
const ALSO_ALLOWED = "https://admin.example.com";

const service = useService({
  ALLOWED_ORIGINS: ` ${ALLOWED} , ${ALSO_ALLOWED} `,
  AUTH_RATE_LIMIT: "100000",
});
const api = apiClient(service);

const preflight = (origin: string, path = "/api/auth/login") =>
  fetch(`${service.url}${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type, authorization",
    },
  });

const varyOf = (res: { headers: Headers }) =>
  (res.headers.get("vary") ?? "").split(",").map((v) => v.trim().toLowerCase());

describe("CORS", () => {
  it("answers a preflight from an allowed origin with that exact origin and Vary: Origin", async () => {
    for (const origin of [ALLOWED, ALSO_ALLOWED]) {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(varyOf(res)).toContain("origin");
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
      expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
        "authorization",
      );
    }
  });

  it("echoes an allowed origin exactly on the actual request and exposes Retry-After", async () => {
    const res = await api("POST", "/api/auth/guest", { headers: { origin: ALLOWED } });
    expect(res.status).toBe(201);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(varyOf(res)).toContain("origin");
    expect(res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain(
      "retry-after",
    );
  });

  it("allows the service's own origin (same-origin) without listing it", async () => {
    const res = await preflight(service.url);
    expect(res.headers.get("access-control-allow-origin")).toBe(service.url);
  });

  const refused = [
    "https://evil.example",
    "null",
    "https://app.example.com.evil.com",
    "https://evilapp.example.com",
    "https://evil-app.example.com",
    "http://app.example.com",
    "https://app.example.com:8443",
    "https://APP.EXAMPLE.COM",
    "https://app.example.com/",
    `${ALLOWED},https://evil.example`,
    "*",
  ];
  for (const origin of refused) {
    it(`gives no CORS grant to the origin ${JSON.stringify(origin)}`, async () => {
      const pre = await preflight(origin);
      expect(pre.headers.get("access-control-allow-origin")).toBeNull();
      const actual = await api("POST", "/api/auth/guest", { headers: { origin } });
      expect(actual.headers.get("access-control-allow-origin")).toBeNull();
      expect(actual.headers.get("access-control-allow-credentials")).toBeNull();
    });
  }

  it("never answers a wildcard origin, and never copies the request's Vary header", async () => {
    const res = await api("POST", "/api/auth/guest", {
      headers: { origin: ALLOWED, vary: "X-Injected" },
    });
    expect(res.headers.get("access-control-allow-origin")).not.toBe("*");
    expect(varyOf(res)).not.toContain("x-injected");
  });
});

describe("secure headers", () => {
  const expected: Record<string, string> = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=15552000; includeSubDomains",
    "cross-origin-opener-policy": "same-origin",
    "x-xss-protection": "0",
    "x-permitted-cross-domain-policies": "none",
  };

  it("are on successes, API errors and unknown routes alike", async () => {
    const responses = [
      await api("GET", "/health"),
      await api("POST", "/api/auth/guest"),
      await api("GET", "/api/me"),
      await api("GET", "/api/no-such-route"),
    ];
    for (const res of responses) {
      for (const [name, value] of Object.entries(expected)) {
        expect(res.headers.get(name), `${name} on a ${res.status}`).toBe(value);
      }
    }
  });
});

describe("Cache-Control", () => {
  it("is no-store on every auth answer: success, validation error, 401, 409", async () => {
    const u = await registerUser(api);
    const answers = [
      await api("POST", "/api/auth/guest"),
      await api("POST", "/api/auth/login", { json: { email: u.email, password: u.password } }),
      await api("POST", "/api/auth/refresh", { json: { refreshToken: u.refreshToken } }),
      await api("POST", "/api/auth/register", { json: {} }),
      await api("POST", "/api/auth/login", { json: { email: u.email, password: "wrong-one" } }),
      await api("POST", "/api/auth/register", {
        json: { email: u.email, password: "some-password", displayName: "Dup" },
      }),
      await api("POST", "/api/auth/logout", { json: { refreshToken: "x" } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([201, 200, 200, 400, 401, 409, 204]);
    for (const res of answers) {
      expect(res.headers.get("cache-control"), String(res.status)).toBe("no-store");
    }
  });

  it("is no-store on /api/me", async () => {
    const u = await registerUser(api);
    expect((await api("GET", "/api/me", { token: u.token })).headers.get("cache-control")).toBe(
      "no-store",
    );
  });
});

describe("body limit (64 KiB)", () => {
  const LIMIT = 64 * 1024;
  /** A JSON body of exactly `bytes` bytes. */
  const jsonOf = (bytes: number) => {
    const shell = JSON.stringify({ displayName: "" });
    return JSON.stringify({ displayName: "x".repeat(bytes - shell.length) });
  };

  it("lets a body of exactly 64 KiB through to validation", async () => {
    const body = jsonOf(LIMIT);
    expect(new TextEncoder().encode(body).length).toBe(LIMIT);
    const res = await api("POST", "/api/auth/guest", {
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(400);
  });

  it("refuses 64 KiB + 1 with 413 in the envelope", async () => {
    const res = await api("POST", "/api/auth/guest", {
      headers: { "content-type": "application/json" },
      body: jsonOf(LIMIT + 1),
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });

  it("refuses a chunked body (no Content-Length) over the limit, in small or large chunks", async () => {
    for (const [chunks, size] of [
      [65, 1024],
      [2, 40 * 1024],
    ] as const) {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < chunks; i++) {
            controller.enqueue(new TextEncoder().encode("x".repeat(size)));
          }
          controller.close();
        },
      });
      const res = await fetch(`${service.url}/api/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
        duplex: "half",
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
    }
  });

  it("answers a 10 MB chunked upload with 413 early, without reading it all", async () => {
    const TEN_MB = 10 * 1024 * 1024;
    const res = await postUntilAnswered(
      `${service.url}/api/auth/register`,
      new Uint8Array(TEN_MB).fill(0x78),
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "payload_too_large" } });
    expect(res.sent).toBeLessThan(TEN_MB);
  });
});

describe("routing", () => {
  // Under /api only: other paths without a file fall through to the web app (wrangler.toml).
  it("answers an unknown API route with 404 in the envelope", async () => {
    for (const [method, path] of [
      ["GET", "/api/nope"],
      ["DELETE", "/api/me"],
      ["POST", "/api/auth/nope"],
      ["GET", "/api/auth/login"],
    ] as const) {
      const res = await api(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
  });

  it("never serves /api/me without a token through path tricks", async () => {
    for (const path of [
      "/api//me",
      "/API/me",
      "/api/me/",
      "/api/./me",
      "/api/x/../me",
      "/api/%6De",
    ]) {
      const res = await api("GET", path);
      if (res.status === 200) {
        // A path outside /api may fall through to the web app's shell, never to user data.
        expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
      } else {
        expect([401, 404], `${path} -> ${res.status}`).toContain(res.status);
      }
    }
  });

  it("answers /health with 200 {ok: true}", async () => {
    const res = await api("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });
});

describe("API reference", () => {
  it("serves /openapi.json as OpenAPI 3.1 listing exactly the routes the app registers", async () => {
    const res = await api("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    const documented = new Set(
      Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, ops]) =>
          Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
      ),
    );
    // The app's own route table (built in Node: the app uses web-standard APIs only).
    const registered = new Set(
      createApp()
        .routes.filter((r) => r.path.startsWith("/api/") && r.method !== "ALL")
        .map((r) => `${r.method} ${r.path}`),
    );
    for (const route of [
      "POST /api/auth/register",
      "POST /api/auth/login",
      "POST /api/auth/guest",
      "POST /api/auth/refresh",
      "POST /api/auth/logout",
      "GET /api/me",
      "PATCH /api/me",
    ]) {
      expect(registered).toContain(route);
    }
    for (const route of registered) {
      expect(documented, `${route} is missing from /openapi.json`).toContain(route);
    }
    for (const route of documented) {
      expect(registered, `${route} is documented but not served`).toContain(route);
    }
  });

  it("documents the auth bodies from the same zod schemas that validate them", async () => {
    const doc = (await api("GET", "/openapi.json")).body;
    const register =
      doc.paths["/api/auth/register"].post.requestBody.content["application/json"].schema;
    expect(register.required).toEqual(expect.arrayContaining(["email", "password", "displayName"]));
    expect(doc.paths["/api/auth/login"].post.responses).toHaveProperty("429");
  });

  it("serves /docs as an HTML reference page pointing at /openapi.json", async () => {
    const res = await fetch(`${service.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("/openapi.json");
    expect(html).toMatch(/<title>[^<]*API[^<]*<\/title>/i);
  });
});

describe("a misconfigured or unreachable backing store", () => {
  it("answers 503 unavailable with Retry-After when TURSO_DATABASE_URL is not set, and /health still answers", async () => {
    const broken = await startService({ TURSO_DATABASE_URL: "" });
    try {
      const bapi = apiClient(broken.url);
      const res = await bapi("POST", "/api/auth/guest");
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("unavailable");
      expect(res.body.error.message).toContain("TURSO_DATABASE_URL");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await bapi("GET", "/health")).status).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it("answers 503 unavailable, not 500, when the database can't be reached", async () => {
    const down = await startService({ TURSO_DATABASE_URL: "http://127.0.0.1:9" });
    try {
      const res = await apiClient(down.url)("POST", "/api/auth/guest");
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("unavailable");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(JSON.stringify(res.body)).not.toMatch(/127\.0\.0\.1|stack|at /);
    } finally {
      await down.close();
    }
  });
});
