import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LibsqlServer } from "../../scripts/libsql/hrana-server.ts";
import { startLibsqlServer } from "../../scripts/libsql/hrana-server.ts";

// The wire protocol as raw pipeline POSTs, including the requests @libsql/client never sends.

type ProtoValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

interface StmtResult {
  cols: { name: string | null; decltype: string | null }[];
  rows: ProtoValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
}

type StreamResult =
  | { type: "ok"; response: { type: string; result?: unknown; is_autocommit?: boolean } }
  | { type: "error"; error: { message: string; code: string } };

interface PipelineResponse {
  baton: string | null;
  base_url: string | null;
  results: StreamResult[];
}

let dir: string;
let server: LibsqlServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "libsql-protocol-"));
  server = await startLibsqlServer({ file: join(dir, "protocol.db"), port: 0 });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function post(path: string, body: string, contentType = "application/json") {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  });
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    json: await res.json(),
  };
}

async function pipeline(
  requests: unknown[],
  baton: string | null = null,
  path = "/v2/pipeline",
): Promise<PipelineResponse> {
  const res = await post(path, JSON.stringify({ baton, requests }));
  expect(res.status).toBe(200);
  return res.json as PipelineResponse;
}

const int = (value: bigint | number | string): ProtoValue => ({
  type: "integer",
  value: String(value),
});
const text = (value: string): ProtoValue => ({ type: "text", value });
const execute = (sql: string, extra: Record<string, unknown> = {}) => ({
  type: "execute",
  stmt: { sql, ...extra },
});
const close = { type: "close" };

function ok(result: StreamResult | undefined): StreamResult & { type: "ok" } {
  expect(result?.type).toBe("ok");
  return result as StreamResult & { type: "ok" };
}

function rowsOf(result: StreamResult | undefined): ProtoValue[][] {
  return (ok(result).response.result as StmtResult).rows;
}

function errorCode(result: StreamResult | undefined): string | undefined {
  return result?.type === "error" ? result.error.code : undefined;
}

describe("endpoints", () => {
  it("answers version probes and health checks, and 404 on /v3-protobuf so v3 clients use JSON", async () => {
    for (const path of ["/health", "/v2", "/v3"]) {
      expect((await fetch(`${server.url}${path}`)).status).toBe(200);
    }
    expect((await fetch(`${server.url}/v3-protobuf`)).status).toBe(404);
    const protobuf = await post("/v3-protobuf/pipeline", "", "application/x-protobuf");
    expect(protobuf.status).toBe(404);
    expect((await fetch(`${server.url}/v2/pipeline`)).status).toBe(405);
  });

  it("answers /v3/pipeline exactly like /v2/pipeline", async () => {
    const requests = [execute("SELECT 1 AS one, 'x' AS s, NULL AS n"), close];
    const v2 = await pipeline(requests);
    const v3 = await pipeline(requests, null, "/v3/pipeline");
    expect(v3).toEqual(v2);
    expect(v2).toEqual({
      baton: null,
      base_url: null,
      results: [
        {
          type: "ok",
          response: {
            type: "execute",
            result: {
              cols: [
                { name: "one", decltype: null },
                { name: "s", decltype: null },
                { name: "n", decltype: null },
              ],
              rows: [[int(1), text("x"), { type: "null" }]],
              affected_row_count: 0,
              last_insert_rowid: null,
            },
          },
        },
        { type: "ok", response: { type: "close" } },
      ],
    });
  });

  it("refuses bodies that are not pipelines with 400 and a JSON error", async () => {
    for (const body of ["{not json", "[]", '{"requests":"nope"}', '{"baton":7,"requests":[]}']) {
      const res = await post("/v2/pipeline", body);
      expect(res.status).toBe(400);
      expect(res.contentType).toBe("application/json");
      expect(res.json).toMatchObject({ error: expect.any(String), code: "BAD_REQUEST" });
    }
    const plain = await post("/v2/pipeline", '{"requests":[]}', "text/plain");
    expect(plain.status).toBe(415);
  });

  it("refuses requests whose Host header is not a loopback name", async () => {
    const status = await new Promise<number | undefined>((done, fail) => {
      const req = request(
        `${server.url}/health`,
        { headers: { host: "evil.example:80" } },
        (res) => {
          res.resume();
          done(res.statusCode);
        },
      );
      req.on("error", fail);
      req.end();
    });
    expect(status).toBe(403);
  });
});

describe("streams and batons", () => {
  it("returns a fresh baton on every response while the stream is open, and null once closed", async () => {
    const first = await pipeline([{ type: "get_autocommit" }]);
    expect(first.baton).toEqual(expect.any(String));
    const second = await pipeline([execute("SELECT 1")], first.baton);
    expect(second.baton).toEqual(expect.any(String));
    expect(second.baton).not.toBe(first.baton);
    const last = await pipeline([close], second.baton);
    expect(last.baton).toBeNull();
  });

  it("refuses unknown, reused and closed batons with 400 and a JSON error", async () => {
    const attempt = (baton: string | null) =>
      post("/v2/pipeline", JSON.stringify({ baton, requests: [{ type: "get_autocommit" }] }));

    const unknown = await attempt("made-up-baton");
    expect(unknown.status).toBe(400);
    expect(unknown.contentType).toBe("application/json");
    expect(unknown.json).toMatchObject({ error: expect.any(String), code: "BATON_INVALID" });

    const first = await pipeline([{ type: "get_autocommit" }]);
    const second = await pipeline([{ type: "get_autocommit" }], first.baton);
    const reused = await attempt(first.baton);
    expect(reused.status).toBe(400);
    expect(reused.json).toMatchObject({ code: "BATON_REUSED" });

    await pipeline([close], second.baton);
    const closed = await attempt(second.baton);
    expect(closed.status).toBe(400);
    expect(closed.json).toMatchObject({ code: "STREAM_CLOSED" });
  });

  it("get_autocommit reports whether the stream's connection is inside a transaction", async () => {
    const first = await pipeline([{ type: "get_autocommit" }]);
    expect(ok(first.results[0]).response).toEqual({ type: "get_autocommit", is_autocommit: true });
    const inside = await pipeline([execute("BEGIN"), { type: "get_autocommit" }], first.baton);
    expect(ok(inside.results[1]).response.is_autocommit).toBe(false);
    const after = await pipeline(
      [execute("ROLLBACK"), { type: "get_autocommit" }, close],
      inside.baton,
    );
    expect(ok(after.results[1]).response.is_autocommit).toBe(true);
    expect(after.baton).toBeNull();
  });

  it("store_sql and close_sql manage per-stream SQL texts that requests use by sql_id", async () => {
    const first = await pipeline([
      { type: "store_sql", sql_id: 1, sql: "SELECT ? * 2 AS doubled" },
      { type: "execute", stmt: { sql_id: 1, args: [int(21)] } },
      { type: "store_sql", sql_id: 1, sql: "SELECT 'replaced'" },
      { type: "store_sql", sql_id: 2, sql: "SELECT 'two' AS two" },
    ]);
    expect(rowsOf(first.results[1])).toEqual([[int(42)]]);
    expect(errorCode(first.results[2])).toBe("SQL_EXISTS");

    const other = await pipeline([{ type: "execute", stmt: { sql_id: 2 } }, close]);
    expect(errorCode(other.results[0])).toBe("SQL_NOT_FOUND");

    const second = await pipeline(
      [
        { type: "execute", stmt: { sql_id: 2 } },
        { type: "close_sql", sql_id: 2 },
        { type: "execute", stmt: { sql_id: 2 } },
        { type: "sequence", sql_id: 1 },
        close,
      ],
      first.baton,
    );
    expect(rowsOf(second.results[0])).toEqual([[text("two")]]);
    expect(ok(second.results[1]).response).toEqual({ type: "close_sql" });
    expect(errorCode(second.results[2])).toBe("SQL_NOT_FOUND");
    // A stored statement with a parameter cannot run as a sequence, which binds nothing.
    expect(errorCode(second.results[3])).toBe("ARGS_INVALID");
  });

  it("runs every request of a pipeline even after one fails, and reports unknown types as errors", async () => {
    const res = await pipeline([
      execute("SELECT * FROM nowhere"),
      { type: "open_cursor" },
      "not a request",
      execute("SELECT 2 AS two"),
      close,
      execute("SELECT 3"),
    ]);
    expect(res.results[0]).toMatchObject({
      type: "error",
      error: { code: "SQLITE_ERROR", message: "SQLite error: no such table: nowhere" },
    });
    expect(errorCode(res.results[1])).toBe("UNKNOWN_REQUEST");
    expect(errorCode(res.results[2])).toBe("INVALID_REQUEST");
    expect(rowsOf(res.results[3])).toEqual([[int(2)]]);
    expect(ok(res.results[4]).response.type).toBe("close");
    expect(errorCode(res.results[5])).toBe("STREAM_CLOSED");
    expect(res.baton).toBeNull();
  });
});

describe("requests", () => {
  it("describe reports parameters, columns, and whether a statement is EXPLAIN or read-only", async () => {
    const res = await pipeline([
      execute("CREATE TABLE described (id INTEGER PRIMARY KEY, name TEXT)"),
      {
        type: "describe",
        sql: "SELECT id AS i, name FROM described WHERE id = :id OR name = ? OR name = @id",
      },
      { type: "describe", sql: "INSERT INTO described (name) VALUES (?1)" },
      { type: "store_sql", sql_id: 7, sql: "EXPLAIN SELECT 1" },
      { type: "describe", sql_id: 7 },
      { type: "describe", sql: "SELECT * FROM nowhere" },
      close,
    ]);
    expect(ok(res.results[1]).response).toEqual({
      type: "describe",
      result: {
        params: [{ name: ":id" }, { name: null }, { name: "@id" }],
        cols: [
          { name: "i", decltype: "INTEGER" },
          { name: "name", decltype: "TEXT" },
        ],
        is_explain: false,
        is_readonly: true,
      },
    });
    expect(ok(res.results[2]).response.result).toEqual({
      params: [{ name: "?1" }],
      cols: [],
      is_explain: false,
      is_readonly: false,
    });
    expect(ok(res.results[4]).response.result).toMatchObject({
      is_explain: true,
      is_readonly: true,
    });
    expect(errorCode(res.results[5])).toBe("SQLITE_ERROR");
  });

  it("batch conditions ok, error, not, and, or and is_autocommit decide which steps run", async () => {
    const step = (sql: string, condition?: unknown) => ({ stmt: { sql }, condition });
    const res = await pipeline([
      {
        type: "batch",
        batch: {
          steps: [
            step("SELECT 0"),
            step("SELECT * FROM nowhere"),
            step("SELECT 2", { type: "ok", step: 1 }),
            step("SELECT 3", { type: "error", step: 1 }),
            step("SELECT 4", { type: "not", cond: { type: "ok", step: 0 } }),
            step("SELECT 5", {
              type: "and",
              conds: [
                { type: "ok", step: 0 },
                { type: "error", step: 1 },
              ],
            }),
            step("SELECT 6", {
              type: "or",
              conds: [
                { type: "ok", step: 1 },
                { type: "ok", step: 2 },
              ],
            }),
            step("SELECT 7", { type: "is_autocommit" }),
            step("BEGIN"),
            step("SELECT 9", { type: "is_autocommit" }),
            step("ROLLBACK", { type: "not", cond: { type: "is_autocommit" } }),
          ],
        },
      },
      { type: "batch", batch: { steps: [step("SELECT 1", { type: "ok", step: 0 })] } },
      close,
    ]);
    const result = ok(res.results[0]).response.result as {
      step_results: (StmtResult | null)[];
      step_errors: ({ code: string } | null)[];
    };
    const ran = result.step_results.map((r) => r !== null);
    expect(ran).toEqual([true, false, false, true, false, true, false, true, true, false, true]);
    expect(result.step_errors.map((e) => e?.code ?? null)).toEqual([
      null,
      "SQLITE_ERROR",
      ...Array<null>(9).fill(null),
    ]);
    // A condition may only name an earlier step.
    expect(errorCode(res.results[1])).toBe("INVALID_REQUEST");
  });

  it("binds named args with or without their prefix and reports mismatched arguments", async () => {
    const named = (pairs: [string, ProtoValue][]) =>
      pairs.map(([name, value]) => ({ name, value }));
    const res = await pipeline([
      execute("SELECT :a AS a, @b AS b, $c AS c, :a AS again", {
        named_args: named([
          ["a", int(1)],
          ["@b", int(2)],
          ["c", int(3)],
        ]),
      }),
      execute("SELECT :a", { named_args: named([["@a", int(1)]]) }),
      execute("SELECT ?", { args: [] }),
      execute("SELECT ?", { args: [int(1), int(2)] }),
      execute("SELECT ?, :a", { args: [int(1)], named_args: named([["a", int(2)]]) }),
      execute("SELECT :a", { args: [int(1)] }),
      execute("SELECT ?3 AS three, ?1 AS one", { args: [int(1), int(2), int(3)] }),
      close,
    ]);
    expect(rowsOf(res.results[0])).toEqual([[int(1), int(2), int(3), int(1)]]);
    expect(errorCode(res.results[1])).toBe("ARGS_INVALID");
    expect(errorCode(res.results[2])).toBe("ARGS_INVALID");
    expect(errorCode(res.results[3])).toBe("ARGS_INVALID");
    expect(errorCode(res.results[4])).toBe("ARGS_BOTH_POSITIONAL_AND_NAMED");
    expect(errorCode(res.results[5])).toBe("ARGS_INVALID");
    expect(rowsOf(res.results[6])).toEqual([[int(3), int(1)]]);
  });

  it("carries 64-bit integers as decimal strings and takes blobs with or without base64 padding", async () => {
    const res = await pipeline([
      execute("SELECT ?1 AS v, typeof(?1) AS t", { args: [int("9007199254740993")] }),
      execute("SELECT ?1 AS b, length(?1) AS n", { args: [{ type: "blob", base64: "/w" }] }),
      execute("SELECT ?1 AS b", { args: [{ type: "blob", base64: "AAE=" }] }),
      execute("SELECT ?1 AS f, typeof(?1) AS t", { args: [{ type: "float", value: 2 }] }),
      execute("SELECT ? AS n", { args: [{ type: "null" }] }),
      execute("SELECT 1e308 * 10 AS inf, -1e308 * 10 AS neg"),
      execute("SELECT ?", { args: [{ type: "integer", value: "9223372036854775808" }] }),
      execute("SELECT ?", { args: [{ type: "integer", value: "12.5" }] }),
      execute("SELECT ?", { args: [{ type: "blob", base64: "not base64!" }] }),
      execute("SELECT ?", { args: [{ type: "boolean", value: true }] }),
      close,
    ]);
    expect(rowsOf(res.results[0])).toEqual([[int("9007199254740993"), text("integer")]]);
    expect(rowsOf(res.results[1])).toEqual([[{ type: "blob", base64: "/w==" }, int(1)]]);
    expect(rowsOf(res.results[2])).toEqual([[{ type: "blob", base64: "AAE=" }]]);
    expect(rowsOf(res.results[3])).toEqual([[{ type: "float", value: 2 }, text("real")]]);
    expect(rowsOf(res.results[4])).toEqual([[{ type: "null" }]]);
    expect(rowsOf(res.results[5])).toEqual([
      [
        { type: "float", value: Number.POSITIVE_INFINITY },
        { type: "float", value: Number.NEGATIVE_INFINITY },
      ],
    ]);
    for (const i of [6, 7, 8, 9]) {
      expect(errorCode(res.results[i])).toBe("INVALID_VALUE");
    }
  });

  it("counts affected rows even when want_rows is false, and returns no rows then", async () => {
    const res = await pipeline([
      execute("CREATE TABLE quiet (x)"),
      execute("INSERT INTO quiet VALUES (1), (2) RETURNING x", { want_rows: false }),
      close,
    ]);
    expect(ok(res.results[1]).response.result).toEqual({
      cols: [{ name: "x", decltype: null }],
      rows: [],
      affected_row_count: 2,
      last_insert_rowid: "2",
    });
  });

  it("a BEGIN ... READONLY transaction refuses writes until it ends", async () => {
    const res = await pipeline([
      execute("CREATE TABLE ro (x)"),
      execute("BEGIN TRANSACTION READONLY"),
      execute("INSERT INTO ro VALUES (1)"),
      { type: "get_autocommit" },
      execute("COMMIT"),
      execute("INSERT INTO ro VALUES (2)"),
      execute("BEGIN READONLY"),
      execute("ROLLBACK"),
      execute("INSERT INTO ro VALUES (3)"),
      execute("SELECT count(*) FROM ro"),
      close,
    ]);
    expect(res.results[2]).toMatchObject({ type: "error", error: { code: "SQLITE_READONLY" } });
    expect(ok(res.results[3]).response.is_autocommit).toBe(false);
    for (const i of [4, 5, 6, 7, 8]) {
      ok(res.results[i]);
    }
    expect(rowsOf(res.results[9])).toEqual([[int(2)]]);
  });
});
