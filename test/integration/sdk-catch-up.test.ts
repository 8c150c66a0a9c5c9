import { describe, expect, it } from "vitest";
import { createChatClient, type Message } from "../../src/client/index";
import { REPLAY_CAP } from "../../src/shared/protocol";
import { apiClient } from "../helpers/api";
import { registerUser, uniq } from "../helpers/factories";
import { useService } from "../helpers/service";

// More than REPLAY_CAP events while away: the resume comes back "truncated" and the SDK catches
// up over HTTP, refreshing the messages it held (edits and deletions included).

const service = useService({ AUTH_RATE_LIMIT: "1000000", MESSAGE_RATE_LIMIT: "1000000" });
const api = apiClient(service);

async function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("catching up after a truncated resume", () => {
  it("pages the missed history over HTTP, applies edits to held messages and emits reset", async () => {
    const owner = await registerUser(api, `Owner ${uniq()}`);
    const client = createChatClient({
      baseUrl: service.url,
      tokens: { token: owner.token, refreshToken: owner.refreshToken },
    });
    const { id } = await client.rooms.create({ name: `Busy ${uniq()}`, isPrivate: false });
    const first = await client.messages.send(id, { content: "held 1" });
    await client.messages.send(id, { content: "held 2" });

    let saved: { since: number; epoch: string } | null = null;
    const store = {
      load: () => saved,
      save: (c: { since: number; epoch: string }) => {
        saved = c;
      },
    };
    const r1 = client.room(id, { store, minReconnectDelayMs: 100 });
    await r1.whenOpen(10_000);
    const kept = [...r1.timeline];
    r1.close();

    // While away: an edit of a held message, then more than the replay cap of new messages.
    await client.messages.edit(id, first.seq, "held 1, edited while away");
    // Sent over a second live connection: the socket path stores in the room's object without a
    // libSQL round trip per message, so a thousand take a second or two, not half a minute.
    const total = REPLAY_CAP + 5;
    const sender = client.room(id, { minReconnectDelayMs: 100 });
    await sender.whenOpen(10_000);
    await Promise.all(Array.from({ length: total }, (_, i) => sender.send(`away ${i}`)));
    sender.close();

    const resets: string[] = [];
    const r2 = client.room(id, { store, messages: kept, minReconnectDelayMs: 100 });
    r2.on("reset", (e) => resets.push(e.reason));
    await r2.whenOpen(10_000);
    expect(r2.info?.resume).toBe("truncated");
    await waitFor(() => (resets.length > 0 ? true : undefined), 20_000, "the catch-up to finish");
    expect(resets).toEqual(["truncated"]);

    const truth: Message[] = [];
    let after = 0;
    for (;;) {
      const page = await client.messages.list(id, { after, limit: 200 });
      truth.push(...page.messages);
      if (page.nextCursor === null) {
        break;
      }
      after = page.nextCursor;
    }
    expect(r2.timeline).toEqual(truth);
    expect(r2.timeline[0]?.content).toBe("held 1, edited while away");
    expect(r2.isSyncing).toBe(false);

    // And live again: a new message lands once, after the catch-up.
    const live = await r2.send("after the catch-up");
    expect(r2.timeline.at(-1)).toEqual(live);
    expect(r2.cursor?.since).toBe(truth.length + 2);
    client.close();
  }, 90_000);
});
