import * as z from "zod";

// Control characters (C0, DEL, C1) and line/paragraph separators: a name is one line of text.
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
// Bidi embeddings, overrides and isolates, and the invisible direction marks (Trojan Source:
// a name could otherwise reorder the text shown around it).
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
// Whitespace and default-ignorable characters (zero-width space/joiners, Hangul fillers, soft
// hyphen, variation selectors, tags...) plus the braille blank: a name made only of these
// renders as nothing.
const INVISIBLE_ONLY = /^[\s\p{Default_Ignorable_Code_Point}\u2800]*$/u;
// "Zalgo" text: more combining marks on one character than any script needs.
const MAX_COMBINING_MARKS = 5;
const MARK_PILE = new RegExp(`\\p{M}{${MAX_COMBINING_MARKS + 1},}`, "u");

/** Length in code points, so an emoji counts as one character, not two UTF-16 units. */
export const codePoints = (s: string): number => [...s].length;

/** True when the string holds an unpaired UTF-16 surrogate (JSON `"\ud800"` can carry one). */
export const hasLoneSurrogate = (s: string): boolean => !s.isWellFormed();

/**
 * A display name or room name: NFC-normalised and trimmed, then 1..max code points, with no
 * control, bidi-control or invisible-only content and no piles of combining marks (names are
 * shown to other people). Names are labels, never identifiers: nothing in auth or access
 * decisions compares them, so look-alikes are allowed.
 */
export function nameSchema(max: number) {
  return z
    .string()
    .transform((s) => s.normalize("NFC").trim())
    .pipe(
      z
        .string()
        .refine((s) => !hasLoneSurrogate(s), "must be valid Unicode")
        .refine((s) => !INVISIBLE_ONLY.test(s), "must not be empty")
        .refine((s) => codePoints(s) <= max, `must be at most ${max} characters`)
        .refine((s) => !CONTROL.test(s), "must not contain control characters")
        .refine((s) => !BIDI.test(s), "must not contain bidirectional control characters")
        .refine(
          (s) => !MARK_PILE.test(s),
          `must not stack more than ${MAX_COMBINING_MARKS} combining marks on one character`,
        ),
    );
}
