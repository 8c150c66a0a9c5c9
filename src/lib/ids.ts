const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

export type IdPrefix = "usr" | "room" | "msg" | "ses" | "inv" | "req";

/** Prefixed random id (`usr_…`): 128 bits from the CSPRNG, base62, easy to tell apart in logs. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBase62(22)}`;
}

/** 22 base62 characters carry ~131 bits. */
function randomBase62(length: number): string {
  const out: string[] = [];
  // Rejection sampling keeps every character uniform (248 = 4 * 62).
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const b of bytes) {
      if (b < 248 && out.length < length) {
        out.push(ALPHABET.charAt(b % 62));
      }
    }
  }
  return out.join("");
}

/** URL-safe random secret: `bytes` from the CSPRNG as base64url (default 32 bytes = 256 bits). */
export function newSecretToken(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) {
    binary += String.fromCharCode(b);
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** SHA-256 as lowercase hex: how refresh tokens, invite tokens and tickets are stored. */
export async function sha256Hex(input: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(input));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
