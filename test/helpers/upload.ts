import { request } from "node:http";

/**
 * POSTs `body` over node:http in chunks of `chunkBytes`, and stops sending as soon as the server
 * answers. A server that answers early (413 on a body over the limit) closes the connection with
 * the rest of the upload unread, and the kernel then resets it: fetch reports that as a failure
 * of the whole request. It happens only sometimes (whether the client reads the answer before
 * the reset arrives), so bodies bigger than the socket buffers go through here, and an attempt
 * that was reset before any answer is made again (up to 3 in all; a server that never answers
 * still fails). With `contentLength` the length is declared up front; without it the body is
 * chunked. `sent` is how many bytes were written before the answer came.
 */
export async function postUntilAnswered(
  url: string,
  body: Uint8Array,
  opts: { headers?: Record<string, string>; chunkBytes?: number; contentLength?: boolean } = {},
): Promise<{ status: number; body: string; sent: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await postOnce(url, body, opts);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 3 || (code !== "ECONNRESET" && code !== "EPIPE")) {
        throw err;
      }
    }
  }
}

function postOnce(
  url: string,
  body: Uint8Array,
  opts: { headers?: Record<string, string>; chunkBytes?: number; contentLength?: boolean } = {},
): Promise<{ status: number; body: string; sent: number }> {
  const chunkBytes = opts.chunkBytes ?? 16 * 1024;
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  if (opts.contentLength) {
    headers["content-length"] = String(body.byteLength);
  }
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method: "POST", headers }, (res) => {
      answered = true;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        text += d;
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: text, sent });
        req.destroy();
      });
      res.on("error", reject);
    });
    req.on("error", (e) => {
      if (!answered) {
        reject(e);
      }
    });
    const pump = () => {
      if (answered) {
        return;
      }
      if (sent >= body.byteLength) {
        req.end();
        return;
      }
      const chunk = body.subarray(sent, sent + chunkBytes);
      sent += chunk.byteLength;
      req.write(chunk, () => setTimeout(pump, 1));
    };
    pump();
  });
}
