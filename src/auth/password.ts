import bcrypt from "bcryptjs";
import { base64Url } from "../lib/ids";

/** Bounds in code points of the NFKC form, i.e. of exactly what gets hashed. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/** The form of a password that is hashed and length-checked (NIST 800-63B 5.1.1.2). */
export const normalizePassword = (password: string): string => password.normalize("NFKC");

/**
 * HMAC-SHA-256 under the server pepper, then base64url: 43 ASCII characters, so bcrypt's silent
 * 72-byte cut never applies and a NUL inside a password can't truncate it. NFKC first, so the
 * composed and decomposed forms of the same password match. The pepper also means a stolen
 * database alone can't be brute-forced.
 */
async function preHash(password: string, pepper: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(pepper),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(normalizePassword(password)),
  );
  return base64Url(new Uint8Array(mac));
}

export async function hashPassword(
  password: string,
  pepper: string,
  cost: number,
): Promise<string> {
  return bcrypt.hash(await preHash(password, pepper), cost);
}

/**
 * Compares against `hash`, or against a throwaway hash of the same cost when the account doesn't
 * exist (or has no password), so an unknown email costs the same time as a wrong password: no
 * enumeration oracle.
 */
export async function verifyPassword(
  password: string,
  hash: string | null,
  pepper: string,
  cost: number,
): Promise<boolean> {
  const candidate = await preHash(password, pepper);
  if (hash === null) {
    await bcrypt.compare(candidate, await dummyHash(cost));
    return false;
  }
  return bcrypt.compare(candidate, hash);
}

// One per isolate and cost; made on first use because the Workers global scope can't use the
// CSPRNG that bcrypt's salt needs.
const dummyHashes = new Map<number, Promise<string>>();
function dummyHash(cost: number): Promise<string> {
  let h = dummyHashes.get(cost);
  if (!h) {
    h = bcrypt.hash("no-such-account", cost);
    h.catch(() => dummyHashes.delete(cost));
    dummyHashes.set(cost, h);
  }
  return h;
}

/** True when a stored hash was made with another cost, so login can re-hash it (AUTH-5). */
export function needsRehash(hash: string, cost: number): boolean {
  return bcrypt.getRounds(hash) !== cost;
}
