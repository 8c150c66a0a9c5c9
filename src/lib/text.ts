import { z } from "zod";

// C0/C1 controls, DEL, bidi embeddings/overrides/isolates (Trojan Source), and lone surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const INVISIBLE_ONLY = /^[\s\u200b-\u200d\u2060\ufeff]*$/;

/** Length in code points, so an emoji counts as one character, not two UTF-16 units. */
export const codePoints = (s: string): number => [...s].length;

/**
 * A display name or room name: NFC-normalised and trimmed, then 1..max code points, with no
 * control, bidi-override or invisible-only content (names are shown to other people).
 */
export function nameSchema(max: number) {
  return z
    .string()
    .transform((s) => s.normalize("NFC").trim())
    .pipe(
      z
        .string()
        .refine((s) => !INVISIBLE_ONLY.test(s), "must not be empty")
        .refine((s) => codePoints(s) <= max, `must be at most ${max} characters`)
        .refine((s) => !CONTROL.test(s), "must not contain control characters")
        .refine((s) => !BIDI.test(s), "must not contain bidirectional control characters")
        .refine((s) => !LONE_SURROGATE.test(s), "must be valid Unicode"),
    );
}

export const hasLoneSurrogate = (s: string): boolean => LONE_SURROGATE.test(s);
