/**
 * Lexical analysis of SQL text, just deep enough for what the `libsql` package does not expose:
 * where one statement ends (Hrana's `execute` must refuse several statements and `sequence` runs
 * them one by one), how SQLite numbers the parameters (`sqlite3_bind_parameter_name` is not
 * exposed, and binding an object to a statement with an anonymous `?` panics the native module),
 * and the leading keywords that decide how a statement is reported.
 *
 * The splitter is the state machine of `sqlite3_complete()`, so `CREATE TRIGGER ... BEGIN ...;
 * END;` stays one statement. Anything this module gets wrong about validity is caught anyway,
 * because every statement it returns is still compiled by SQLite.
 */

export interface SqlStatement {
  /** The statement's own text, from its first token to its `;` (or the end of the input). */
  text: string;
  /**
   * Parameter names by SQLite's 1-based parameter index, as `sqlite3_bind_parameter_name` would
   * report them (`":a"`, `"?3"`); null for an anonymous `?` or an index no token names.
   */
  params: (string | null)[];
  /** First bare word, upper-cased (`"SELECT"`, `"WITH"`, ...), or "" if the statement has none. */
  keyword: string;
  /**
   * The verb that decides what the statement does: the keyword, except that a `WITH` prefix
   * resolves to the top-level `SELECT`/`INSERT`/`UPDATE`/`DELETE`/`REPLACE`/`VALUES` after it.
   */
  verb: string;
  /** `BEGIN [DEFERRED] [TRANSACTION] READONLY`, libSQL-only syntax for a read-only transaction. */
  isBeginReadonly: boolean;
}

type TokenKind = "semi" | "ws" | "word" | "quoted" | "param" | "other";

interface Token {
  kind: TokenKind;
  start: number;
  end: number;
}

// sqlite3_complete() token classes and transition table (see sqlite/src/complete.c).
const TK_SEMI = 0;
const TK_WS = 1;
const TK_OTHER = 2;
const TK_EXPLAIN = 3;
const TK_CREATE = 4;
const TK_TEMP = 5;
const TK_TRIGGER = 6;
const TK_END = 7;

const TRANSITIONS: readonly (readonly number[])[] = [
  /* 0 INVALID */ [1, 0, 2, 3, 4, 2, 2, 2],
  /* 1 START   */ [1, 1, 2, 3, 4, 2, 2, 2],
  /* 2 NORMAL  */ [1, 2, 2, 2, 2, 2, 2, 2],
  /* 3 EXPLAIN */ [1, 3, 3, 2, 4, 2, 2, 2],
  /* 4 CREATE  */ [1, 4, 2, 2, 2, 4, 5, 2],
  /* 5 TRIGGER */ [6, 5, 5, 5, 5, 5, 5, 5],
  /* 6 SEMI    */ [6, 6, 5, 5, 5, 5, 5, 7],
  /* 7 END     */ [1, 7, 5, 5, 5, 5, 5, 5],
];

const COMPLETE_KEYWORDS: ReadonlyMap<string, number> = new Map([
  ["EXPLAIN", TK_EXPLAIN],
  ["CREATE", TK_CREATE],
  ["TEMP", TK_TEMP],
  ["TEMPORARY", TK_TEMP],
  ["TRIGGER", TK_TRIGGER],
  ["END", TK_END],
]);

const WITH_VERBS = new Set(["SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "VALUES"]);

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

/** SQLite's IdChar(): ASCII letters, digits, `_`, `$`, and every byte of a non-ASCII character. */
function isIdChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x5f ||
    code === 0x24 ||
    code >= 0x80
  );
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** Length of the token starting at `i`, and its kind. */
function scanToken(sql: string, i: number): Token {
  const c = sql.charCodeAt(i);
  const next = i + 1 < sql.length ? sql.charCodeAt(i + 1) : -1;
  if (isSpace(c)) {
    let j = i + 1;
    while (j < sql.length && isSpace(sql.charCodeAt(j))) {
      j++;
    }
    return { kind: "ws", start: i, end: j };
  }
  if (c === 0x2d /* - */ && next === 0x2d) {
    const nl = sql.indexOf("\n", i + 2);
    return { kind: "ws", start: i, end: nl < 0 ? sql.length : nl + 1 };
  }
  if (c === 0x2f /* / */ && next === 0x2a /* * */) {
    // An unterminated block comment runs to the end of the input, as in SQLite's tokenizer.
    const close = sql.indexOf("*/", i + 2);
    return { kind: "ws", start: i, end: close < 0 ? sql.length : close + 2 };
  }
  if (c === 0x3b /* ; */) {
    return { kind: "semi", start: i, end: i + 1 };
  }
  if (c === 0x27 /* ' */ || c === 0x22 /* " */ || c === 0x60 /* ` */) {
    // A doubled quote inside the literal simply reads as two adjacent literals here, which is
    // all the splitter needs; an unterminated one swallows the rest and SQLite reports it.
    const quote = sql[i] ?? "";
    const close = sql.indexOf(quote, i + 1);
    return { kind: "quoted", start: i, end: close < 0 ? sql.length : close + 1 };
  }
  if (c === 0x5b /* [ */) {
    const close = sql.indexOf("]", i + 1);
    return { kind: "quoted", start: i, end: close < 0 ? sql.length : close + 1 };
  }
  if (c === 0x3f /* ? */) {
    let j = i + 1;
    while (j < sql.length && isDigit(sql.charCodeAt(j))) {
      j++;
    }
    return { kind: "param", start: i, end: j };
  }
  if (c === 0x3a /* : */ || c === 0x40 /* @ */ || c === 0x24 /* $ */) {
    return scanNamedParam(sql, i);
  }
  if (isIdChar(c)) {
    let j = i + 1;
    while (j < sql.length && isIdChar(sql.charCodeAt(j))) {
      j++;
    }
    // A number (`1e5`, `0x1F`) scans as one "word" too; it can never equal a keyword.
    return { kind: isDigit(c) ? "other" : "word", start: i, end: j };
  }
  return { kind: "other", start: i, end: i + 1 };
}

/**
 * `:name`, `@name`, `$name`, including the TCL forms `$a::b` and `$a(x)` that SQLite accepts;
 * a prefix with no name after it is an illegal token that SQLite will reject.
 */
function scanNamedParam(sql: string, i: number): Token {
  let j = i + 1;
  let n = 0;
  while (j < sql.length) {
    const c = sql.charCodeAt(j);
    if (isIdChar(c)) {
      n++;
      j++;
    } else if (c === 0x28 /* ( */ && n > 0) {
      j++;
      while (j < sql.length && !isSpace(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 0x29) {
        j++;
      }
      if (j < sql.length && sql.charCodeAt(j) === 0x29) {
        j++;
      }
      break;
    } else if (c === 0x3a && sql.charCodeAt(j + 1) === 0x3a) {
      j += 2;
    } else {
      break;
    }
  }
  return { kind: n > 0 ? "param" : "other", start: i, end: j };
}

function completeClass(sql: string, token: Token): number {
  switch (token.kind) {
    case "semi":
      return TK_SEMI;
    case "ws":
      return TK_WS;
    case "word":
      return COMPLETE_KEYWORDS.get(sql.slice(token.start, token.end).toUpperCase()) ?? TK_OTHER;
    default:
      return TK_OTHER;
  }
}

/** Splits SQL text into statements, skipping empty ones (`;;`, comments only). */
export function splitStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let state = 0;
  let tokens: Token[] = [];
  let i = 0;
  const flush = (end: number) => {
    const first = tokens[0];
    if (first !== undefined) {
      statements.push(describeTokens(sql, sql.slice(first.start, end), tokens));
    }
    tokens = [];
    state = 0;
  };
  while (i < sql.length) {
    const token = scanToken(sql, i);
    i = token.end;
    const cls = completeClass(sql, token);
    if (cls === TK_WS) {
      state = TRANSITIONS[state]?.[cls] ?? state;
      continue;
    }
    if (cls === TK_SEMI && state <= 1) {
      // An empty statement: nothing to run, and nothing to report.
      state = 1;
      continue;
    }
    if (cls !== TK_SEMI) {
      tokens.push(token);
    }
    state = TRANSITIONS[state]?.[cls] ?? 2;
    if (cls === TK_SEMI && state === 1) {
      flush(token.end);
    }
  }
  flush(sql.length);
  return statements;
}

function describeTokens(sql: string, text: string, tokens: Token[]): SqlStatement {
  const words: string[] = [];
  let verb = "";
  let depth = 0;
  let onlyWords = true;
  for (const token of tokens) {
    const raw = sql.slice(token.start, token.end);
    if (token.kind === "word") {
      const word = raw.toUpperCase();
      words.push(word);
      if (words[0] === "WITH" && verb === "" && depth === 0 && WITH_VERBS.has(word)) {
        verb = word;
      }
    } else {
      onlyWords = false;
      if (raw === "(") {
        depth++;
      } else if (raw === ")") {
        depth--;
      }
    }
  }
  const keyword = words[0] ?? "";
  const middle = words.slice(1, -1);
  const isBeginReadonly =
    onlyWords &&
    keyword === "BEGIN" &&
    words.length >= 2 &&
    words[words.length - 1] === "READONLY" &&
    middle.every((w) => w === "TRANSACTION" || w === "DEFERRED");
  return {
    text,
    params: numberParams(sql, tokens),
    keyword,
    verb: keyword === "WITH" ? verb : keyword,
    isBeginReadonly,
  };
}

/** SQLite's parameter numbering (sqlite3ExprAssignVarNumber). */
function numberParams(sql: string, tokens: Token[]): (string | null)[] {
  const byIndex: (string | null)[] = [];
  const named = new Map<string, number>();
  let count = 0;
  for (const token of tokens) {
    if (token.kind !== "param") {
      continue;
    }
    const name = sql.slice(token.start, token.end);
    if (name === "?") {
      count++;
    } else if (name.startsWith("?")) {
      const index = Number(name.slice(1));
      // Out-of-range numbers are left for SQLite to reject when it compiles the statement.
      if (index >= 1 && index <= 32766) {
        count = Math.max(count, index);
        byIndex[index - 1] ??= name;
      }
    } else if (!named.has(name)) {
      count++;
      named.set(name, count);
      byIndex[count - 1] = name;
    }
  }
  return Array.from({ length: count }, (_, i) => byIndex[i] ?? null);
}

const TRANSACTION_CONTROL = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]);

/**
 * Approximates sqlite3_stmt_readonly(), which the `libsql` package does not expose. (Compiling
 * `EXPLAIN <stmt>` would tell exactly, but an EXPLAINed write stays "in progress" inside libsql
 * until garbage collection and then makes COMMIT fail with SQLITE_BUSY.)
 */
export function isReadonly(stmt: SqlStatement): boolean {
  if (stmt.keyword === "EXPLAIN" || stmt.verb === "SELECT" || stmt.verb === "VALUES") {
    return true;
  }
  if (TRANSACTION_CONTROL.has(stmt.keyword)) {
    return true;
  }
  if (stmt.keyword === "PRAGMA") {
    return !/=/.test(stmt.text);
  }
  return false;
}

/** INSERT/REPLACE/UPDATE/DELETE: the statements whose changes() sqld reports. */
export function changesRows(stmt: SqlStatement): boolean {
  return (
    stmt.verb === "INSERT" ||
    stmt.verb === "REPLACE" ||
    stmt.verb === "UPDATE" ||
    stmt.verb === "DELETE"
  );
}

/** INSERT/REPLACE: the statements for which sqld reports last_insert_rowid. */
export function insertsRows(stmt: SqlStatement): boolean {
  return stmt.verb === "INSERT" || stmt.verb === "REPLACE";
}
