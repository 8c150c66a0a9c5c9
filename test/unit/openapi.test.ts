import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";

// The HTTP app uses web-standard APIs only, so it builds and answers in plain Node too.
describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists every API route the app registers", async () => {
    const app = createApp();
    const res = await app.request("http://127.0.0.1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe("3.1.0");
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
      ),
    );
    const registered = app.routes
      .filter((r) => r.path.startsWith("/api/") && r.method !== "ALL")
      .map((r) => `${r.method} ${r.path}`);
    expect(registered.length).toBeGreaterThan(0);
    for (const route of registered) {
      expect(documented, `${route} is missing from /openapi.json`).toContain(route);
    }
  });
});
