/**
 * The load generator's client side: plain `ws` sockets in this one Node process, shared by both
 * targets (service and ceiling) so the ratios compare servers, not clients.
 *
 * Kept lean because it shares the 2 cores with workerd: no permessage-deflate, no UTF-8
 * validation, and frames are classified without JSON.parse when their shape allows it (the
 * `type`, `seq`, `clientId` and `lastSeq` fields are read with anchored searches; a sample of
 * frames is still fully parsed and cross-checked, and anything unexpected falls back to
 * JSON.parse). Every client checks its own delivery order: each `receive_message` must carry
 * exactly the next seq after the last one it saw (starting at `ready.lastSeq`).
 */
import WebSocket from "ws";

export interface Endpoint {
  /** ws://... URL of the room socket */
  url: string;
  headers?: Record<string, string>;
  userId: string;
}

/** Who gets told about message traffic (the fan-out load); null = just count and check order. */
export interface FrameSink {
  onReceive(seq: number, clientId: string | null, now: number): void;
  onAck(clientId: string, seq: number, now: number): void;
}

/** Every how many receive_message frames one is fully parsed and compared with the fast path. */
const CROSS_CHECK_EVERY = 997;

const now = () => performance.now();

export class Client {
  readonly ws: WebSocket;
  readonly endpoint: Endpoint;
  ready = false;
  openedAt = 0;
  readyAt = 0;
  /** the highest seq seen (ready.lastSeq before any message) */
  lastSeq = -1;
  /** seqs skipped over (still owed to this client) */
  readonly missing = new Set<number>();
  duplicates = 0;
  outOfOrder = 0;
  /** receive_message frames delivered to this client */
  deliveries = 0;
  frames = 0;
  bytes = 0;
  /** frames per type (other than receive_message/ack) */
  readonly otherTypes = new Map<string, number>();
  readonly errors: string[] = [];
  closeCode: number | null = null;
  sink: FrameSink | null = null;
  private crossCheck = 0;
  private readyWaiters: Array<(err?: Error) => void> = [];

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
    this.openedAt = now();
    this.ws = new WebSocket(endpoint.url, {
      headers: endpoint.headers,
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    this.ws.on("message", (data: Buffer) => this.onFrame(data));
    this.ws.on("close", (code) => {
      this.closeCode = code;
      this.settleReady(new Error(`closed with ${code} before ready`));
    });
    this.ws.on("error", (err) => {
      this.errors.push(String(err));
      this.settleReady(err);
    });
    this.ws.on("unexpected-response", (_req, res) => {
      const err = new Error(`upgrade refused: HTTP ${res.statusCode}`);
      this.errors.push(err.message);
      res.resume();
      this.settleReady(err);
      this.ws.terminate();
    });
  }

  /** Resolves once the `ready` frame came (rejects on refusal, close or timeout). */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.ready) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ready frame within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.readyWaiters.push((err) => {
        clearTimeout(timer);
        if (err) {
          reject(err);
        } else {
          resolve();
        }
      });
    });
  }

  send(text: string): void {
    this.ws.send(text);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(1000);
    }
  }

  /** Messages this client is still owed if the room's last seq is `maxSeq`. */
  owed(maxSeq: number): number {
    return this.missing.size + Math.max(0, maxSeq - this.lastSeq);
  }

  private settleReady(err?: Error): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) {
      w(err);
    }
  }

  private onFrame(data: Buffer): void {
    const t = now();
    this.frames++;
    this.bytes += data.length;
    const text = data.toString();
    const type = frameType(text);
    if (type === "receive_message") {
      let seq = intField(text, '"seq":');
      let clientId = stringField(text, '"clientId":"');
      if (++this.crossCheck % CROSS_CHECK_EVERY === 0 || seq === null) {
        const full = JSON.parse(text) as { seq: number; message?: { clientId?: string | null } };
        const fullClientId = full.message?.clientId ?? null;
        if (seq !== null && (full.seq !== seq || fullClientId !== clientId)) {
          this.errors.push(`fast parse mismatch on ${text.slice(0, 200)}`);
        }
        seq = full.seq;
        clientId = fullClientId;
      }
      this.onMessage(seq, clientId, t);
      return;
    }
    if (type === "ack") {
      const clientId = stringField(text, '"clientId":"');
      const seq = intField(text, '"seq":');
      if (clientId !== null && seq !== null) {
        this.sink?.onAck(clientId, seq, t);
      } else {
        const full = JSON.parse(text) as { clientId: string; seq: number };
        this.sink?.onAck(full.clientId, full.seq, t);
      }
      return;
    }
    if (type === "ready") {
      const lastSeq = intField(text, '"lastSeq":');
      this.lastSeq = lastSeq ?? (JSON.parse(text) as { lastSeq: number }).lastSeq;
      this.ready = true;
      this.readyAt = t;
      this.settleReady();
      return;
    }
    const key = type ?? "unknown";
    this.otherTypes.set(key, (this.otherTypes.get(key) ?? 0) + 1);
    if (type === "error") {
      this.errors.push(text.slice(0, 300));
    }
  }

  private onMessage(seq: number, clientId: string | null, t: number): void {
    if (!this.ready) {
      this.errors.push(`receive_message seq ${seq} before ready`);
      return;
    }
    if (seq === this.lastSeq + 1) {
      this.lastSeq = seq;
    } else if (seq > this.lastSeq + 1) {
      for (let s = this.lastSeq + 1; s < seq; s++) {
        this.missing.add(s);
      }
      this.lastSeq = seq;
    } else if (this.missing.delete(seq)) {
      this.outOfOrder++;
    } else {
      this.duplicates++;
      return;
    }
    this.deliveries++;
    this.sink?.onReceive(seq, clientId, t);
  }
}

/** The frame's top-level `type` (the first `"type":"..."` in the text; string values can't
 * contain an unescaped quote, so it can't come from message content). */
function frameType(text: string): string | null {
  const at = text.indexOf('"type":"');
  if (at < 0) {
    return null;
  }
  const start = at + 8;
  const end = text.indexOf('"', start);
  return end < 0 ? null : text.slice(start, end);
}

function intField(text: string, key: string): number | null {
  const at = text.indexOf(key);
  if (at < 0) {
    return null;
  }
  let i = at + key.length;
  let n = 0;
  let digits = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) {
      break;
    }
    n = n * 10 + (c - 48);
    digits++;
  }
  return digits > 0 ? n : null;
}

function stringField(text: string, key: string): string | null {
  const at = text.indexOf(key);
  if (at < 0) {
    return null;
  }
  const start = at + key.length;
  const end = text.indexOf('"', start);
  return end < 0 ? null : text.slice(start, end);
}

export interface OpenResult {
  clients: Client[];
  failures: string[];
  /** ms from the first connect to the last `ready` */
  elapsedMs: number;
}

/**
 * Opens one socket per endpoint, at most `concurrency` upgrades in flight, and waits for every
 * `ready`. Failures are collected, not thrown. After `deadlineMs` no new socket is opened and
 * sockets still waiting for `ready` count as failures, so a slow server can't stall the bench.
 */
export async function openClients(
  endpoints: readonly Endpoint[],
  concurrency: number,
  deadlineMs = 60_000,
): Promise<OpenResult> {
  const clients: Client[] = [];
  const failures: string[] = [];
  const started = now();
  const deadline = started + deadlineMs;
  let next = 0;
  let skipped = 0;
  const worker = async () => {
    while (next < endpoints.length) {
      const i = next++;
      if (now() >= deadline) {
        skipped++;
        continue;
      }
      const client = new Client(endpoints[i] as Endpoint);
      clients.push(client);
      try {
        await client.whenReady(Math.max(1, deadline - now()));
      } catch (err) {
        failures.push(`client ${i}: ${String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  if (skipped > 0) {
    failures.push(`${skipped} sockets not opened: the ${deadlineMs} ms deadline passed`);
  }
  return { clients, failures, elapsedMs: now() - started };
}

/** Closes the sockets and waits (bounded) until they are closed. */
export async function closeClients(clients: readonly Client[], timeoutMs = 10_000): Promise<void> {
  for (const c of clients) {
    c?.close();
  }
  const deadline = now() + timeoutMs;
  while (now() < deadline && clients.some((c) => c && c.ws.readyState !== WebSocket.CLOSED)) {
    await sleep(50);
  }
  for (const c of clients) {
    if (c && c.ws.readyState !== WebSocket.CLOSED) {
      c.ws.terminate();
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `cond()` holds or the timeout passes; returns whether it held. */
export async function waitFor(
  cond: () => boolean,
  timeoutMs: number,
  pollMs = 10,
): Promise<boolean> {
  const deadline = now() + timeoutMs;
  while (!cond()) {
    if (now() >= deadline) {
      return false;
    }
    await sleep(pollMs);
  }
  return true;
}

/** Waits until no client received a frame for `quietMs` (bounded by timeoutMs). */
export async function waitQuiet(
  clients: readonly Client[],
  quietMs: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = now() + timeoutMs;
  let last = -1;
  let lastChange = now();
  while (now() < deadline) {
    let frames = 0;
    for (const c of clients) {
      frames += c?.frames ?? 0;
    }
    if (frames !== last) {
      last = frames;
      lastChange = now();
    } else if (now() - lastChange >= quietMs) {
      return true;
    }
    await sleep(Math.min(50, quietMs / 4));
  }
  return false;
}
