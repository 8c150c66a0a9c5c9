/** Executes the requests of one pipeline on its stream, each to its own result. */
import type { BatchResult, DescribeResult, StmtResult } from "./connection.ts";
import type { ProtoError } from "./errors.ts";
import { HranaError, toProtoError } from "./errors.ts";
import type { StreamRequest } from "./protocol.ts";
import { parseRequest } from "./protocol.ts";
import type { Stream } from "./streams.ts";

export type StreamResponse =
  | { type: "execute"; result: StmtResult }
  | { type: "batch"; result: BatchResult }
  | { type: "sequence" }
  | { type: "describe"; result: DescribeResult }
  | { type: "store_sql" }
  | { type: "close_sql" }
  | { type: "close" }
  | { type: "get_autocommit"; is_autocommit: boolean };

export type StreamResult =
  | { type: "ok"; response: StreamResponse }
  | { type: "error"; error: ProtoError };

/**
 * Every request runs even when an earlier one failed, as on sqld: clients pipeline independent
 * requests (store_sql, batch, close) and rely on batch conditions, not on the pipeline, to stop.
 */
export function runPipeline(stream: Stream, requests: readonly unknown[]): StreamResult[] {
  return requests.map((raw): StreamResult => {
    try {
      return { type: "ok", response: handle(stream, parseRequest(raw)) };
    } catch (e) {
      return { type: "error", error: toProtoError(e) };
    }
  });
}

function handle(stream: Stream, request: StreamRequest): StreamResponse {
  if (stream.closed) {
    throw new HranaError("The stream was closed by an earlier request", "STREAM_CLOSED");
  }
  const { conn, sqls } = stream;
  switch (request.type) {
    case "execute":
      return { type: "execute", result: conn.execute(request.stmt, sqls) };
    case "batch":
      return { type: "batch", result: conn.batch(request.steps, sqls) };
    case "sequence":
      conn.sequence(request.sql, sqls);
      return { type: "sequence" };
    case "describe":
      return { type: "describe", result: conn.describe(request.sql, sqls) };
    case "store_sql":
      if (sqls.has(request.sqlId)) {
        throw new HranaError(`SQL text with id ${request.sqlId} is already stored`, "SQL_EXISTS");
      }
      sqls.set(request.sqlId, request.sql);
      return { type: "store_sql" };
    case "close_sql":
      sqls.delete(request.sqlId);
      return { type: "close_sql" };
    case "close":
      // Closing the connection rolls back a transaction the client left open, like sqld.
      stream.close();
      return { type: "close" };
    case "get_autocommit":
      return { type: "get_autocommit", is_autocommit: !conn.inTransaction };
  }
}
