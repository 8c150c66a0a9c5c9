import * as z from "zod";
import { codePoints, hasLoneSurrogate, nameSchema } from "../lib/text";
import { normalizePassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password";

export const DISPLAY_NAME_MAX = 64;
export const displayNameSchema = nameSchema(DISPLAY_NAME_MAX).meta({
  description: `Trimmed and NFC-normalised; 1..${DISPLAY_NAME_MAX} characters, no control, bidi or invisible-only text`,
  examples: ["Ada Lovelace"],
});

export const EMAIL_MAX_LENGTH = 254;

/**
 * Trimmed and lower-cased before the format check, so `A@B.test ` and `a@b.test` are one
 * account. The format is zod's (ASCII, a dot in the domain): no NUL, controls or bidi tricks.
 */
export const emailSchema = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.email().max(EMAIL_MAX_LENGTH))
  .meta({
    description: `Trimmed and lower-cased; at most ${EMAIL_MAX_LENGTH} characters`,
    format: "email",
    examples: ["ada@example.com"],
  });

const passwordLength = (s: string): number => codePoints(normalizePassword(s));

/**
 * Any characters (NUL included: the HMAC pre-hash makes that safe), 8..256 code points of the
 * NFKC form that gets hashed. Refused: malformed UTF-16, which can't be hashed reproducibly, and
 * passwords that are only whitespace or invisible characters (a client bug, not a choice).
 */
export const passwordSchema = z
  .string()
  .refine((s) => !hasLoneSurrogate(s), { message: "must be valid Unicode", abort: true })
  .refine((s) => passwordLength(s) >= PASSWORD_MIN_LENGTH, {
    message: `must be at least ${PASSWORD_MIN_LENGTH} characters`,
  })
  .refine((s) => passwordLength(s) <= PASSWORD_MAX_LENGTH, {
    message: `must be at most ${PASSWORD_MAX_LENGTH} characters`,
  })
  .refine((s) => !/^[\s\p{Default_Ignorable_Code_Point}]*$/u.test(s), {
    message: "must not be only whitespace",
  })
  .meta({
    description: `${PASSWORD_MIN_LENGTH}..${PASSWORD_MAX_LENGTH} characters (code points, NFKC); any characters, not only whitespace`,
    examples: ["correct horse battery staple"],
  });

export const registerBodySchema = z.object({
  email: emailSchema,
  password: passwordSchema,
  displayName: displayNameSchema,
});
export type RegisterBody = z.infer<typeof registerBodySchema>;

export const loginBodySchema = z.object({
  email: emailSchema,
  // No policy checks beyond what can't be hashed: a short wrong password is just a wrong
  // password, answered with the one generic 401.
  password: z
    .string()
    .min(1)
    .refine((s) => !hasLoneSurrogate(s), { message: "must be valid Unicode", abort: true })
    .refine((s) => passwordLength(s) <= PASSWORD_MAX_LENGTH, {
      message: `must be at most ${PASSWORD_MAX_LENGTH} characters`,
    }),
});

export const guestBodySchema = z.object({ displayName: displayNameSchema.optional() });

export const refreshBodySchema = z.object({
  refreshToken: z
    .string()
    .min(1)
    .max(512)
    .meta({ description: "The refresh token from sign-in or the last refresh (single use)" }),
});
