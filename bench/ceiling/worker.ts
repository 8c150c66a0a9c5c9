/**
 * The benchmark's "ceiling" room: the least a Durable Object can do and still speak the chat
 * protocol's hot path, so `npm run bench` can report the real service as a ratio to it on the
 * same workerd with the same client.
 *
 * Per message it does exactly: JSON.parse of the frame, one read of the sender's attachment
 * (identity), one SQLite INSERT ... RETURNING that assigns `seq` (same columns and the same
 * unique (author_id, client_id) index as the product's timeline), one JSON.stringify for the ack
 * and one for the broadcast, then `send` to every socket. No auth, no validation, no rate limit,
 * no presence, no receipts. Not product code: it lives outside src/ on purpose.
 *
 * Routes (same paths as the service so the bench client builds URLs the same way):
 * - GET /api/rooms/:id/ws?user=<id>&name=<display name>  (WebSocket upgrade; first frame `ready`)
 * - GET /api/rooms/:id/messages?before=<seq>&limit=<n>   (history page, ascending)
 */
import { DurableObject } from "cloudflare:workers";

interface CeilingEnv {
  ROOM: DurableObjectNamespace<CeilingRoom>;
}

/** What each socket carries across hibernation: user id, display name, room id. */
interface Identity {
  u: string;
  n: string;
  r: string;
}

interface MessageRow {
  id: string;
  seq: number;
  author_id: string;
  author_name: string;
  content: string;
  client_id: string | null;
  reply_to: number | null;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
  [key: string]: SqlStorageValue;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  author_id TEXT NOT NULL,
  author_name TEXT NOT NULL,
  content TEXT NOT NULL,
  client_id TEXT,
  reply_to INTEGER,
  created_at INTEGER NOT NULL,
  edited_at INTEGER,
  deleted_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_author_client ON messages (author_id, client_id);
`;

export class CeilingRoom extends DurableObject<CeilingEnv> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: CeilingEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    ctx.setWebSocketAutoResponse(
      new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'),
    );
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const roomId = request.headers.get("x-room-id") ?? "";
    if (url.pathname.endsWith("/ws")) {
      const pair = new WebSocketPair();
      const server = pair[1];
      this.ctx.acceptWebSocket(server);
      const identity: Identity = {
        u: url.searchParams.get("user") ?? "anon",
        n: url.searchParams.get("name") ?? "anon",
        r: roomId,
      };
      server.serializeAttachment(identity);
      server.send(JSON.stringify({ type: "ready", lastSeq: this.lastSeq() }));
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 50) || 50, 200);
    const before = Number(url.searchParams.get("before") ?? Number.MAX_SAFE_INTEGER);
    const rows = this.sql
      .exec<MessageRow>(
        "SELECT * FROM messages WHERE seq < ? ORDER BY seq DESC LIMIT ?",
        before,
        limit,
      )
      .toArray()
      .reverse();
    const messages = rows.map((m) => toMessage(m, roomId));
    const first = rows[0];
    return Response.json({
      messages,
      nextCursor: first && rows.length === limit ? first.seq : null,
      latestSeq: this.lastSeq(),
    });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const frame = JSON.parse(data as string) as { type: string; content: string; clientId: string };
    if (frame.type !== "send_message") {
      return;
    }
    const who = ws.deserializeAttachment() as Identity;
    const id = crypto.randomUUID();
    const now = Date.now();
    const { seq } = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO messages (id, author_id, author_name, content, client_id, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq",
        id,
        who.u,
        who.n,
        frame.content,
        frame.clientId,
        now,
      )
      .one();
    ws.send(JSON.stringify({ type: "ack", clientId: frame.clientId, seq, id }));
    const out = JSON.stringify({
      type: "receive_message",
      seq,
      message: {
        id,
        seq,
        roomId: who.r,
        authorId: who.u,
        authorName: who.n,
        content: frame.content,
        clientId: frame.clientId,
        replyTo: null,
        createdAt: new Date(now).toISOString(),
        editedAt: null,
        deletedAt: null,
      },
    });
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.send(out);
      } catch {
        // closing socket: nothing to deliver to
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 ? 1000 : code, "bye");
    } catch {
      // already closed
    }
  }

  private lastSeq(): number {
    const row = this.sql.exec<{ s: number | null }>("SELECT max(seq) AS s FROM messages").one();
    return row.s ?? 0;
  }
}

function toMessage(m: MessageRow, roomId: string) {
  return {
    id: m.id,
    seq: m.seq,
    roomId,
    authorId: m.author_id,
    authorName: m.author_name,
    content: m.content,
    clientId: m.client_id,
    replyTo: m.reply_to,
    createdAt: new Date(m.created_at).toISOString(),
    editedAt: m.edited_at === null ? null : new Date(m.edited_at).toISOString(),
    deletedAt: m.deleted_at === null ? null : new Date(m.deleted_at).toISOString(),
  };
}

export default {
  async fetch(request: Request, env: CeilingEnv): Promise<Response> {
    const match = /^\/api\/rooms\/([^/]+)\/(ws|messages)$/.exec(new URL(request.url).pathname);
    if (!match?.[1]) {
      return new Response("not found", { status: 404 });
    }
    const roomId = decodeURIComponent(match[1]);
    const headers = new Headers(request.headers);
    headers.set("x-room-id", roomId);
    return env.ROOM.getByName(roomId).fetch(new Request(request, { headers }));
  },
} satisfies ExportedHandler<CeilingEnv>;
