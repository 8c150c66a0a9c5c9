import { describe, expect, it } from "vitest";
import {
  ChatApiError,
  type ChatClient,
  createChatClient,
  type FetchLike,
  parseInviteToken,
  type Tokens,
} from "../../src/client/index";
import { apiClient } from "../helpers/api";
import { expiredTokenOf, registerUser, type TestUser, uniq } from "../helpers/factories";
import { useService } from "../helpers/service";

// The SDK's HTTP half against the real service: every route typed, tokens attached, the refresh
// token rotated once on a 401, and errors as ChatApiError with the API's code.

const service = useService({ AUTH_RATE_LIMIT: "1000000", MESSAGE_RATE_LIMIT: "1000000" });
const api = apiClient(service);

/** A fetch that counts refresh calls (each is a token rotation on the server). */
function countingFetch(): { fetch: FetchLike; refreshes: () => number } {
  let n = 0;
  return {
    fetch: (input, init) => {
      if (input.endsWith("/api/auth/refresh")) {
        n++;
      }
      return fetch(input, init);
    },
    refreshes: () => n,
  };
}

function clientOf(user: TestUser, extra: Partial<Parameters<typeof createChatClient>[0]> = {}) {
  return createChatClient({
    baseUrl: service.url,
    tokens: { token: user.token, refreshToken: user.refreshToken },
    ...extra,
  });
}

describe("createChatClient: HTTP against the real service", () => {
  it("signs up, in and out, and as a guest upgraded in place", async () => {
    const tokens: Array<Tokens | null> = [];
    const client = createChatClient({ baseUrl: service.url, onTokens: (t) => tokens.push(t) });
    const email = `sdk-${uniq()}@example.test`;
    const reg = await client.auth.register({
      email,
      password: "correct horse",
      displayName: "Ada",
    });
    expect(reg.user).toMatchObject({ email, displayName: "Ada", isGuest: false });
    expect(client.tokens?.token).toBe(reg.token);
    expect(await client.me.get()).toMatchObject({ id: reg.user.id });
    expect(await client.me.update({ displayName: "Ada L." })).toMatchObject({
      displayName: "Ada L.",
    });
    await client.auth.logout();
    expect(client.tokens).toBeNull();
    await expect(client.me.get()).rejects.toMatchObject({ code: "unauthorized" });
    const again = await client.auth.login({ email, password: "correct horse" });
    expect(again.user.id).toBe(reg.user.id);
    await expect(client.auth.login({ email, password: "wrong password" })).rejects.toMatchObject({
      status: 401,
      code: "unauthorized",
    });

    const guest = await client.auth.guest({ displayName: "Visitor" });
    expect(guest.user.isGuest).toBe(true);
    const upgraded = await client.auth.upgradeGuest({
      email: `sdk-${uniq()}@example.test`,
      password: "another secret",
      displayName: "Visitor",
    });
    expect(upgraded.user).toMatchObject({ id: guest.user.id, isGuest: false });
    expect(tokens.at(-1)).toEqual({ token: upgraded.token, refreshToken: upgraded.refreshToken });
    expect(tokens).toContain(null);
  });

  it("covers rooms, members, invites, messages, receipts and presence with typed calls", async () => {
    const owner = await registerUser(api, `Owner ${uniq()}`);
    const other = await registerUser(api, `Other ${uniq()}`);
    const a = clientOf(owner);
    const b = clientOf(other);
    const name = `Typed ${uniq()}`;

    const room = await a.rooms.create({ name, isPrivate: false });
    expect(room).toMatchObject({ name, isPrivate: false, ownerId: owner.id, memberCount: 1 });
    expect(await a.rooms.get(room.id)).toMatchObject({ id: room.id });
    expect(await a.rooms.update(room.id, { name: `${name}!` })).toMatchObject({ name: `${name}!` });
    const found = await b.rooms.discover({ q: `${name}!`, limit: 5 });
    expect(found.items.map((r) => r.id)).toEqual([room.id]);
    expect(await b.rooms.join(room.id)).toMatchObject({ room: { id: room.id }, role: "member" });
    const members = await a.rooms.members(room.id);
    expect(members.items.map((m) => m.userId)).toEqual([owner.id, other.id]);
    expect(await a.rooms.setRole(room.id, other.id, "admin")).toMatchObject({ role: "admin" });

    const m1 = await b.messages.send(room.id, { content: "hi", clientId: "c-1" });
    const again = await b.messages.send(room.id, { content: "hi", clientId: "c-1" });
    expect(again.id, "a retried clientId is stored once").toBe(m1.id);
    const m2 = await a.messages.send(room.id, { content: "re", replyTo: m1.seq });
    expect(await b.messages.edit(room.id, m1.seq, "hi!")).toMatchObject({ content: "hi!" });
    expect(await a.messages.remove(room.id, m2.seq)).toMatchObject({ content: "" });
    const page = await a.messages.list(room.id, { limit: 10 });
    expect(page.messages.map((m) => m.seq)).toEqual([m1.seq, m2.seq]);
    expect(page.latestSeq).toBe(4);
    expect((await a.messages.list(room.id, { after: m1.seq })).messages.map((m) => m.seq)).toEqual([
      m2.seq,
    ]);
    expect((await a.messages.list(room.id, { before: m2.seq })).messages.map((m) => m.seq)).toEqual(
      [m1.seq],
    );
    expect(await b.receipts.mark(room.id, "read", page.latestSeq)).toEqual({
      deliveredSeq: 4,
      readSeq: 4,
    });
    const mine = await b.rooms.mine();
    expect(mine.items.find((i) => i.room.id === room.id)).toMatchObject({
      role: "admin",
      unreadCount: 0,
    });
    const presence = await a.presence(room.id);
    expect(presence.offline.map((m) => m.userId).sort()).toEqual([owner.id, other.id].sort());

    const invite = await a.invites.create(room.id, { expiresInHours: 1, maxUses: 2 });
    expect(parseInviteToken(invite.url)).toBe(invite.token);
    const anonymous = createChatClient({ baseUrl: service.url });
    expect(await anonymous.invites.preview(invite.token)).toMatchObject({
      room: { id: room.id },
      valid: true,
    });
    const qr = await fetch(a.invites.qrCodeUrl(invite.token));
    expect(qr.headers.get("content-type")).toContain("image/svg+xml");
    const third = await registerUser(api, `Third ${uniq()}`);
    expect(await clientOf(third).invites.accept(invite.token)).toMatchObject({ role: "member" });
    const fourth = await registerUser(api, `Fourth ${uniq()}`);
    expect(await clientOf(fourth).rooms.joinWithInvite(invite.token)).toMatchObject({
      room: { id: room.id },
    });
    const listed = await a.invites.list(room.id);
    expect(listed.items).toEqual([expect.objectContaining({ id: invite.id, uses: 2 })]);
    await a.invites.revoke(room.id, invite.id);
    await expect(anonymous.invites.preview(invite.token)).resolves.toMatchObject({ valid: false });

    await a.rooms.kick(room.id, fourth.id);
    await clientOf(third).rooms.leave(room.id);
    expect((await a.rooms.members(room.id)).items).toHaveLength(2);
    await a.rooms.remove(room.id);
    await expect(a.rooms.get(room.id)).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it("rotates an expired access token with one refresh and the call succeeds", async () => {
    const user = await registerUser(api);
    const counter = countingFetch();
    const seen: Array<Tokens | null> = [];
    const client = createChatClient({
      baseUrl: service.url,
      tokens: { token: await expiredTokenOf(user), refreshToken: user.refreshToken },
      onTokens: (t) => seen.push(t),
      fetch: counter.fetch,
    });
    await expect(client.me.get()).resolves.toMatchObject({ id: user.id });
    expect(counter.refreshes()).toBe(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.refreshToken).not.toBe(user.refreshToken);
    await expect(client.me.get()).resolves.toMatchObject({ id: user.id });
    expect(counter.refreshes(), "the new token is used from then on").toBe(1);
  });

  it("triggers exactly one refresh for two concurrent calls with an expired token", async () => {
    const user = await registerUser(api);
    const counter = countingFetch();
    const client = createChatClient({
      baseUrl: service.url,
      tokens: { token: await expiredTokenOf(user), refreshToken: user.refreshToken },
      fetch: counter.fetch,
    });
    const [me, rooms] = await Promise.all([client.me.get(), client.rooms.mine()]);
    expect(me.id).toBe(user.id);
    expect(rooms.items).toEqual([]);
    expect(counter.refreshes()).toBe(1);
    // Had a second refresh reused the old refresh token, the server would have revoked the
    // session (reuse detection) and this would fail.
    await expect(client.me.get()).resolves.toMatchObject({ id: user.id });
  });

  it("clears the tokens and rejects with unauthorized when the session was revoked", async () => {
    const user = await registerUser(api);
    const seen: Array<Tokens | null> = [];
    const client: ChatClient = createChatClient({
      baseUrl: service.url,
      tokens: { token: await expiredTokenOf(user), refreshToken: user.refreshToken },
      onTokens: (t) => seen.push(t),
    });
    await clientOf(user).auth.logout();
    const err = await client.me.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatApiError);
    expect(err).toMatchObject({ status: 401, code: "unauthorized" });
    expect(seen).toEqual([null]);
    expect(client.tokens).toBeNull();
  });

  it("reports API errors with their code and validation details", async () => {
    const user = await registerUser(api);
    const client = clientOf(user);
    const err = await client.rooms.create({ name: "", isPrivate: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: "validation_failed" });
    expect((err as ChatApiError).details).toBeTruthy();
    await expect(client.rooms.get("room_doesnotexist")).rejects.toMatchObject({
      code: "not_found",
    });
  });
});
