/**
 * Hrana-over-HTTP streams: one SQLite connection each, addressed by a baton that changes on
 * every response, expired after a spell of inactivity, and serialised around open transactions.
 *
 * The serialisation replaces SQLite's busy handling. A second connection that touched the
 * database while another held a write transaction would get SQLITE_BUSY at once (there is no
 * busy timeout, see connection.ts), so instead a stream whose connection is inside a transaction
 * at the end of a request keeps an exclusive lock, and requests from every other stream wait in
 * arrival order until it commits, rolls back, closes or expires: the way sqld queues writers.
 */
import { randomBytes } from "node:crypto";
import { SqlConnection } from "./connection.ts";
import { HttpError } from "./errors.ts";

export class Stream {
  readonly id: number;
  readonly conn: SqlConnection;
  /** SQL texts stored with `store_sql`, private to this stream. */
  readonly sqls = new Map<number, string>();
  /** The baton that addresses this stream now; null while a request holds it. */
  baton: string | null = null;
  timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(id: number, conn: SqlConnection) {
    this.id = id;
    this.conn = conn;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearTimeout(this.timer);
    this.conn.close();
  }
}

type Retired = "superseded" | "expired" | "closed";

interface Waiter {
  stream: Stream;
  grant: () => void;
  refuse: (error: Error) => void;
}

export interface StreamManagerOptions {
  file: string;
  idleTimeoutMs: number;
  log: (line: string) => void;
}

/** Old batons remembered so a refusal can say why; bounded, oldest forgotten first. */
const RETIRED_BATONS = 4096;

export class StreamManager {
  readonly #opts: StreamManagerOptions;
  readonly #streams = new Map<string, Stream>();
  readonly #retired = new Map<string, Retired>();
  /** The stream that is executing, or whose connection holds an open transaction. */
  #owner: Stream | null = null;
  readonly #waiting: Waiter[] = [];
  #nextId = 1;
  #closed = false;

  constructor(opts: StreamManagerOptions) {
    this.#opts = opts;
  }

  /**
   * Runs `work` on the stream a baton names (a new stream when it is null) once no other stream
   * holds the lock, and returns what it produced with the baton for the next request: a fresh
   * one, or null when the stream was closed.
   */
  async use<T>(baton: string | null, work: (stream: Stream) => T): Promise<[T, string | null]> {
    if (this.#closed) {
      throw new HttpError(503, "The server is shutting down", "SERVER_CLOSING");
    }
    const stream = baton === null ? this.#open() : this.#take(baton);
    try {
      await this.#lock(stream);
    } catch (e) {
      stream.close();
      throw e;
    }
    if (this.#closed) {
      // Granted the lock just before shutdown: the stream must not outlive closeAll().
      stream.close();
      this.#unlock(stream);
      throw new HttpError(503, "The server is shutting down", "SERVER_CLOSING");
    }
    let value: T;
    try {
      value = work(stream);
    } catch (e) {
      stream.close();
      this.#unlock(stream);
      throw e;
    }
    const next = this.#park(stream, baton);
    this.#unlock(stream);
    return [value, next];
  }

  /** Rolls back and closes every stream, and turns away every waiting request. */
  closeAll(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) {
      waiter.refuse(new HttpError(503, "The server is shutting down", "SERVER_CLOSING"));
    }
    for (const stream of this.#streams.values()) {
      stream.close();
    }
    this.#streams.clear();
    this.#owner = null;
  }

  #open(): Stream {
    return new Stream(this.#nextId++, new SqlConnection(this.#opts.file));
  }

  #take(baton: string): Stream {
    const stream = this.#streams.get(baton);
    if (stream === undefined) {
      // sqld answers these with errors as well; 400 because the client sent a baton that can no
      // longer be used, whatever the reason.
      switch (this.#retired.get(baton)) {
        case "expired":
          throw new HttpError(400, "The stream has expired due to inactivity", "STREAM_EXPIRED");
        case "closed":
          throw new HttpError(400, "The stream of this baton has been closed", "STREAM_CLOSED");
        case "superseded":
          throw new HttpError(
            400,
            "This baton has already been used; send the one from the latest response",
            "BATON_REUSED",
          );
        default:
          throw new HttpError(400, "The baton is not valid on this server", "BATON_INVALID");
      }
    }
    this.#streams.delete(baton);
    this.#retire(baton, "superseded");
    clearTimeout(stream.timer);
    stream.baton = null;
    return stream;
  }

  /** Gives the stream its next baton and idle deadline, unless it was closed. */
  #park(stream: Stream, usedBaton: string | null): string | null {
    if (stream.closed) {
      if (usedBaton !== null) {
        this.#retire(usedBaton, "closed");
      }
      return null;
    }
    // A fresh random baton per response: stale copies are refused, so requests on a stream
    // cannot overlap or be replayed.
    const baton = randomBytes(24).toString("base64url");
    stream.baton = baton;
    this.#streams.set(baton, stream);
    stream.timer = setTimeout(() => this.#expire(stream), this.#opts.idleTimeoutMs);
    stream.timer.unref();
    return baton;
  }

  #expire(stream: Stream): void {
    const baton = stream.baton;
    if (baton === null || stream.closed) {
      return;
    }
    const rolledBack = stream.conn.inTransaction;
    this.#streams.delete(baton);
    this.#retire(baton, "expired");
    stream.close();
    this.#opts.log(
      `stream ${stream.id} expired after ${this.#opts.idleTimeoutMs} ms idle` +
        (rolledBack ? "; its open transaction was rolled back" : ""),
    );
    this.#unlock(stream);
  }

  #retire(baton: string, why: Retired): void {
    this.#retired.delete(baton);
    this.#retired.set(baton, why);
    if (this.#retired.size > RETIRED_BATONS) {
      const oldest = this.#retired.keys().next();
      if (oldest.done !== true) {
        this.#retired.delete(oldest.value);
      }
    }
  }

  #lock(stream: Stream): Promise<void> {
    if (this.#owner === null || this.#owner === stream) {
      this.#owner = stream;
      return Promise.resolve();
    }
    return new Promise((grant, refuse) => {
      this.#waiting.push({ stream, grant, refuse });
    });
  }

  /** Passes the lock on, unless the stream still sits in a transaction. */
  #unlock(stream: Stream): void {
    if (this.#owner !== stream || (!stream.closed && stream.conn.inTransaction)) {
      return;
    }
    this.#owner = null;
    const next = this.#waiting.shift();
    if (next !== undefined) {
      // Ownership is handed over here, synchronously, so that nothing arriving before the
      // waiter's continuation runs can slip in ahead of it.
      this.#owner = next.stream;
      next.grant();
    }
  }
}
