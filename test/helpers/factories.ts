import { expect } from "vitest";
import { signAccessToken } from "../../src/auth/tokens";
import { DEV_JWT_SECRET } from "../../src/config";
import type { Api } from "./api";

export const uniq = () => crypto.randomUUID().slice(0, 8);

export interface TestUser {
  id: string;
  email: string | null;
  password: string | null;
  displayName: string;
  token: string;
  refreshToken: string;
}

/**
 * An access token for the same user and session that expired ten minutes ago, signed with the
 * dev secret the service uses locally: what a client holds after a laptop slept past 15 minutes.
 */
export async function expiredTokenOf(user: TestUser): Promise<string> {
  const [, payload] = user.token.split(".");
  const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as { sid: string };
  return signAccessToken(
    { userId: user.id, sessionId: claims.sid },
    DEV_JWT_SECRET,
    Date.now() - 25 * 60 * 1000,
  );
}

/** Registers a fresh email account (random email, so files never collide on the shared DB). */
export async function registerUser(api: Api, displayName = `User ${uniq()}`): Promise<TestUser> {
  const email = `u-${crypto.randomUUID()}@example.test`;
  const password = `pw-${crypto.randomUUID()}`;
  const res = await api("POST", "/api/auth/register", { json: { email, password, displayName } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return {
    id: res.body.user.id,
    email,
    password,
    displayName,
    token: res.body.token,
    refreshToken: res.body.refreshToken,
  };
}

export async function guestUser(api: Api, displayName = `Guest ${uniq()}`): Promise<TestUser> {
  const res = await api("POST", "/api/auth/guest", { json: { displayName } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return {
    id: res.body.user.id,
    email: null,
    password: null,
    displayName,
    token: res.body.token,
    refreshToken: res.body.refreshToken,
  };
}

export async function createRoom(
  api: Api,
  owner: TestUser,
  opts: { isPrivate?: boolean; name?: string } = {},
): Promise<{ id: string; name: string; isPrivate: boolean }> {
  const name = opts.name ?? `Room ${uniq()}`;
  const res = await api("POST", "/api/rooms", {
    token: owner.token,
    json: { name, isPrivate: opts.isPrivate ?? false },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** Makes `user` a member: public rooms by joining, private rooms through a fresh invite. */
export async function addMember(
  api: Api,
  room: { id: string; isPrivate: boolean },
  owner: TestUser,
  user: TestUser,
): Promise<void> {
  if (!room.isPrivate) {
    const res = await api("POST", `/api/rooms/${room.id}/join`, { token: user.token });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    return;
  }
  const inv = await api("POST", `/api/rooms/${room.id}/invites`, { token: owner.token, json: {} });
  expect(inv.status, JSON.stringify(inv.body)).toBe(201);
  const acc = await api("POST", `/api/invites/${inv.body.token}/accept`, { token: user.token });
  expect(acc.status, JSON.stringify(acc.body)).toBeLessThan(300);
}

/** Ada (owner) and Bo (member) in a fresh room: the starting point of most live-room tests. */
export async function adaAndBoInRoom(api: Api, opts: { isPrivate?: boolean } = {}) {
  const ada = await registerUser(api, "Ada");
  const bo = await registerUser(api, "Bo");
  const room = await createRoom(api, ada, { isPrivate: opts.isPrivate ?? true });
  await addMember(api, room, ada, bo);
  return { ada, bo, room };
}
