import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes SQL migrations from src/db/schema.ts into migrations/.
// `npm run db:migrate` applies them to TURSO_DATABASE_URL (+ TURSO_AUTH_TOKEN), e.g. Turso.
export default defineConfig({
  dialect: "turso",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  casing: "snake_case",
  dbCredentials: {
    url: process.env.TURSO_DATABASE_URL ?? "http://127.0.0.1:18080",
    authToken: process.env.TURSO_AUTH_TOKEN,
  },
});
