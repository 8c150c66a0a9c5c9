import WebSocket from "ws";

export interface Frame {
  type: string;
  [key: string]: any;
}

/**
 * A real WebSocket client that records every frame it receives, so a test can wait for the next
 * frame matching a predicate (with a timeout that says what it waited for) or assert on the log.
 */
export class TestSocket {
  readonly frames: Frame[] = [];
  closeCode: number | null = null;
  closeReason = "";
  private cursor = 0;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closeCode = code;
      this.closeReason = String(reason);
      this.wake();
    });
  }

  /** Opens a socket; resolves once open, rejects with the HTTP status if the upgrade is refused. */
  static open(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const socket = new TestSocket(ws);
      ws.once("open", () => resolve(socket));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          body += d;
        });
        res.on("end", () =>
          reject(
            Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), {
              status: res.statusCode,
              body,
            }),
          ),
        );
      });
      ws.once("error", reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w();
    }
  }

  /** Waits for the next not-yet-consumed frame matching `match` (consumes frames up to it). */
  async next(
    match: string | ((f: Frame) => boolean),
    timeoutMs = 5000,
    what = typeof match === "string" ? match : "matching frame",
  ): Promise<Frame> {
    const pred = typeof match === "string" ? (f: Frame) => f.type === match : match;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const f = this.frames[this.cursor++] as Frame;
        if (pred(f)) {
          return f;
        }
      }
      if (this.closeCode !== null) {
        throw new Error(`socket closed (${this.closeCode}) while waiting for ${what}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.frames.slice(-5))}`,
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Resolves with the close code once the server (or network) closes the socket. */
  async closed(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === null) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for the socket to close`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closeCode;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(1000);
    }
  }
}
