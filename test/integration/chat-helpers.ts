import { expect } from "vitest";
import type { Api } from "../helpers/api";
import type { TestUser } from "../helpers/factories";
import type { Service } from "../helpers/service";
import { type Frame, TestSocket } from "../helpers/ws";

/** Helpers shared by the live-room suites (chat-*.test.ts, messages-*.test.ts). */

export interface ConnectOptions {
  since?: number | string;
  epoch?: string;
  ticket?: string;
  /** Extra request headers (Origin, forged X-Chat-*); the Bearer header is added unless `ticket`. */
  headers?: Record<string, string>;
  /**
   * Send one heartbeat (the exact ping text) after ready, as real clients do. Needed where a test
   * waits for the *close event* of a server-initiated close: workerd (locally, at least) sends the
   * close frame at once but holds the TCP connection of a socket whose client never sent a frame,
   * so the `ws` library reports CLOSING and fires `close` only after its own 30 s timeout.
   */
  heartbeat?: boolean;
}

export function wsUrl(service: Service, roomId: string, opts: ConnectOptions = {}): string {
  const q = new URLSearchParams();
  if (opts.since !== undefined) {
    q.set("since", String(opts.since));
  }
  if (opts.epoch !== undefined) {
    q.set("epoch", opts.epoch);
  }
  if (opts.ticket !== undefined) {
    q.set("ticket", opts.ticket);
  }
  const qs = q.toString();
  return `${service.wsUrl}/api/rooms/${roomId}/ws${qs ? `?${qs}` : ""}`;
}

/** Opens a room socket as `user` and waits for its `ready` frame (always the first one). */
export async function connect(
  service: Service,
  roomId: string,
  user: TestUser,
  opts: ConnectOptions = {},
): Promise<{ socket: TestSocket; ready: Frame }> {
  const headers = { ...opts.headers };
  if (opts.ticket === undefined) {
    headers.authorization = `Bearer ${user.token}`;
  }
  const socket = await TestSocket.open(wsUrl(service, roomId, opts), headers);
  const ready = await socket.next(
    () => true,
    5000,
    `the first frame (ready) for ${user.displayName}`,
  );
  expect(ready.type).toBe("ready");
  if (opts.heartbeat) {
    socket.send('{"type":"ping"}');
    await socket.next("pong", 3000, "the heartbeat pong");
  }
  return { socket, ready };
}

/** Expects the upgrade to be refused with `status` (and the error envelope). */
export async function expectRefused(
  service: Service,
  roomId: string,
  headers: Record<string, string>,
  status: number,
  opts: ConnectOptions = {},
): Promise<string> {
  const err = await TestSocket.open(wsUrl(service, roomId, opts), headers).then(
    (s) => {
      s.close();
      throw new Error(`upgrade was accepted; expected ${status}`);
    },
    (e: { status?: number; body?: string }) => e,
  );
  expect(err.status, err.body).toBe(status);
  expect(JSON.parse(err.body ?? "{}")).toMatchObject({ error: { code: expect.any(String) } });
  return err.body ?? "";
}

/** Sends a message over the socket and waits for its ack. */
export async function sendAcked(
  socket: TestSocket,
  content: string,
  clientId: string = crypto.randomUUID(),
  extra: Record<string, unknown> = {},
): Promise<Frame> {
  socket.send({ type: "send_message", content, clientId, ...extra });
  return socket.next(
    (f) => (f.type === "ack" || f.type === "error") && f.clientId === clientId,
    5000,
    `the ack for ${clientId}`,
  );
}

/** Posts a message over HTTP and returns the response. */
export function postMessage(
  api: Api,
  roomId: string,
  user: TestUser,
  json: Record<string, unknown>,
) {
  return api("POST", `/api/rooms/${roomId}/messages`, { token: user.token, json });
}

/** Polls `check` until it returns a value other than undefined, or fails saying what it waited for. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Frames of `type` received so far (consumed or not). */
export const framesOf = (socket: TestSocket, type: string): Frame[] =>
  socket.frames.filter((f) => f.type === type);

/** Timeline seqs (receive_message / message_updated) a socket received, in arrival order. */
export const timelineSeqs = (socket: TestSocket): number[] =>
  socket.frames
    .filter((f) => f.type === "receive_message" || f.type === "message_updated")
    .map((f) => f.seq as number);

/** Asserts nothing matching arrives within `ms` (for "not broadcast" / "never echoed" checks). */
export async function expectSilence(
  socket: TestSocket,
  match: (f: Frame) => boolean,
  ms: number,
  what: string,
): Promise<void> {
  const before = socket.frames.length;
  await sleep(ms);
  const late = socket.frames.slice(before).filter(match);
  expect(late, `expected no ${what} within ${ms} ms`).toEqual([]);
}

/**
 * The presence changes a frame carries, each shaped as a `user_status` frame: the frame itself
 * for `user_status`, every change of a `user_status_batch` (the room batches changes that fall
 * within PRESENCE_BATCH_MS) with the batch's onlineCount, none for any other frame.
 */
export function statusChanges(f: Frame): Frame[] {
  if (f.type === "user_status") {
    return [f];
  }
  if (f.type === "user_status_batch" && Array.isArray(f.changes)) {
    return f.changes.map((c: Record<string, unknown>) => ({
      type: "user_status",
      ...c,
      onlineCount: f.onlineCount,
    }));
  }
  return [];
}

/** Matches a frame carrying a presence change about `userId` (with that `status`, if given). */
export const isStatusOf =
  (userId: string, status?: "online" | "offline") =>
  (f: Frame): boolean =>
    statusChanges(f).some(
      (c) => c.userId === userId && (status === undefined || c.status === status),
    );

/**
 * Waits for the next presence change about `userId` in either frame kind (consuming frames up
 * to the one carrying it) and returns that change as a `user_status` frame.
 */
export async function nextStatus(
  socket: TestSocket,
  userId: string,
  status?: "online" | "offline",
  timeoutMs = 3000,
  what = `user_status ${status ?? ""} for ${userId}`,
): Promise<Frame> {
  const f = await socket.next(isStatusOf(userId, status), timeoutMs, what);
  return statusChanges(f).find(
    (c) => c.userId === userId && (status === undefined || c.status === status),
  ) as Frame;
}

/** Every presence change a socket received so far (consumed or not), flattened, in order. */
export const statusesOf = (socket: TestSocket): Frame[] => socket.frames.flatMap(statusChanges);
