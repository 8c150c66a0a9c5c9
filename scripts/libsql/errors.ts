/** A Hrana error object: what a failed request or batch step reports. */
export interface ProtoError {
  message: string;
  code: string;
}

/** An error that belongs inside a pipeline result (the HTTP request itself succeeded). */
export class HranaError extends Error {
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.name = "HranaError";
    this.code = code;
  }
}

/** An error that fails the whole HTTP request (bad JSON, unknown baton, ...). */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, message: string, code: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
  }
}

// Primary result codes. sqld reports the primary code's name even when SQLite returned an
// extended one (SQLITE_CONSTRAINT_UNIQUE is 2067 = 19 | 8 << 8), and clients match on it.
const PRIMARY_CODES: ReadonlyMap<number, string> = new Map([
  [1, "SQLITE_ERROR"],
  [2, "SQLITE_INTERNAL"],
  [3, "SQLITE_PERM"],
  [4, "SQLITE_ABORT"],
  [5, "SQLITE_BUSY"],
  [6, "SQLITE_LOCKED"],
  [7, "SQLITE_NOMEM"],
  [8, "SQLITE_READONLY"],
  [9, "SQLITE_INTERRUPT"],
  [10, "SQLITE_IOERR"],
  [11, "SQLITE_CORRUPT"],
  [12, "SQLITE_NOTFOUND"],
  [13, "SQLITE_FULL"],
  [14, "SQLITE_CANTOPEN"],
  [15, "SQLITE_PROTOCOL"],
  [16, "SQLITE_EMPTY"],
  [17, "SQLITE_SCHEMA"],
  [18, "SQLITE_TOOBIG"],
  [19, "SQLITE_CONSTRAINT"],
  [20, "SQLITE_MISMATCH"],
  [21, "SQLITE_MISUSE"],
  [22, "SQLITE_NOLFS"],
  [23, "SQLITE_AUTH"],
  [24, "SQLITE_FORMAT"],
  [25, "SQLITE_RANGE"],
  [26, "SQLITE_NOTADB"],
  [27, "SQLITE_NOTICE"],
  [28, "SQLITE_WARNING"],
]);

const PRIMARY_NAMES = [...PRIMARY_CODES.values()];

/** Maps an extended SQLite result code (number or name) to its primary name. */
export function primaryCodeName(rawCode: unknown, name: unknown): string {
  if (typeof rawCode === "number" && rawCode > 0) {
    const primary = PRIMARY_CODES.get(rawCode & 0xff);
    if (primary !== undefined) {
      return primary;
    }
  }
  if (typeof name === "string") {
    const primary = PRIMARY_NAMES.find((p) => name === p || name.startsWith(`${p}_`));
    if (primary !== undefined) {
      return primary;
    }
  }
  return "SQLITE_UNKNOWN";
}

function isSqliteError(e: unknown): e is Error & { code: string; rawCode?: unknown } {
  if (!(e instanceof Error)) {
    return false;
  }
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("SQLITE_");
}

/** Turns anything a request handler threw into the error object the client will see. */
export function toProtoError(e: unknown): ProtoError {
  if (e instanceof HranaError) {
    return { message: e.message, code: e.code };
  }
  if (isSqliteError(e)) {
    // Same wording as sqld, so messages read the same against Turso and against this server.
    return { message: `SQLite error: ${e.message}`, code: primaryCodeName(e.rawCode, e.code) };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { message: `Internal error: ${message}`, code: "INTERNAL_ERROR" };
}
