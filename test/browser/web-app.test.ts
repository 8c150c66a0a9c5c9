import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createChatClient } from "../../src/client";
import { startService, useService } from "../helpers/service";
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  composer,
  connection,
  continueAsGuest,
  createRoom,
  hasChromium,
  joinPublicRoom,
  logIn,
  message,
  messageBodies,
  messages,
  openUser,
  publishScreenshot,
  screenshot,
  see,
  send,
  signUp,
  stopSeeing,
  type User,
  until,
} from "./driver";

// The web app (web/, served from public/ by the Worker's static assets) in Debian's Chromium,
// driven by Playwright against the real service: Worker + Durable Objects in workerd, a real
// libSQL server. Each test makes its own people and rooms, in separate browser profiles.
//
// vitest.config.ts runs this project only where Chromium is installed (and always under CI,
// which installs it), so a missing browser here is a failure, never a silent skip.
if (!hasChromium) {
  throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium`);
}

const uniq = () => crypto.randomUUID().slice(0, 6);

describe("the web app in a real browser", () => {
  const service = useService({
    AUTH_RATE_LIMIT: "100000",
    MESSAGE_RATE_LIMIT: "1000",
    // Short, so someone who left shows as offline within the test's waits.
    PRESENCE_GRACE_MS: "1000",
  });
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  const person = async (name: string, options?: Parameters<typeof openUser>[2]) => {
    const user = await openUser(browser, name, options);
    // A failing test leaves a picture of every page it had open.
    onTestFailed(async ({ task }) => {
      if (!user.page.isClosed()) {
        const slug = task.name.replace(/\W+/g, "-").slice(0, 40);
        await screenshot(user.page, `FAILED-${slug}-${name}`).catch(() => {});
      }
    });
    return user;
  };

  /** Every test ends with no uncaught exception in any page it opened. */
  const expectNoPageErrors = async (...people: User[]) => {
    for (const p of people) {
      expect(p.errors, `uncaught errors in ${p.name}'s page`).toEqual([]);
      await p.context.close();
    }
  };

  it("two people meet through an invite link and chat: typing, receipts, edit, delete, unread", async () => {
    const ada = await person("Ada");
    const bo = await person("Bo");
    await ada.context.grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: service.url,
    });

    // Ada signs up and creates a private room.
    await ada.page.goto(service.url);
    await see(ada.page.getByRole("heading", { name: "Welcome to Edge Chat" }), "the sign-in page");
    await screenshot(ada.page, "sign-in");
    await signUp(ada.page, "Ada");
    await see(ada.page.getByRole("heading", { name: "Hi, Ada" }), "Ada's home page");
    // Private rooms never show up in discovery, so the name needn't be unique.
    const roomName = "Design review";
    const roomId = await createRoom(ada.page, roomName, true);
    await send(ada.page, "Welcome to the design review!");
    await see(
      message(ada.page, "Welcome to the design review!").and(ada.page.locator("[data-state=sent]")),
      "Ada's first message stored",
    );

    // She makes an invite link; the dialog shows it with its QR code and copies it.
    await ada.page.getByRole("button", { name: "Invite" }).click();
    await ada.page.getByRole("button", { name: "Create invite link" }).click();
    const linkBox = ada.page.getByLabel("Invite link");
    await see(linkBox, "the invite link");
    const link = await linkBox.inputValue();
    expect(link).toMatch(new RegExp(`^${service.url}/join#[A-Za-z0-9_-]{20,}$`));
    await until(
      () => ada.page.locator("img.qr").evaluate((img: HTMLImageElement) => img.naturalWidth),
      (width) => width > 0,
      "the QR code image to load",
    );
    await ada.page.getByRole("button", { name: "Copy link" }).click();
    await see(ada.page.getByText("Link copied."), "the copy confirmation");
    expect(await ada.page.evaluate(() => navigator.clipboard.readText())).toBe(link);
    await screenshot(ada.page, "invite-qr");
    await ada.page.keyboard.press("Escape");
    await stopSeeing(ada.page.getByRole("dialog"), "the invite dialog");
    expect(
      await ada.page.evaluate(() => document.activeElement?.textContent),
      "focus returns to the Invite button",
    ).toBe("Invite");

    // Bo opens the link signed out: he sees what it opens, signs up there, and joins.
    await bo.page.goto(link);
    await see(bo.page.getByRole("heading", { name: `Join ${roomName}` }), "the invite preview");
    await see(bo.page.getByText("1 member"), "the member count");
    await screenshot(bo.page, "join");
    await signUp(bo.page, "Bo");
    await bo.page.getByRole("button", { name: `Join ${roomName}` }).click();
    await see(connection(bo.page).filter({ hasText: "Connected" }), "Bo's room connected");
    expect(bo.page.url(), "the token leaves the address bar").toBe(
      `${service.url}/rooms/${roomId}`,
    );
    await see(message(bo.page, "Welcome to the design review!"), "history for Bo");

    // Presence: each sees the other online.
    await see(ada.page.locator(".people-list li.online", { hasText: "Bo" }), "Bo online for Ada");
    await see(bo.page.locator(".people-list li.online", { hasText: "Ada" }), "Ada online for Bo");

    // Typing, then the message.
    await composer(bo.page).pressSequentially("Hi Ada, glad to be here", { delay: 10 });
    await see(ada.page.getByText("Bo is typing…"), "Bo's typing indicator");
    await composer(bo.page).press("Enter");
    await see(message(ada.page, "Hi Ada, glad to be here"), "Bo's message for Ada");
    await stopSeeing(ada.page.getByText("Bo is typing…"), "the typing indicator");

    // Read receipts: Bo has the room open at the bottom, so he reads Ada's reply.
    await send(ada.page, "Hello Bo! Have a look at the mockups.");
    await see(message(bo.page, "Have a look at the mockups"), "Ada's reply for Bo");
    await see(
      message(ada.page, "Have a look at the mockups").locator(".receipt", {
        hasText: "Seen by Bo",
      }),
      "the read receipt on Ada's message",
    );

    // Edit (own message) and delete (own message; the owner may delete anyone's).
    const adaReply = message(ada.page, "Have a look at the mockups");
    await adaReply.getByRole("button", { name: /^Edit/ }).click();
    const editBox = ada.page.getByRole("textbox", { name: "Edit message" });
    await editBox.fill("Hello Bo! Have a look at the new mockups.");
    await editBox.press("Enter");
    await see(message(bo.page, "the new mockups").locator(".edited"), "the edit for Bo");
    expect(await message(bo.page, "Have a look at the").count()).toBe(1);

    await send(bo.page, "oops, wrong room");
    await see(message(ada.page, "oops, wrong room"), "Bo's slip for Ada");
    expect(
      await message(ada.page, "oops, wrong room")
        .getByRole("button", { name: /^Delete/ })
        .count(),
      "the owner may delete others' messages",
    ).toBe(1);
    expect(
      await message(bo.page, "Welcome to the design review").getByRole("button").count(),
      "a member can't edit or delete others' messages",
    ).toBe(0);
    const slip = message(bo.page, "oops, wrong room");
    await slip.getByRole("button", { name: /^Delete/ }).click();
    await bo.page
      .getByRole("group", { name: "Confirm delete" })
      .getByRole("button", { name: "Delete" })
      .click();
    await stopSeeing(message(ada.page, "oops, wrong room"), "the deleted message's text for Ada");
    await see(message(ada.page, "Message deleted"), "the tombstone for Ada");
    await screenshot(bo.page, "chat-member");

    // The README's picture: Ada's view while Bo is typing his answer.
    await composer(bo.page).pressSequentially("Looks great, ship it!", { delay: 10 });
    await see(ada.page.getByText("Bo is typing…"), "Bo typing again");
    await ada.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const chatShot = await screenshot(ada.page, "chat");
    publishScreenshot(chatShot, "screenshot-chat.png");
    await composer(bo.page).press("Enter");
    await see(message(ada.page, "Looks great, ship it!"), "Bo's answer");

    // User content is text, never markup.
    await send(bo.page, "<img src=x onerror=alert(1)> **not html**");
    await see(message(ada.page, "<img src=x onerror=alert(1)>"), "markup shown as text");
    expect(await ada.page.locator("ol.messages img").count()).toBe(0);

    // Unread counts: Ada leaves the room; Bo writes; after a reload (still signed in: the
    // tokens are in localStorage) her room list counts it.
    await ada.page.getByRole("link", { name: "New or discover" }).click();
    await see(ada.page.getByRole("heading", { name: "Hi, Ada" }), "Ada's home page");
    await send(bo.page, "Are you there, Ada?");
    await see(
      message(bo.page, "Are you there, Ada?").and(bo.page.locator("[data-state=sent]")),
      "Bo's question stored",
    );
    await ada.page.reload();
    const unread = ada.page.locator(`a[data-room-id="${roomId}"] .unread`);
    await see(unread, "the unread badge");
    expect(await unread.textContent()).toBe("1 unread");
    await screenshot(ada.page, "room-list");
    await ada.page.locator(`a[data-room-id="${roomId}"]`).click();
    await see(message(ada.page, "Are you there, Ada?"), "the unread message");
    await stopSeeing(unread, "the unread badge once read");

    await expectNoPageErrors(ada, bo);
  });

  it("someone who drops offline and comes back loses nothing: sends wait, missed messages arrive once", async () => {
    const cy = await person("Cy");
    const dee = await person("Dee");

    // Guests, in a public room found through discovery.
    await cy.page.goto(service.url);
    await continueAsGuest(cy.page, "Cy");
    const roomName = `Lobby ${uniq()}`;
    const roomId = await createRoom(cy.page, roomName, false);
    await send(cy.page, "hello from cy");

    await dee.page.goto(service.url);
    await continueAsGuest(dee.page, "Dee");
    await joinPublicRoom(dee.page, roomName);
    await see(message(dee.page, "hello from cy"), "history for Dee");
    await see(cy.page.locator(".people-list li.online", { hasText: "Dee" }), "Dee online for Cy");

    // Dee's network goes away. Her sends are kept and shown as waiting.
    await dee.context.setOffline(true);
    await see(
      connection(dee.page).and(dee.page.locator("[data-connection=offline]")),
      "Dee's offline banner",
    );
    await send(dee.page, "dee offline 1");
    await send(dee.page, "dee offline 2");
    await see(
      message(dee.page, "dee offline 2").and(dee.page.locator("[data-state=pending]")),
      "Dee's queued message",
    );
    await see(
      message(dee.page, "dee offline 1").getByText("Waiting for connection…"),
      "the waiting label",
    );
    await screenshot(dee.page, "offline");

    // Meanwhile Cy writes.
    for (const n of [1, 2, 3]) {
      await send(cy.page, `cy while dee away ${n}`);
    }
    await see(
      message(cy.page, "cy while dee away 3").and(cy.page.locator("[data-state=sent]")),
      "Cy's messages stored",
    );
    await see(cy.page.locator(".people-list li.offline", { hasText: "Dee" }), "Dee offline for Cy");

    // Back online: the SDK resumes, Dee's queue goes out, Cy's messages come in.
    await dee.context.setOffline(false);
    await see(connection(dee.page).filter({ hasText: "Connected" }), "Dee reconnected");
    const expected = [
      "hello from cy",
      "cy while dee away 1",
      "cy while dee away 2",
      "cy while dee away 3",
      "dee offline 1",
      "dee offline 2",
    ];
    for (const page of [dee.page, cy.page]) {
      await until(
        () => messageBodies(page),
        (b) => b.length === expected.length && b.at(-1) === expected.at(-1),
        "all six messages, once each",
      );
      expect(await messageBodies(page)).toEqual(expected);
      expect(await messages(page).and(page.locator("[data-state=sent]")).count()).toBe(
        expected.length,
      );
    }

    // A drop on the server side (the room's object restarts and closes every socket) recovers
    // by itself too.
    await service.evictRoom(roomId, "close");
    await send(cy.page, "after the restart");
    await see(message(dee.page, "after the restart"), "a message after the server-side drop");
    expect(await message(dee.page, "after the restart").count()).toBe(1);

    await expectNoPageErrors(cy, dee);
  });

  it("a send over the rate limit shows as not sent, and Retry sends it later", async () => {
    // Its own service: two messages per 3 s, so the third is refused.
    const strict = await startService({ MESSAGE_RATE_LIMIT: "2", MESSAGE_RATE_WINDOW_MS: "3000" });
    try {
      const gil = await person("Gil");
      await gil.page.goto(strict.url);
      await continueAsGuest(gil.page, "Gil");
      await createRoom(gil.page, "Busy room", false);
      for (const n of [1, 2, 3]) {
        await send(gil.page, `burst ${n}`);
      }
      const third = message(gil.page, "burst 3");
      await see(third.and(gil.page.locator("[data-state=failed]")), "the refused message");
      await see(third.getByText(/^Not sent: Too many requests/), "why it was not sent");
      await screenshot(gil.page, "not-sent");

      // Retry until the window has room again (the button stays until a retry is accepted).
      await until(
        async () => {
          const retry = third.getByRole("button", { name: "Retry" });
          if ((await retry.count()) > 0) {
            await retry.click();
            await gil.page.waitForTimeout(500);
          }
          return third.getAttribute("data-state");
        },
        (state) => state === "sent",
        "the retried message to be stored",
      );
      expect(await messageBodies(gil.page)).toEqual(["burst 1", "burst 2", "burst 3"]);
      await expectNoPageErrors(gil);
    } finally {
      await strict.close();
    }
  });

  it("a big room shows the exact online count, and everyone online on demand", async () => {
    // Its own service where a ready frame names one person (READY_ONLINE_LIMIT; 100 by default),
    // so two people online already make a big room: arrivals come as a count, not a name.
    const big = await startService({ AUTH_RATE_LIMIT: "100000", READY_ONLINE_LIMIT: "1" });
    try {
      const hal = await person("Hal");
      const ivy = await person("Ivy");
      await hal.page.goto(big.url);
      await continueAsGuest(hal.page, "Hal");
      const roomName = `Crowd ${uniq()}`;
      await createRoom(hal.page, roomName, false);
      const halsPeople = hal.page.locator(".people");
      await see(halsPeople.locator(".hint", { hasText: "1 online" }), "Hal's count alone");

      await ivy.page.goto(big.url);
      await continueAsGuest(ivy.page, "Ivy");
      await joinPublicRoom(ivy.page, roomName);
      // Hal's count follows Ivy's arrival; his list doesn't name her until he asks.
      await see(halsPeople.locator(".hint", { hasText: "2 online" }), "Hal's count with Ivy");
      expect(await halsPeople.locator("li.online .person").allTextContents()).toEqual([
        "Hal (you)",
      ]);
      const halsShowAll = hal.page.getByRole("button", { name: "Show everyone online" });
      await halsShowAll.click();
      await see(halsPeople.locator("li.online", { hasText: "Ivy" }), "Ivy loaded for Hal");

      // Ivy's ready named only her, but counted both.
      const people = ivy.page.locator(".people");
      await see(people.locator(".hint", { hasText: "2 online" }), "the exact count for Ivy");
      expect(await people.locator("li.online .person").allTextContents()).toEqual(["Ivy (you)"]);
      await screenshot(ivy.page, "big-room");
      const showAll = ivy.page.getByRole("button", { name: "Show everyone online" });
      await showAll.click();
      await see(people.locator("li.online", { hasText: "Hal" }), "Hal loaded for Ivy");
      await stopSeeing(showAll, "the Show everyone online button");
      await expectNoPageErrors(hal, ivy);
    } finally {
      await big.close();
    }
  });

  it("scrolling up loads older messages until the start of the room", async () => {
    // 70 messages written over HTTP (the page shows the newest 50 first).
    const seeder = createChatClient({ baseUrl: service.url });
    const email = `eve-${crypto.randomUUID()}@example.test`;
    const password = `pw-${crypto.randomUUID()}`;
    await seeder.auth.register({ email, password, displayName: "Eve" });
    const room = await seeder.rooms.create({ name: `Archive ${uniq()}`, isPrivate: true });
    for (let i = 1; i <= 70; i++) {
      await seeder.messages.send(room.id, { content: `history ${i}` });
    }

    const eve = await person("Eve");
    await eve.page.goto(service.url);
    await logIn(eve.page, email, password);
    await eve.page.locator(`a[data-room-id="${room.id}"]`).click();
    await see(message(eve.page, "history 70"), "the newest message");
    expect(await messages(eve.page).count()).toBe(50);
    expect(await message(eve.page, "history 1").count()).toBe(0);

    // Scroll up with the mouse wheel, as a person would.
    const scroller = eve.page.locator(".scroller");
    await scroller.hover();
    await until(
      async () => {
        await eve.page.mouse.wheel(0, -2000);
        return messages(eve.page).count();
      },
      (n) => n === 70,
      "older messages to load while scrolling up",
    );
    await see(eve.page.getByText("This is the start of the room."), "the start of the room");
    const bodies = await messageBodies(eve.page);
    expect(bodies).toEqual(Array.from({ length: 70 }, (_, i) => `history ${i + 1}`));

    await expectNoPageErrors(eve);
  });

  it("works on a phone-sized screen, in the dark scheme, with the keyboard alone", async () => {
    const fay = await person("Fay", {
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      // The dark color scheme gets its look checked here; the desktop tests use the light one.
      colorScheme: "dark",
    });
    const { page } = fay;
    const noSideways = async (where: string) => {
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow, `no sideways scrolling on ${where}`).toBeLessThanOrEqual(0);
    };
    /** Presses Tab until `label` has focus: it must be reachable by keyboard, in a sane order. */
    const tabTo = async (accessibleName: string, maxPresses = 25) => {
      for (let i = 0; i < maxPresses; i++) {
        await page.keyboard.press("Tab");
        const name = await page.evaluate(() => {
          const el = document.activeElement;
          if (!(el instanceof HTMLElement)) {
            return "";
          }
          const label =
            el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement
              ? (el.labels?.[0]?.textContent ?? "")
              : "";
          return (el.getAttribute("aria-label") ?? label) || (el.textContent ?? "");
        });
        if (name.trim() === accessibleName) {
          return;
        }
      }
      throw new Error(`"${accessibleName}" not reached with ${maxPresses} Tab presses`);
    };

    await page.goto(service.url);
    await see(page.getByRole("heading", { name: "Welcome to Edge Chat" }), "the sign-in page");
    await noSideways("the sign-in page");
    await screenshot(page, "phone-sign-in");
    await expectEveryControlLabelled(page);

    await tabTo("Display name");
    await page.keyboard.type("Fay");
    await page.keyboard.press("Enter");
    await see(page.getByRole("heading", { name: "Hi, Fay" }), "Fay's home page");

    await tabTo("Room name");
    await page.keyboard.type(`Pocket room ${uniq()}`);
    await page.keyboard.press("Enter");
    await see(connection(page).filter({ hasText: "Connected" }), "the new room connected");
    // The composer has focus on arrival: type and press Enter.
    await page.keyboard.type("Typed on a phone, sent with Enter");
    await page.keyboard.press("Enter");
    await see(
      message(page, "Typed on a phone").and(page.locator("[data-state=sent]")),
      "the message stored",
    );
    await page.keyboard.type("Shift+Enter makes");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("two lines");
    await page.keyboard.press("Enter");
    await see(message(page, "two lines"), "the two-line message");
    expect(await message(page, "two lines").locator(".body").textContent()).toBe(
      "Shift+Enter makes\ntwo lines",
    );
    await noSideways("the room");
    await expectSidebarHidden(page);
    await expectEveryControlLabelled(page);
    await screenshot(page, "phone-chat");

    // The invite dialog fits the screen too.
    await page.getByRole("button", { name: "Invite" }).click();
    await page.getByRole("button", { name: "Create invite link" }).click();
    await until(
      () => page.locator("img.qr").evaluate((img: HTMLImageElement) => img.naturalWidth),
      (width) => width > 0,
      "the QR code image to load",
    );
    await noSideways("the invite dialog");
    await screenshot(page, "phone-invite");
    await page.keyboard.press("Escape");

    // The people panel opens from the header and the back link leads to the room list.
    await page.getByRole("button", { name: /^People/ }).click();
    await see(page.locator(".people-list li.online", { hasText: "Fay" }), "the people panel");
    await page.getByRole("link", { name: "‹ Rooms" }).click();
    await see(page.getByRole("heading", { name: "Your rooms" }), "the room list");
    await noSideways("the home page");
    await screenshot(page, "phone-home");

    // A guest keeps the account (and its rooms) by adding an email and password.
    await page.getByLabel("Email").fill(`fay-${crypto.randomUUID()}@example.test`);
    await page.getByLabel("Password").fill(`pw-${crypto.randomUUID()}`);
    await page.getByRole("button", { name: "Create account" }).click();
    await stopSeeing(page.locator(".topbar .tag", { hasText: "Guest" }), "the guest tag");
    await see(page.locator(".room-list a", { hasText: "Pocket room" }), "Fay's room, still hers");

    await expectNoPageErrors(fay);
  });
});

/** Every input, textarea and select on screen has a label a screen reader can read. */
async function expectEveryControlLabelled(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, textarea, select")]
      .filter((el) => {
        const control = el as HTMLInputElement;
        const visible = control.offsetParent !== null;
        const labelled =
          (control.labels?.length ?? 0) > 0 ||
          control.hasAttribute("aria-label") ||
          control.hasAttribute("aria-labelledby");
        return visible && !labelled;
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  expect(unlabelled).toEqual([]);
}

/** On a phone the room takes the whole screen: the room list is its own page. */
async function expectSidebarHidden(page: Page): Promise<void> {
  expect(await page.locator("nav.sidebar").isVisible()).toBe(false);
}
