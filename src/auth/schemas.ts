import { z } from "zod";
import { hasLoneSurrogate, nameSchema } from "../lib/text";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password";

export const DISPLAY_NAME_MAX = 64;
export const displayNameSchema = nameSchema(DISPLAY_NAME_MAX);

/** Lower-cased and trimmed before the format check, so `A@B.test ` and `a@b.test` are one account. */
export const emailSchema = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.email().max(254));

/**
 * Any characters at all (NUL included: the HMAC pre-hash makes that safe), 8..256 of them; only
 * malformed UTF-16 is refused, because it can't be hashed reproducibly.
 */
export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`)
  .refine((s) => !hasLoneSurrogate(s), "must be valid Unicode");

export const registerBodySchema = z.object({
  email: emailSchema,
  password: passwordSchema,
  displayName: displayNameSchema,
});

export const loginBodySchema = z.object({
  email: emailSchema,
  // Only the upper bound: a short wrong password is just a wrong password (no policy hints).
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});

export const guestBodySchema = z.object({ displayName: displayNameSchema.optional() });

export const refreshBodySchema = z.object({ refreshToken: z.string().min(1).max(512) });
