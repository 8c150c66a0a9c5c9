import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type {
  Browser,
  BrowserContext,
  BrowserContextOptions,
  Locator,
  Page,
} from "playwright-core";

/**
 * Drives the web app (web/) the way a person does: by visible labels, roles and text. Shared by
 * the browser tests; nothing here talks to the API directly.
 */

const root = resolve(import.meta.dirname, "../..");

/** Debian's chromium (apt-get install chromium); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM_PATH);

/**
 * Flags that work on these machines (docs/web-app.md): no sandbox as root, no GPU, and none of
 * Chromium's background connections, which a closed network refuses many at a time.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const SCREENSHOTS_DIR = join(root, "test-results", "screenshots");

/** How long a person-visible change may take to show (a live frame, a reconnect...). */
export const SEEN_WITHIN_MS = 15_000;

export interface User {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in the page: a test ends by asserting there were none. */
  errors: string[];
}

/** A fresh browser profile (its own localStorage) with one page. */
export async function openUser(
  browser: Browser,
  name: string,
  options: BrowserContextOptions = {},
): Promise<User> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: "en-US",
    timezoneId: "UTC",
    ...options,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
  return { name, context, page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  // Caret blinking and focus rings are the only moving parts; hide the caret so shots are stable.
  await page.screenshot({ path, caret: "hide" });
  return path;
}

/**
 * Copies a screenshot into docs/ (the README shows it) when UPDATE_SCREENSHOTS is set, so an
 * ordinary test run leaves the committed picture alone.
 */
export function publishScreenshot(path: string, docsName: string): void {
  if (process.env.UPDATE_SCREENSHOTS) {
    copyFileSync(path, join(root, "docs", docsName));
  }
}

export const composer = (page: Page): Locator => page.getByRole("textbox", { name: /^Message / });
export const messages = (page: Page): Locator => page.locator("ol.messages > li");
export const message = (page: Page, text: string): Locator =>
  messages(page).filter({ hasText: text });
export const connection = (page: Page): Locator => page.locator("p.conn");

/** Waits until `locator` is visible; the error says what a person would have been waiting for. */
export async function see(locator: Locator, what: string, timeout = SEEN_WITHIN_MS): Promise<void> {
  try {
    await locator.first().waitFor({ state: "visible", timeout });
  } catch (e) {
    throw new Error(`Waited ${timeout} ms to see ${what}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** Waits until `locator` matches nothing visible. */
export async function stopSeeing(
  locator: Locator,
  what: string,
  timeout = SEEN_WITHIN_MS,
): Promise<void> {
  try {
    await locator.first().waitFor({ state: "hidden", timeout });
  } catch (e) {
    throw new Error(
      `Waited ${timeout} ms for ${what} to go: ${(e as Error).message.split("\n")[0]}`,
    );
  }
}

/** Polls `read` until `check` holds; fails with the last value seen. */
export async function until<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  what: string,
  timeout = SEEN_WITHIN_MS,
): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: T = await read();
  while (!check(last)) {
    if (Date.now() > deadline) {
      throw new Error(`Waited ${timeout} ms for ${what}; last saw ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

/** The text of every message on screen, in order (pending and failed ones included). */
export const messageBodies = (page: Page): Promise<string[]> =>
  page.locator("ol.messages > li .body").allTextContents();

export async function signUp(
  page: Page,
  name: string,
): Promise<{ email: string; password: string }> {
  const email = `${name.toLowerCase().replace(/\W+/g, "")}-${crypto.randomUUID()}@example.test`;
  const password = `pw-${crypto.randomUUID()}`;
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByLabel("Display name").first().fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  return { email, password };
}

export async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in", exact: true }).last().click();
}

export async function continueAsGuest(page: Page, name: string): Promise<void> {
  await page.getByLabel("Display name").last().fill(name);
  await page.getByRole("button", { name: "Continue as guest" }).click();
}

/** Finds a public room by name from the home page (discovery), joins it, and waits until it is open. */
export async function joinPublicRoom(page: Page, roomName: string): Promise<void> {
  await page.getByLabel("Find public rooms").fill(roomName);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("button", { name: `Join ${roomName}` }).click();
  await see(connection(page).filter({ hasText: "Connected" }), `room "${roomName}" connected`);
}

/** Creates a room from the home page and waits until it is open; returns its id. */
export async function createRoom(page: Page, name: string, isPrivate: boolean): Promise<string> {
  await page.getByLabel("Room name").fill(name);
  if (isPrivate) {
    await page.getByLabel(/^Private/).check();
  }
  await page.getByRole("button", { name: "Create room" }).click();
  await see(connection(page).filter({ hasText: "Connected" }), `room "${name}" connected`);
  const match = /\/rooms\/([^/?#]+)/.exec(page.url());
  if (!match?.[1]) {
    throw new Error(`not on a room page: ${page.url()}`);
  }
  return decodeURIComponent(match[1]);
}

/** Types like a person (so typing indicators fire) and sends with Enter. */
export async function send(page: Page, text: string): Promise<void> {
  const box = composer(page);
  await box.pressSequentially(text, { delay: 5 });
  await box.press("Enter");
}
