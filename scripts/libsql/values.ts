import { Buffer } from "node:buffer";
import { HranaError } from "./errors.ts";

/** A Hrana value as it travels in JSON. */
export type ProtoValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

/**
 * What the `libsql` package binds and returns. Only these types may reach a statement: anything
 * else (a boolean, an object) panics the native module and takes the whole process down.
 */
export type SqlValue = null | bigint | number | string | Buffer;

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function invalid(message: string): HranaError {
  return new HranaError(message, "INVALID_VALUE");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Decodes a JSON Hrana value into something the `libsql` package can bind. */
export function decodeValue(value: unknown): SqlValue {
  if (!isRecord(value)) {
    throw invalid("A value must be an object with a `type`");
  }
  switch (value.type) {
    case "null":
      return null;
    case "integer":
      return decodeInteger(value.value);
    case "float":
      if (typeof value.value !== "number") {
        throw invalid("A float value must be a JSON number");
      }
      // JS numbers bind as REAL, which is what sqld does with a float; column affinity turns
      // 42.0 into 42 for INTEGER columns, so clients that send every number as a float still
      // store integers there.
      return value.value;
    case "text":
      if (typeof value.value !== "string") {
        throw invalid("A text value must be a JSON string");
      }
      return value.value;
    case "blob":
      return decodeBlob(value.base64);
    default:
      throw invalid(`Unknown value type ${JSON.stringify(value.type)}`);
  }
}

function decodeInteger(raw: unknown): bigint {
  // The spec says a decimal string (JSON numbers lose precision past 2^53); a safe JSON integer
  // is accepted too because it cannot be misread.
  let parsed: bigint;
  if (typeof raw === "string" && /^[-+]?\d+$/.test(raw)) {
    parsed = BigInt(raw);
  } else if (typeof raw === "number" && Number.isSafeInteger(raw)) {
    parsed = BigInt(raw);
  } else {
    throw invalid("An integer value must be a decimal string");
  }
  if (parsed < I64_MIN || parsed > I64_MAX) {
    throw invalid(`Integer ${parsed} does not fit in 64 bits`);
  }
  return parsed;
}

function decodeBlob(raw: unknown): Buffer {
  // Clients differ on padding (and a few send the URL-safe alphabet); Buffer.from() would
  // silently skip invalid characters, so validate first.
  if (typeof raw !== "string" || !(BASE64.test(raw) || BASE64URL.test(raw))) {
    throw invalid("A blob value must carry `base64` text");
  }
  if (raw.replace(/=+$/, "").length % 4 === 1) {
    throw invalid("A blob's base64 text has an impossible length");
  }
  return Buffer.from(raw, BASE64.test(raw) ? "base64" : "base64url");
}

// JSON has no Infinity; SQLite can produce it (1e308 * 10). JSON.stringify() would write `null`,
// which the client rejects as a malformed float, so emit the overflowing literal 1e999 instead:
// JSON.parse() reads it back as Infinity. JSON.rawJSON exists from Node 21.
const rawJSON = (JSON as { rawJSON?: (text: string) => unknown }).rawJSON;

function encodeFloat(value: number): number {
  if (Number.isFinite(value) || rawJSON === undefined) {
    return value;
  }
  // A raw JSON marker stands in for the number; JSON.stringify() writes its text verbatim.
  return rawJSON(value > 0 ? "1e999" : "-1e999") as number;
}

/** Encodes a value read from a row (with safeIntegers on, so integers arrive as bigint). */
export function encodeValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) {
    return { type: "null" };
  }
  if (typeof value === "bigint") {
    return { type: "integer", value: value.toString() };
  }
  if (typeof value === "number") {
    return { type: "float", value: encodeFloat(value) };
  }
  if (typeof value === "string") {
    return { type: "text", value };
  }
  if (value instanceof Uint8Array) {
    return {
      type: "blob",
      base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"),
    };
  }
  if (value instanceof ArrayBuffer) {
    return { type: "blob", base64: Buffer.from(value).toString("base64") };
  }
  throw new HranaError(`Cannot encode a ${typeof value} read from SQLite`, "INTERNAL_ERROR");
}
