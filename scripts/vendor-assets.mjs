// Runs after `npm install` (on whatever Node ran npm, so plain JS): copies the browser files the
// Worker serves as static assets out of node_modules into public/vendor (git-ignored), so /docs
// works offline and nothing third-party is committed.
import { cpSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "public", "vendor", "swagger-ui");
mkdirSync(out, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
  cpSync(join(root, "node_modules", "swagger-ui-dist", file), join(out, file));
}
