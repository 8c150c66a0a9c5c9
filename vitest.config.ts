import { defineConfig } from "vitest/config";

// Two worlds (STYLE §11): pure modules and dev tools run in plain Node ("unit"); the Worker,
// its Durable Objects and a real libSQL server run together in "integration", driven from
// Node with real WebSocket clients through wrangler's test harness (miniflare + workerd).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/integration/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
