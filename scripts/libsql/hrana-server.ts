/**
 * A small libSQL server for local development and tests: Hrana over HTTP (the protocol of
 * @libsql/client and Turso) on the `libsql` npm engine, because no sqld binary can be installed
 * here. It has no authentication and listens on loopback only. See docs/libsql-server.md.
 */
import { Buffer } from "node:buffer";
import { mkdir } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { isIPv4, isIPv6 } from "node:net";
import { dirname, resolve } from "node:path";
import { openDatabase } from "./connection.ts";
import { HttpError } from "./errors.ts";
import { runPipeline } from "./pipeline.ts";
import { parsePipelineBody } from "./protocol.ts";
import { StreamManager } from "./streams.ts";

export interface LibsqlServerOptions {
  /** Database file; created (with its folder) if missing. */
  file: string;
  /** Loopback address to listen on; anything else is refused. Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. Default 0. */
  port?: number;
  /** How long a stream (and its open transaction) may sit idle before it is rolled back. */
  idleStreamTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface LibsqlServer {
  /** `http://127.0.0.1:<port>`, ready for createClient({ url }). */
  url: string;
  port: number;
  /** Rolls back and closes every stream, closes the database and stops listening. */
  close(): Promise<void>;
}

const DEFAULT_IDLE_STREAM_TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const PIPELINE_PATHS = new Set(["/v2/pipeline", "/v3/pipeline"]);
const PROBE_PATHS = new Set(["/", "/health", "/v2", "/v3"]);

/** Maps a loopback host to the address to bind, and refuses anything else. */
export function loopbackAddress(host: string): string {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (bare === "localhost") {
    // Resolving "localhost" could pick ::1 or 127.0.0.1 depending on the machine; the URL this
    // returns must be the address actually bound.
    return "127.0.0.1";
  }
  if (isIPv4(bare) && bare.startsWith("127.")) {
    return bare;
  }
  if (isIPv6(bare) && (bare === "::1" || bare === "0:0:0:0:0:0:0:1")) {
    return "::1";
  }
  throw new Error(
    `Refusing to listen on ${JSON.stringify(host)}: the libSQL dev server has no authentication ` +
      "and binds to loopback only (127.0.0.0/8, ::1 or localhost).",
  );
}

/**
 * Requests must name a loopback host: a web page cannot reach the server through DNS rebinding
 * (its requests would carry the attacker's host name).
 */
function hostAllowed(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) {
    return true;
  }
  const host = hostHeader.startsWith("[")
    ? hostHeader.slice(1, hostHeader.indexOf("]"))
    : (hostHeader.split(":")[0] ?? "");
  try {
    loopbackAddress(host);
    return true;
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.writeHead(status, {
    // Exactly "application/json", no charset: @libsql/client compares the header verbatim before
    // it reads an error body as JSON.
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), "application/json");
}

/** HTTP-level failures carry both `error` and sqld's `message`/`code`, which clients map. */
function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: error.message, message: error.message, code: error.code });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(
        413,
        `Request bodies are limited to ${MAX_BODY_BYTES} bytes`,
        "TOO_LARGE",
      );
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function notFound(path: string): HttpError {
  if (path.startsWith("/v3-protobuf")) {
    // A 404 on the protobuf probe makes a Hrana 3 client fall back to JSON.
    return new HttpError(404, "Hrana over protobuf is not supported; use JSON", "NOT_FOUND");
  }
  if (path.endsWith("/cursor")) {
    return new HttpError(404, "Cursors are not supported by this server", "NOT_FOUND");
  }
  return new HttpError(404, `Nothing at ${path}`, "NOT_FOUND");
}

async function route(req: IncomingMessage, res: ServerResponse, streams: StreamManager) {
  if (!hostAllowed(req.headers.host)) {
    throw new HttpError(403, "Only loopback host names are served", "HOST_NOT_ALLOWED");
  }
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if ((req.method === "GET" || req.method === "HEAD") && PROBE_PATHS.has(path)) {
    send(res, 200, "libSQL dev server: Hrana over HTTP (JSON, v2 and v3)\n", "text/plain");
    return;
  }
  if (!PIPELINE_PATHS.has(path)) {
    throw notFound(path);
  }
  if (req.method !== "POST") {
    throw new HttpError(405, "Pipelines are POSTed", "METHOD_NOT_ALLOWED");
  }
  // Requiring JSON also means a browser page cannot send a pipeline without a CORS preflight,
  // which this server never grants.
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
    throw new HttpError(415, "Pipelines must be sent as application/json", "UNSUPPORTED_MEDIA");
  }
  const body = parsePipelineBody(await readBody(req));
  // The authorization header is accepted and ignored: any token (or none) is fine.
  const [results, baton] = await streams.use(body.baton, (stream) =>
    runPipeline(stream, body.requests),
  );
  sendJson(res, 200, { baton, base_url: null, results });
}

function prepareFile(file: string, log: (line: string) => void): void {
  const db = openDatabase(file);
  try {
    // Fails fast on a file that is not a database, before any client gets a confusing error.
    db.prepare("SELECT count(*) FROM sqlite_schema").raw().all([]);
    try {
      // WAL, as on sqld: readers never block the writer and stray readers (a sqlite3 shell on
      // the same file) do not make commits fail. The mode is stored in the file.
      db.exec("PRAGMA journal_mode = WAL");
    } catch (e) {
      // Another process holding the file can refuse the switch; the server works without it.
      log(`could not switch ${file} to WAL: ${e instanceof Error ? e.message : e}`);
    }
  } finally {
    db.close();
  }
}

export async function startLibsqlServer(opts: LibsqlServerOptions): Promise<LibsqlServer> {
  const host = loopbackAddress(opts.host ?? "127.0.0.1");
  if (opts.file === "" || opts.file === ":memory:" || opts.file.startsWith("file:")) {
    // Every stream opens its own connection, so an in-memory database would be a different,
    // empty one per stream.
    throw new Error("startLibsqlServer needs a database file path (use a temp file for tests)");
  }
  const file = resolve(opts.file);
  const log = opts.log ?? (() => {});
  await mkdir(dirname(file), { recursive: true });
  prepareFile(file, log);
  // One connection stays open for the server's lifetime, so the WAL is not checkpointed and
  // deleted every time the last short-lived stream closes.
  const anchor = openDatabase(file);

  const streams = new StreamManager({
    file,
    idleTimeoutMs: opts.idleStreamTimeoutMs ?? DEFAULT_IDLE_STREAM_TIMEOUT_MS,
    log,
  });
  const server = createServer((req, res) => {
    route(req, res, streams).catch((e: unknown) => {
      if (e instanceof HttpError) {
        sendError(res, e);
        return;
      }
      log(`internal error on ${req.method} ${req.url}: ${e instanceof Error ? e.stack : e}`);
      if (!res.headersSent) {
        const message = e instanceof Error ? e.message : String(e);
        sendError(res, new HttpError(500, message, "INTERNAL_ERROR"));
      }
    });
  });

  try {
    await new Promise<void>((listening, failed) => {
      server.once("error", failed);
      server.listen(opts.port ?? 0, host, () => {
        server.off("error", failed);
        listening();
      });
    });
  } catch (e) {
    anchor.close();
    throw e;
  }

  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log(`listening on ${url} (database ${file})`);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((closed) => {
      streams.closeAll();
      server.close(() => {
        anchor.close();
        closed();
      });
      // Keep-alive sockets would hold close() open until the clients let go.
      server.closeAllConnections();
    });
    return closing;
  };
  return { url, port, close };
}
