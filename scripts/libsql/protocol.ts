/**
 * The Hrana 2/3 JSON request shapes this server accepts, and their validation. Validation
 * errors of a single request become that request's error result; only a body that is not a
 * pipeline at all fails the HTTP request.
 */
import { HranaError, HttpError } from "./errors.ts";
import type { SqlValue } from "./values.ts";
import { decodeValue } from "./values.ts";

export interface Stmt {
  sql: SqlRef;
  args: SqlValue[];
  /** Keyed by the name exactly as sent (with or without its `:`/`@`/`$` prefix). */
  namedArgs: Map<string, SqlValue>;
  wantRows: boolean;
}

/** SQL text given inline, or by the id a `store_sql` request gave it on the same stream. */
export type SqlRef = { sql: string } | { sqlId: number };

export type BatchCond =
  | { type: "ok"; step: number }
  | { type: "error"; step: number }
  | { type: "not"; cond: BatchCond }
  | { type: "and"; conds: BatchCond[] }
  | { type: "or"; conds: BatchCond[] }
  | { type: "is_autocommit" };

export interface BatchStep {
  stmt: Stmt;
  condition: BatchCond | null;
}

export type StreamRequest =
  | { type: "execute"; stmt: Stmt }
  | { type: "batch"; steps: BatchStep[] }
  | { type: "sequence"; sql: SqlRef }
  | { type: "describe"; sql: SqlRef }
  | { type: "store_sql"; sqlId: number; sql: string }
  | { type: "close_sql"; sqlId: number }
  | { type: "close" }
  | { type: "get_autocommit" };

export interface PipelineBody {
  baton: string | null;
  requests: unknown[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(message: string): HranaError {
  return new HranaError(message, "INVALID_REQUEST");
}

/** Fails the HTTP request (400) when the body is not a pipeline request at all. */
export function parsePipelineBody(text: string): PipelineBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "The request body is not valid JSON", "BAD_REQUEST");
  }
  if (!isRecord(body)) {
    throw new HttpError(400, "The request body must be a JSON object", "BAD_REQUEST");
  }
  const { baton, requests } = body;
  if (baton !== undefined && baton !== null && typeof baton !== "string") {
    throw new HttpError(400, "`baton` must be a string or null", "BAD_REQUEST");
  }
  if (!Array.isArray(requests)) {
    throw new HttpError(400, "`requests` must be an array", "BAD_REQUEST");
  }
  return { baton: baton ?? null, requests };
}

function sqlId(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw invalid("`sql_id` must be an integer");
  }
  return value;
}

function sqlRef(obj: Record<string, unknown>): SqlRef {
  const hasSql = obj.sql !== undefined && obj.sql !== null;
  const hasId = obj.sql_id !== undefined && obj.sql_id !== null;
  if (hasSql && hasId) {
    throw invalid("Give either `sql` or `sql_id`, not both");
  }
  if (hasId) {
    return { sqlId: sqlId(obj.sql_id) };
  }
  if (typeof obj.sql !== "string") {
    throw invalid("`sql` (a string) or `sql_id` is required");
  }
  return { sql: obj.sql };
}

function parseStmt(raw: unknown): Stmt {
  if (!isRecord(raw)) {
    throw invalid("`stmt` must be an object");
  }
  const args = raw.args ?? [];
  const named = raw.named_args ?? [];
  if (!Array.isArray(args) || !Array.isArray(named)) {
    throw invalid("`args` and `named_args` must be arrays");
  }
  const namedArgs = new Map<string, SqlValue>();
  for (const arg of named) {
    if (!isRecord(arg) || typeof arg.name !== "string") {
      throw invalid("Each named argument needs a string `name` and a `value`");
    }
    namedArgs.set(arg.name, decodeValue(arg.value));
  }
  const wantRows = raw.want_rows ?? true;
  if (typeof wantRows !== "boolean") {
    throw invalid("`want_rows` must be a boolean");
  }
  return { sql: sqlRef(raw), args: args.map(decodeValue), namedArgs, wantRows };
}

function parseCond(raw: unknown, stepIndex: number): BatchCond {
  if (!isRecord(raw)) {
    throw invalid("A batch condition must be an object");
  }
  switch (raw.type) {
    case "ok":
    case "error": {
      const step = raw.step;
      // A condition can only look back: the step it names must already have run (or been
      // skipped) when this one is considered.
      if (typeof step !== "number" || !Number.isInteger(step) || step < 0 || step >= stepIndex) {
        throw invalid(`Batch step ${stepIndex} refers to step ${String(step)}, not an earlier one`);
      }
      return { type: raw.type, step };
    }
    case "not":
      return { type: "not", cond: parseCond(raw.cond, stepIndex) };
    case "and":
    case "or": {
      if (!Array.isArray(raw.conds)) {
        throw invalid(`A \`${raw.type}\` condition needs a \`conds\` array`);
      }
      return { type: raw.type, conds: raw.conds.map((c) => parseCond(c, stepIndex)) };
    }
    case "is_autocommit":
      return { type: "is_autocommit" };
    default:
      throw invalid(`Unknown batch condition type ${JSON.stringify(raw.type)}`);
  }
}

function parseBatch(raw: unknown): BatchStep[] {
  if (!isRecord(raw) || !Array.isArray(raw.steps)) {
    throw invalid("`batch` must be an object with a `steps` array");
  }
  return raw.steps.map((step, i): BatchStep => {
    if (!isRecord(step)) {
      throw invalid("Each batch step must be an object");
    }
    const condition =
      step.condition === undefined || step.condition === null ? null : parseCond(step.condition, i);
    return { stmt: parseStmt(step.stmt), condition };
  });
}

/** Validates one entry of `requests`; throws a HranaError that becomes its error result. */
export function parseRequest(raw: unknown): StreamRequest {
  if (!isRecord(raw) || typeof raw.type !== "string") {
    throw invalid("Each request must be an object with a string `type`");
  }
  switch (raw.type) {
    case "execute":
      return { type: "execute", stmt: parseStmt(raw.stmt) };
    case "batch":
      return { type: "batch", steps: parseBatch(raw.batch) };
    case "sequence":
      return { type: "sequence", sql: sqlRef(raw) };
    case "describe":
      return { type: "describe", sql: sqlRef(raw) };
    case "store_sql":
      if (typeof raw.sql !== "string") {
        throw invalid("`store_sql` needs a string `sql`");
      }
      return { type: "store_sql", sqlId: sqlId(raw.sql_id), sql: raw.sql };
    case "close_sql":
      return { type: "close_sql", sqlId: sqlId(raw.sql_id) };
    case "close":
      return { type: "close" };
    case "get_autocommit":
      return { type: "get_autocommit" };
    default:
      throw new HranaError(`Unknown request type ${JSON.stringify(raw.type)}`, "UNKNOWN_REQUEST");
  }
}
