import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Three worlds (STYLE §11): pure modules and dev tools run in plain Node ("unit"); the Worker,
// its Durable Objects and a real libSQL server run together in "integration", driven from Node
// with real WebSocket clients through wrangler's test harness (miniflare + workerd); "browser"
// drives the web app in Debian's Chromium with Playwright against the same real service.
//
// The browser project runs where Chromium is installed, and always in CI (.ci/run installs it),
// so `npm test` is green on a fresh machine without a browser and nothing is ever skipped.
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const withBrowser = existsSync(chromium) || process.env.CI === "true";
if (!withBrowser) {
  console.warn(
    `[vitest] browser tests not run: no Chromium at ${chromium} (apt-get install -y chromium, then npm test)`,
  );
}

const service = {
  environment: "node",
  globalSetup: ["test/integration/global-setup.ts"],
  hookTimeout: 120_000,
};

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
          testTimeout: 60_000,
          ...service,
        },
      },
      ...(withBrowser
        ? [
            {
              test: {
                name: "browser",
                include: ["test/browser/**/*.test.ts"],
                testTimeout: 120_000,
                ...service,
              },
            },
          ]
        : []),
    ],
  },
});
