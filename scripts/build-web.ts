// Builds the web app (web/) into public/, where the Worker's static assets are served from.
// wrangler.toml's [build] runs it before `wrangler dev`, `wrangler deploy` and the test build, so
// the page can never be older than the SDK it is bundled with. Run by hand: node scripts/build-web.ts
//
// Output (git-ignored): public/index.html, public/_headers, public/favicon.svg, public/app/*.
// Names are not content-hashed: Workers static assets answer with an ETag and
// `Cache-Control: public, max-age=0, must-revalidate`, so browsers revalidate every load and
// never run a stale bundle against a newer index.html.
//
// Every file is published atomically (written beside its place, then renamed over it) and left
// alone when unchanged: a running `wrangler dev` or test service serves public/ straight from disk,
// and several builds may run at once (each test run builds), so a page load must never find a
// file missing or half written.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const web = join(root, "web");
const out = join(root, "public");
const appOut = join(out, "app");

/** Files copied as they are. `_headers` sets the page's security headers (CSP) on static assets. */
const STATIC_FILES = ["index.html", "_headers", "favicon.svg"];

/** A build takes well under a second; a temp file older than this was left by one that died. */
const STALE_TEMP_MS = 60_000;

/** Writes `contents` to `path` unless it already holds exactly that; returns whether it wrote. */
async function publish(path: string, contents: Uint8Array): Promise<boolean> {
  const current = await readFile(path).catch(() => null);
  if (current?.equals(contents)) {
    return false;
  }
  const temp = `${path}.tmp-${crypto.randomUUID()}`;
  await writeFile(temp, contents);
  await rename(temp, path);
  return true;
}

/** A temp file no running build can still be writing. */
async function isStale(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  return info !== null && Date.now() - info.mtimeMs > STALE_TEMP_MS;
}

async function main(): Promise<void> {
  const started = performance.now();
  await mkdir(appOut, { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: join(web, "main.ts"), styles: join(web, "styles.css") },
    outdir: appOut,
    write: false,
    bundle: true,
    format: "esm",
    platform: "browser",
    // Evergreen browsers of the last ~3 years (WebSocket, fetch, <dialog>, dvh units).
    target: ["es2022", "chrome110", "firefox110", "safari16"],
    minify: true,
    sourcemap: "linked",
    logLevel: "warning",
  });

  let written = 0;
  const outputs = new Set<string>();
  for (const file of result.outputFiles) {
    outputs.add(basename(file.path));
    written += Number(await publish(file.path, file.contents));
  }
  for (const name of STATIC_FILES) {
    written += Number(await publish(join(out, name), await readFile(join(web, name))));
  }
  // Files an older build made under other names. Temp files are another build's work in
  // progress, unless they are old: then a build died between write and rename.
  for (const name of await readdir(appOut)) {
    if (!outputs.has(name) && (!name.includes(".tmp-") || (await isStale(join(appOut, name))))) {
      await rm(join(appOut, name), { force: true });
    }
  }
  for (const name of await readdir(out)) {
    if (name.includes(".tmp-") && (await isStale(join(out, name)))) {
      await rm(join(out, name), { force: true });
    }
  }

  const sizes = result.outputFiles
    .filter((f) => !f.path.endsWith(".map"))
    .map((f) => `${relative(root, f.path)} ${(f.contents.length / 1024).toFixed(1)} KiB`);
  const ms = Math.round(performance.now() - started);
  console.log(`[build-web] ${sizes.join(", ")}; ${written} file(s) changed (${ms} ms)`);
}

main().catch((error: unknown) => {
  console.error("[build-web] failed:", error);
  process.exitCode = 1;
});
