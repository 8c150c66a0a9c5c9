import { expect } from "vitest";
import type { Api } from "./helpers/api";
import { createRoom, registerUser, type TestUser, uniq } from "./helpers/factories";
import { TestSocket } from "./helpers/ws";

/**
 * The authorization matrix (reliability-testing §4.6 AZ-1) as data: every room and invite route x
 * every actor x public/private room -> the status the API must answer. One generic runner
 * (test/integration/authz-matrix.test.ts) turns each cell into a test, and fails for any cell
 * nobody decided and for any /api/rooms or /api/invites route in /openapi.json without a row.
 *
 * To add routes: add rows to one of the arrays `matrixRows` concatenates (or a new one). A row
 * that needs more than a room, its members and an invite can prepare it in `setup` and keep it in
 * `fixture.extra`; a cell that isn't a plain HTTP call (a WebSocket upgrade) can override `call`.
 */

export const actors = ["anon", "outsider", "member", "admin", "owner"] as const;
export type Actor = (typeof actors)[number];
export const privacies = ["public", "private"] as const;
export type Privacy = (typeof privacies)[number];

/** The people around one room. Users are shared across fixtures; rooms never are. */
export interface Cast {
  owner: TestUser;
  admin: TestUser;
  member: TestUser;
  /** Signed in, never in the room. */
  outsider: TestUser;
  /** A plain member the routes act on (kicked, promoted), so the actors stay as they were. */
  victim: TestUser;
}

export interface RoomFixture extends Cast {
  room: { id: string; name: string; isPrivate: boolean };
  /** A live, unlimited invite to the room. */
  invite: { id: string; token: string };
  /** Whatever a row's `setup` prepared. */
  extra: Record<string, unknown>;
}

export interface MatrixRow {
  /** "METHOD /openapi/path", exactly as /openapi.json lists the route (coverage check). */
  route: string;
  /** Distinguishes rows of one route (e.g. POST /api/rooms/join by roomId or by inviteCode). */
  variant?: string;
  /**
   * True when the call changes the room, its membership or what `setup` prepared (a message
   * deleted): every cell then gets a new room, and `setup` runs on it alone.
   */
  mutates: boolean;
  path: (f: RoomFixture) => string;
  body?: (f: RoomFixture) => unknown;
  /** Runs before each cell; on a shared room (mutates: false) concurrently with the others. */
  setup?: (api: Api, f: RoomFixture) => Promise<void>;
  /** Overrides the plain HTTP call (`wsUrl`: the service's ws://host:port); returns the status. */
  call?: (api: Api, f: RoomFixture, token: string | undefined, wsUrl: string) => Promise<number>;
  expect: Record<Privacy, Record<Actor, number>>;
}

export const rowName = (row: MatrixRow): string =>
  row.variant ? `${row.route} (${row.variant})` : row.route;

/** Same answer whatever the room's privacy. */
const anyRoom = (cells: Record<Actor, number>) => ({ public: cells, private: cells });

/**
 * A route for members: an outsider gets 403 in a public room and 404 in a private one (a
 * private room they're not in doesn't exist for them, DESIGN "Security defaults").
 */
const membersOnly = (cells: { member: number; admin: number; owner: number }) => ({
  public: { anon: 401, outsider: 403, ...cells },
  private: { anon: 401, outsider: 404, ...cells },
});

/** Joining: a public room lets outsiders in (201); a private one hides from them (404). */
const joinRoomCells = {
  public: { anon: 401, outsider: 201, member: 200, admin: 200, owner: 200 },
  private: { anon: 401, outsider: 404, member: 200, admin: 200, owner: 200 },
};

const signedIn = (status: number) =>
  anyRoom({ anon: 401, outsider: status, member: status, admin: status, owner: status });

const roomAndInviteRows: MatrixRow[] = [
  {
    route: "POST /api/rooms",
    mutates: false,
    path: () => "/api/rooms",
    body: (f) => ({ name: `Matrix ${uniq()}`, isPrivate: f.room.isPrivate }),
    expect: signedIn(201),
  },
  { route: "GET /api/rooms", mutates: false, path: () => "/api/rooms", expect: signedIn(200) },
  {
    route: "GET /api/rooms/mine",
    mutates: false,
    path: () => "/api/rooms/mine",
    expect: signedIn(200),
  },
  {
    route: "GET /api/rooms/public",
    mutates: false,
    path: (f) => `/api/rooms/public?q=${encodeURIComponent(f.room.name)}`,
    expect: signedIn(200),
  },
  {
    route: "POST /api/rooms/join",
    variant: "roomId",
    mutates: true,
    path: () => "/api/rooms/join",
    body: (f) => ({ roomId: f.room.id }),
    expect: joinRoomCells,
  },
  {
    route: "POST /api/rooms/join",
    variant: "inviteCode",
    mutates: true,
    path: () => "/api/rooms/join",
    body: (f) => ({ inviteCode: f.invite.token }),
    expect: anyRoom({ anon: 401, outsider: 201, member: 200, admin: 200, owner: 200 }),
  },
  {
    route: "GET /api/rooms/{roomId}",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}`,
    expect: {
      public: { anon: 401, outsider: 200, member: 200, admin: 200, owner: 200 },
      private: { anon: 401, outsider: 404, member: 200, admin: 200, owner: 200 },
    },
  },
  {
    route: "PATCH /api/rooms/{roomId}",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}`,
    body: (f) => ({ name: f.room.name }),
    expect: membersOnly({ member: 403, admin: 200, owner: 200 }),
  },
  {
    route: "DELETE /api/rooms/{roomId}",
    mutates: true,
    path: (f) => `/api/rooms/${f.room.id}`,
    expect: membersOnly({ member: 403, admin: 403, owner: 204 }),
  },
  {
    route: "POST /api/rooms/{roomId}/join",
    mutates: true,
    path: (f) => `/api/rooms/${f.room.id}/join`,
    expect: joinRoomCells,
  },
  {
    route: "POST /api/rooms/{roomId}/leave",
    mutates: true,
    path: (f) => `/api/rooms/${f.room.id}/leave`,
    expect: membersOnly({ member: 204, admin: 204, owner: 409 }),
  },
  {
    route: "GET /api/rooms/{roomId}/members",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}/members`,
    expect: membersOnly({ member: 200, admin: 200, owner: 200 }),
  },
  {
    route: "PATCH /api/rooms/{roomId}/members/{userId}",
    mutates: true,
    path: (f) => `/api/rooms/${f.room.id}/members/${f.victim.id}`,
    body: () => ({ role: "admin" }),
    expect: membersOnly({ member: 403, admin: 403, owner: 200 }),
  },
  {
    route: "DELETE /api/rooms/{roomId}/members/{userId}",
    mutates: true,
    path: (f) => `/api/rooms/${f.room.id}/members/${f.victim.id}`,
    expect: membersOnly({ member: 403, admin: 204, owner: 204 }),
  },
  {
    route: "POST /api/rooms/{roomId}/invites",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}/invites`,
    body: () => ({ expiresInHours: 1, maxUses: 1 }),
    expect: membersOnly({ member: 403, admin: 201, owner: 201 }),
  },
  {
    route: "GET /api/rooms/{roomId}/invites",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}/invites`,
    expect: membersOnly({ member: 403, admin: 200, owner: 200 }),
  },
  {
    route: "DELETE /api/rooms/{roomId}/invites/{inviteId}",
    mutates: true,
    path: (f) => `/api/rooms/${f.room.id}/invites/${f.invite.id}`,
    expect: membersOnly({ member: 403, admin: 204, owner: 204 }),
  },
  {
    route: "GET /api/invites/{token}",
    mutates: false,
    path: (f) => `/api/invites/${f.invite.token}`,
    expect: anyRoom({ anon: 200, outsider: 200, member: 200, admin: 200, owner: 200 }),
  },
  {
    route: "GET /api/invites/{token}/qr.svg",
    mutates: false,
    path: (f) => `/api/invites/${f.invite.token}/qr.svg`,
    expect: anyRoom({ anon: 200, outsider: 200, member: 200, admin: 200, owner: 200 }),
  },
  {
    route: "POST /api/invites/{token}/accept",
    mutates: true,
    path: (f) => `/api/invites/${f.invite.token}/accept`,
    expect: anyRoom({ anon: 401, outsider: 201, member: 200, admin: 200, owner: 200 }),
  },
];

/*
 * Live rooms (src/chat/routes.ts, docs/protocol.md). Signed-in non-members may read a public
 * room (history, presence) and connect to it, which joins them; writing needs membership (403).
 */

/** Who wrote the message a PATCH/DELETE cell acts on. */
type Author = "owner" | "member";

/** The seq of the message `setup` posted as `author` (see messageRow). */
const seqOf = (f: RoomFixture): number => f.extra.seq as number;

/** Posts one message as `author` and keeps its seq in `f.extra.seq`. */
async function postMessageAs(api: Api, f: RoomFixture, author: Author): Promise<void> {
  const res = await api("POST", `/api/rooms/${f.room.id}/messages`, {
    token: f[author].token,
    json: { content: `Written by the ${author} ${uniq()}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  f.extra.seq = res.body.seq;
}

/** A PATCH or DELETE of a message `author` wrote, in a room of its own per cell. */
function messageRow(
  method: "PATCH" | "DELETE",
  author: Author,
  cells: { member: number; admin: number; owner: number },
): MatrixRow {
  return {
    route: `${method} /api/rooms/{roomId}/messages/{seq}`,
    variant: `the ${author}'s message`,
    mutates: true,
    setup: (api, f) => postMessageAs(api, f, author),
    path: (f) => `/api/rooms/${f.room.id}/messages/${seqOf(f)}`,
    ...(method === "PATCH" ? { body: () => ({ content: `Edited ${uniq()}` }) } : {}),
    expect: membersOnly(cells),
  };
}

/**
 * Opens the room's WebSocket with the actor's Bearer token (none for anon) and answers the HTTP
 * status: 101 once the socket is open and its first frame is `ready` (then it is closed), or the
 * status of the refused upgrade, whose body must be the error envelope.
 */
async function upgradeStatus(url: string, token: string | undefined): Promise<number> {
  const opened = await TestSocket.open(url, token ? { authorization: `Bearer ${token}` } : {}).then(
    (socket) => ({ socket }),
    (e: Error & { status?: number; body?: string }) => {
      if (e.status === undefined) {
        throw e;
      }
      expect(JSON.parse(e.body ?? "null"), `refused upgrade ${e.status}`).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
      return { status: e.status };
    },
  );
  if (!("socket" in opened)) {
    return opened.status;
  }
  const { socket } = opened;
  try {
    expect((await socket.next(() => true, 5000, "the first frame (ready)")).type).toBe("ready");
    // One heartbeat first: workerd holds the TCP connection of a socket that never sent a frame.
    socket.send('{"type":"ping"}');
    await socket.next("pong", 3000, "the heartbeat pong");
  } finally {
    socket.close();
  }
  await socket.closed();
  return 101;
}

const chatRows: MatrixRow[] = [
  {
    // Connecting to a public room you are not in joins it (docs/protocol.md "Joining by
    // connecting"), so every cell gets its own room.
    route: "GET /api/rooms/{roomId}/ws",
    mutates: true,
    path: (f) => `/api/rooms/${f.room.id}/ws`,
    call: (_api, f, token, wsUrl) => upgradeStatus(`${wsUrl}/api/rooms/${f.room.id}/ws`, token),
    expect: {
      public: { anon: 401, outsider: 101, member: 101, admin: 101, owner: 101 },
      private: { anon: 401, outsider: 404, member: 101, admin: 101, owner: 101 },
    },
  },
  {
    // A browser needs a ticket to connect, and connecting is how it joins a public room.
    route: "POST /api/rooms/{roomId}/ws-ticket",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}/ws-ticket`,
    expect: {
      public: { anon: 401, outsider: 201, member: 201, admin: 201, owner: 201 },
      private: { anon: 401, outsider: 404, member: 201, admin: 201, owner: 201 },
    },
  },
  {
    route: "GET /api/rooms/{roomId}/messages",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}/messages`,
    expect: {
      public: { anon: 401, outsider: 200, member: 200, admin: 200, owner: 200 },
      private: { anon: 401, outsider: 404, member: 200, admin: 200, owner: 200 },
    },
  },
  {
    route: "POST /api/rooms/{roomId}/messages",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}/messages`,
    body: () => ({ content: `Matrix ${uniq()}` }),
    expect: membersOnly({ member: 201, admin: 201, owner: 201 }),
  },
  // Editing is the author's alone, whatever their role; deleting is the author's, an admin's or
  // the owner's.
  messageRow("PATCH", "owner", { member: 403, admin: 403, owner: 200 }),
  messageRow("PATCH", "member", { member: 200, admin: 403, owner: 403 }),
  messageRow("DELETE", "owner", { member: 403, admin: 200, owner: 200 }),
  messageRow("DELETE", "member", { member: 200, admin: 200, owner: 200 }),
  {
    route: "POST /api/rooms/{roomId}/receipts",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}/receipts`,
    body: () => ({ kind: "read", seq: 0 }),
    expect: membersOnly({ member: 200, admin: 200, owner: 200 }),
  },
  {
    // Members only even in public rooms: the answer lists every member, which GET /members
    // also refuses outsiders (docs/api-decisions.md, docs/protocol.md).
    route: "GET /api/rooms/{roomId}/presence",
    mutates: false,
    path: (f) => `/api/rooms/${f.room.id}/presence`,
    expect: {
      public: { anon: 401, outsider: 403, member: 200, admin: 200, owner: 200 },
      private: { anon: 401, outsider: 404, member: 200, admin: 200, owner: 200 },
    },
  },
];

/** Every row the runner turns into cells. */
export const matrixRows: MatrixRow[] = [...roomAndInviteRows, ...chatRows];

/**
 * Room routes other features own that have no rows yet. The coverage check accepts exactly these
 * as uncovered, so a new route without rows fails the suite, and so does a route listed here
 * that has rows by now (delete it from this list when you add them).
 */
export const routesAwaitingRows: readonly string[] = [];

/** Method and path of a row's route, for the plain HTTP call. */
export function methodOf(row: MatrixRow): string {
  return row.route.slice(0, row.route.indexOf(" "));
}

/** Lists every cell of `rows` that is missing or not an HTTP status. */
export function undecidedCells(rows: readonly MatrixRow[]): string[] {
  const missing: string[] = [];
  for (const row of rows) {
    for (const privacy of privacies) {
      for (const actor of actors) {
        const status = row.expect[privacy]?.[actor];
        if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) {
          missing.push(`${rowName(row)} / ${privacy} / ${actor}`);
        }
      }
    }
  }
  return missing;
}

export async function registerCast(api: Api): Promise<Cast> {
  const [owner, admin, member, outsider, victim] = await Promise.all(
    ["Owner", "Admin", "Member", "Outsider", "Victim"].map((r) =>
      registerUser(api, `${r} ${uniq()}`),
    ),
  );
  return {
    owner: owner as TestUser,
    admin: admin as TestUser,
    member: member as TestUser,
    outsider: outsider as TestUser,
    victim: victim as TestUser,
  };
}

export async function createInvite(
  api: Api,
  roomId: string,
  by: TestUser,
  body: { expiresInHours?: number; maxUses?: number | null } = {},
): Promise<{ id: string; token: string; url: string; maxUses: number | null; uses: number }> {
  const res = await api("POST", `/api/rooms/${roomId}/invites`, { token: by.token, json: body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** Puts `user` in the room with `role`: join or accept an invite, then the owner sets the role. */
export async function enrol(
  api: Api,
  room: { id: string; isPrivate: boolean },
  owner: TestUser,
  user: TestUser,
  role: "admin" | "member",
  inviteToken?: string,
): Promise<void> {
  const token = inviteToken ?? (await createInvite(api, room.id, owner)).token;
  const res = room.isPrivate
    ? await api("POST", `/api/invites/${token}/accept`, { token: user.token })
    : await api("POST", `/api/rooms/${room.id}/join`, { token: user.token });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  if (role === "admin") {
    const promote = await api("PATCH", `/api/rooms/${room.id}/members/${user.id}`, {
      token: owner.token,
      json: { role: "admin" },
    });
    expect(promote.status, JSON.stringify(promote.body)).toBe(200);
  }
}

/** A fresh room with the whole cast in place and a live unlimited invite. */
export async function buildRoomFixture(
  api: Api,
  cast: Cast,
  privacy: Privacy,
): Promise<RoomFixture> {
  const room = await createRoom(api, cast.owner, { isPrivate: privacy === "private" });
  const invite = await createInvite(api, room.id, cast.owner);
  await Promise.all([
    enrol(api, room, cast.owner, cast.admin, "admin", invite.token),
    enrol(api, room, cast.owner, cast.member, "member", invite.token),
    enrol(api, room, cast.owner, cast.victim, "member", invite.token),
  ]);
  return { ...cast, room, invite: { id: invite.id, token: invite.token }, extra: {} };
}

/** The bearer token an actor calls with (none for anon). */
export function tokenOf(f: RoomFixture, actor: Actor): string | undefined {
  return actor === "anon" ? undefined : f[actor].token;
}

/*
 * Bad-input corpus (reliability-testing §4.9, IN-*), shared by the rooms and invites error suites:
 * each case must end in a 4xx in the error envelope, never a 5xx, and change nothing.
 */

/** A raw request body and how it's labelled, for the body-level cases. */
export interface RawBodyCase {
  label: string;
  body: BodyInit;
  headers: Record<string, string>;
  status: number;
}

const json = { "content-type": "application/json" };

/**
 * Whole-body cases every JSON route must survive. `valid` is a body the route would accept, so
 * the content-type cases fail on the content type alone.
 */
export function rawBodyCases(valid: unknown): RawBodyCase[] {
  const text = JSON.stringify(valid);
  return [
    { label: "malformed JSON", body: '{"name": ', headers: json, status: 400 },
    { label: "JSON with a trailing comma", body: '{"a": 1,}', headers: json, status: 400 },
    { label: "a JSON array", body: "[]", headers: json, status: 400 },
    { label: "JSON null", body: "null", headers: json, status: 400 },
    { label: "a JSON string", body: '"hello"', headers: json, status: 400 },
    { label: "an empty body", body: "", headers: json, status: 400 },
    {
      label: "10,000 levels of nesting",
      body: `${"[".repeat(10_000)}${"]".repeat(10_000)}`,
      headers: json,
      status: 400,
    },
    { label: "text/plain", body: text, headers: { "content-type": "text/plain" }, status: 415 },
    {
      label: "a form",
      body: "name=x&isPrivate=false",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      status: 415,
    },
    // A Uint8Array body makes fetch send no content-type at all.
    { label: "no content-type", body: new TextEncoder().encode(text), headers: {}, status: 415 },
    {
      label: "a body over 64 KiB",
      body: JSON.stringify({ ...(valid as object), pad: "x".repeat(65 * 1024) }),
      headers: json,
      status: 413,
    },
  ];
}

/** [label, value] pairs that are never a valid room name (IN-1, IN-2, IN-4, IN-5, IN-6, IN-10). */
export const badNames: Array<[string, unknown]> = [
  ["a number", 42],
  ["null", null],
  ["an array", ["Room"]],
  ["an object", { text: "Room" }],
  ["a boolean", true],
  ["empty", ""],
  ["whitespace only", " \t\n  "],
  ["zero-width characters only", "\u200b\u200d\ufeff"],
  ["101 characters", "a".repeat(101)],
  ["101 emoji", "\u{1F600}".repeat(101)],
  ["a NUL byte", "a\u0000b"],
  ["a C0 control", "a\u0007b"],
  ["DEL", "a\u007fb"],
  ["a C1 control", "a\u0085b"],
  ["a line separator", "a\u2028b"],
  ["a right-to-left override", "abc\u202Etxt.exe"],
  ["a bidi isolate", "a\u2067b"],
  ["a direction mark", "a\u200fb"],
  ["a lone surrogate", "a\ud800b"],
  ["a pile of combining marks", `Z${"\u0301\u0302\u0303".repeat(10)}`],
];
