/**
 * One SQLite connection (one Hrana stream) and the statement-level requests it executes.
 * Everything here is synchronous: the `libsql` package blocks, and the stream manager makes sure
 * no two streams ever need the database lock at the same time.
 */
import Database from "libsql";
import type { ProtoError } from "./errors.ts";
import { HranaError, toProtoError } from "./errors.ts";
import type { BatchCond, BatchStep, SqlRef, Stmt } from "./protocol.ts";
import type { SqlStatement } from "./sql-text.ts";
import { changesRows, insertsRows, isReadonly, splitStatements } from "./sql-text.ts";
import type { ProtoValue, SqlValue } from "./values.ts";
import { encodeValue } from "./values.ts";

export interface ProtoCol {
  name: string | null;
  decltype: string | null;
}

export interface StmtResult {
  cols: ProtoCol[];
  rows: ProtoValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
}

export interface BatchResult {
  step_results: (StmtResult | null)[];
  step_errors: (ProtoError | null)[];
}

export interface DescribeResult {
  params: { name: string | null }[];
  cols: { name: string; decltype: string | null }[];
  is_explain: boolean;
  is_readonly: boolean;
}

interface Args {
  args: SqlValue[];
  namedArgs: Map<string, SqlValue>;
}

const NO_ARGS: Args = { args: [], namedArgs: new Map() };

/** Opens a connection the way every stream gets one. */
export function openDatabase(file: string): Database.Database {
  // No busy timeout on purpose: calls are synchronous, so waiting on a lock inside SQLite would
  // block the event loop, including the request that would release the lock. Streams are
  // serialised before they get here instead. libsql turns foreign_keys on by default; kept.
  const db = new Database(file);
  try {
    // Durable across crashes of this process, which is all a dev database needs; it spares an
    // fsync per commit (sqld runs WAL with synchronous=NORMAL too).
    db.exec("PRAGMA synchronous = NORMAL");
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

function resolveSql(ref: SqlRef, sqls: ReadonlyMap<number, string>): string {
  if ("sql" in ref) {
    return ref.sql;
  }
  const sql = sqls.get(ref.sqlId);
  if (sql === undefined) {
    throw new HranaError(
      `No SQL text is stored under id ${ref.sqlId} on this stream`,
      "SQL_NOT_FOUND",
    );
  }
  return sql;
}

function singleStatement(sql: string): SqlStatement {
  const [first, ...rest] = splitStatements(sql);
  if (first === undefined) {
    throw new HranaError("SQL string does not contain any statement", "SQL_NO_STATEMENT");
  }
  if (rest.length > 0) {
    throw new HranaError("SQL string contains more than one statement", "SQL_MANY_STATEMENTS");
  }
  return first;
}

function argsInvalid(detail: string): HranaError {
  return new HranaError(`Arguments do not match SQL parameters: ${detail}`, "ARGS_INVALID");
}

/**
 * Lines the arguments up with SQLite's parameter indexes, with sqld's rules: positional
 * arguments fill `?` and `?NNN`, named ones fill `:a`/`@a`/`$a` whether or not the client kept the
 * prefix, and every parameter needs a value (except under EXPLAIN). The result is always one
 * array: the native module panics on an object binding when the SQL has an anonymous `?`.
 */
function bindValues(stmt: SqlStatement, { args, namedArgs }: Args): SqlValue[] {
  if (args.length > 0 && namedArgs.size > 0) {
    throw new HranaError(
      "Specifying both positional and named arguments is not supported",
      "ARGS_BOTH_POSITIONAL_AND_NAMED",
    );
  }
  const count = stmt.params.length;
  const given = Math.max(args.length, namedArgs.size);
  if (given > count) {
    throw argsInvalid(`too many parameters, expected ${count} found ${given}`);
  }
  return stmt.params.map((name, i): SqlValue => {
    let value: SqlValue | undefined;
    if (name === null) {
      value = args[i];
    } else if (name.startsWith("?")) {
      value = args[Number(name.slice(1)) - 1];
    } else {
      value = namedArgs.has(name) ? namedArgs.get(name) : namedArgs.get(name.slice(1));
    }
    if (value !== undefined) {
      return value;
    }
    if (stmt.keyword === "EXPLAIN") {
      return null;
    }
    throw argsInvalid(`value for parameter ${name ?? i + 1} not found`);
  });
}

const EMPTY_RESULT: StmtResult = {
  cols: [],
  rows: [],
  affected_row_count: 0,
  last_insert_rowid: null,
};

export class SqlConnection {
  readonly #db: Database.Database;
  #open = true;
  /** Set while a `BEGIN ... READONLY` transaction runs with PRAGMA query_only on. */
  #readonlyTx = false;

  constructor(file: string) {
    this.#db = openDatabase(file);
  }

  get inTransaction(): boolean {
    return this.#open && this.#db.inTransaction;
  }

  execute(stmt: Stmt, sqls: ReadonlyMap<number, string>): StmtResult {
    const statement = singleStatement(resolveSql(stmt.sql, sqls));
    return this.#run(statement, stmt, stmt.wantRows);
  }

  batch(steps: BatchStep[], sqls: ReadonlyMap<number, string>): BatchResult {
    const results: (StmtResult | null)[] = [];
    const errors: (ProtoError | null)[] = [];
    for (const step of steps) {
      if (step.condition !== null && !this.#holds(step.condition, results, errors)) {
        results.push(null);
        errors.push(null);
        continue;
      }
      try {
        results.push(this.execute(step.stmt, sqls));
        errors.push(null);
      } catch (e) {
        results.push(null);
        errors.push(toProtoError(e));
      }
    }
    return { step_results: results, step_errors: errors };
  }

  /** Runs every statement of a script in order and stops at the first error, which it throws. */
  sequence(ref: SqlRef, sqls: ReadonlyMap<number, string>): void {
    for (const statement of splitStatements(resolveSql(ref, sqls))) {
      this.#run(statement, NO_ARGS, false);
    }
  }

  describe(ref: SqlRef, sqls: ReadonlyMap<number, string>): DescribeResult {
    const statement = singleStatement(resolveSql(ref, sqls));
    const prepared = this.#db.prepare(statement.text);
    return {
      params: statement.params.map((name) => ({ name })),
      cols: prepared.columns().map((c) => ({ name: c.name, decltype: c.type })),
      is_explain: statement.keyword === "EXPLAIN",
      is_readonly: isReadonly(statement),
    };
  }

  /** Rolls back whatever is open and closes the connection; safe to call twice. */
  close(): void {
    if (!this.#open) {
      return;
    }
    this.#open = false;
    try {
      if (this.#db.inTransaction) {
        this.#db.exec("ROLLBACK");
      }
    } catch {
      // Closing the connection rolls back whatever is still open anyway.
    }
    this.#db.close();
  }

  #holds(cond: BatchCond, results: (StmtResult | null)[], errors: (ProtoError | null)[]): boolean {
    switch (cond.type) {
      case "ok":
        return results[cond.step] != null;
      case "error":
        return errors[cond.step] != null;
      case "not":
        return !this.#holds(cond.cond, results, errors);
      case "and":
        return cond.conds.every((c) => this.#holds(c, results, errors));
      case "or":
        return cond.conds.some((c) => this.#holds(c, results, errors));
      case "is_autocommit":
        return !this.#db.inTransaction;
    }
  }

  #run(statement: SqlStatement, args: Args, wantRows: boolean): StmtResult {
    if (!this.#open) {
      throw new HranaError("The stream is closed", "STREAM_CLOSED");
    }
    try {
      if (statement.isBeginReadonly) {
        return this.#beginReadonly();
      }
      return this.#query(statement, args, wantRows);
    } finally {
      this.#afterStatement();
    }
  }

  #query(statement: SqlStatement, args: Args, wantRows: boolean): StmtResult {
    // Compile before binding, so a bad statement reports its SQL error rather than an argument
    // mismatch (and an absurd `?NNN` never sizes an array).
    const prepared = this.#db.prepare(statement.text);
    const values = bindValues(statement, args);
    let cols: ProtoCol[] = [];
    let rows: ProtoValue[][] = [];
    if (prepared.reader) {
      // Parameters go in as ONE array argument: spreading them (`all(...values)`) hands a lone
      // Buffer to the native module as a named-parameter object, and it panics.
      const raw = prepared.raw().safeIntegers(true).all(values) as unknown[][];
      cols = prepared.columns().map((c) => ({ name: c.name, decltype: c.type }));
      if (wantRows) {
        rows = raw.map((row) => row.map(encodeValue));
      }
    } else {
      prepared.run(values);
    }
    if (!changesRows(statement)) {
      return { ...EMPTY_RESULT, cols, rows };
    }
    // run() reports lastInsertRowid as a lossy JS number, and changes() is stale after DDL, so
    // ask SQLite directly, and only for the statements sqld reports these for.
    const [changes, rowid] = this.#db
      .prepare("SELECT changes(), last_insert_rowid()")
      .raw()
      .safeIntegers(true)
      .all([])[0] as [bigint, bigint];
    return {
      cols,
      rows,
      affected_row_count: Number(changes),
      last_insert_rowid: insertsRows(statement) ? rowid.toString() : null,
    };
  }

  /**
   * libSQL's `BEGIN TRANSACTION READONLY` parses in this engine but is not enforced, so run a
   * plain deferred transaction with PRAGMA query_only on until it ends: writes then fail with
   * SQLITE_READONLY, as they would on sqld.
   */
  #beginReadonly(): StmtResult {
    this.#db.exec("BEGIN DEFERRED");
    this.#db.exec("PRAGMA query_only = 1");
    this.#readonlyTx = true;
    return EMPTY_RESULT;
  }

  #afterStatement(): void {
    if (this.#readonlyTx && this.#open && !this.#db.inTransaction) {
      this.#readonlyTx = false;
      this.#db.exec("PRAGMA query_only = 0");
    }
  }
}
