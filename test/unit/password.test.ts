import { describe, expect, it } from "vitest";
import {
  hashPassword,
  needsRehash,
  PASSWORD_MAX_LENGTH,
  verifyPassword,
} from "../../src/auth/password";
import { loginBodySchema, passwordSchema } from "../../src/auth/schemas";

const PEPPER = "unit-test-pepper-0123456789";
const COST = 4;

const hash = (pw: string, pepper = PEPPER) => hashPassword(pw, pepper, COST);
const verify = (pw: string, h: string | null, pepper = PEPPER) =>
  verifyPassword(pw, h, pepper, COST);

describe("password hashing", () => {
  it("has no 72-byte cliff: two passwords that differ only after byte 72 don't match", async () => {
    const h = await hash(`${"a".repeat(72)}X`);
    expect(await verify(`${"a".repeat(72)}X`, h)).toBe(true);
    expect(await verify(`${"a".repeat(72)}Y`, h)).toBe(false);
    expect(await verify("a".repeat(72), h)).toBe(false);
  });

  it("has no cliff for multi-byte passwords either (19 emoji = 76 UTF-8 bytes)", async () => {
    const h = await hash(`${"😀".repeat(18)}🙂`);
    expect(await verify(`${"😀".repeat(18)}🙂`, h)).toBe(true);
    expect(await verify(`${"😀".repeat(18)}🙃`, h)).toBe(false);
  });

  it("verifies the NFC and NFD forms of the same password alike", async () => {
    const nfc = "caf\u00e9-cr\u00e8me-br\u00fbl\u00e9e";
    const nfd = nfc.normalize("NFD");
    expect(nfd).not.toBe(nfc);
    expect(await verify(nfd, await hash(nfc))).toBe(true);
    expect(await verify(nfc, await hash(nfd))).toBe(true);
  });

  it("applies NFKC, so full-width characters match their ASCII forms", async () => {
    expect(
      await verify("pass1234", await hash("\uff50\uff41\uff53\uff53\uff11\uff12\uff13\uff14")),
    ).toBe(true);
  });

  it("treats a NUL inside a password as significant rather than as the end", async () => {
    const h = await hash("before\u0000after-1");
    expect(await verify("before\u0000after-1", h)).toBe(true);
    expect(await verify("before\u0000after-2", h)).toBe(false);
    expect(await verify("before", h)).toBe(false);
    expect(await verify("before\u0000", h)).toBe(false);
  });

  it("keeps zero-width joiners significant (NFKC does not remove them)", async () => {
    const h = await hash("family:\u{1F468}\u200d\u{1F469}\u200d\u{1F467}");
    expect(await verify("family:\u{1F468}\u{1F469}\u{1F467}", h)).toBe(false);
  });

  it("hashes and verifies a 256-character password", async () => {
    const pw = `${"p".repeat(255)}!`;
    expect(pw).toHaveLength(PASSWORD_MAX_LENGTH);
    const h = await hash(pw);
    expect(await verify(pw, h)).toBe(true);
    expect(await verify(`${"p".repeat(255)}?`, h)).toBe(false);
  });

  it("stores a bcrypt hash at the given cost with neither the password nor the pre-hash in it", async () => {
    const pw = "correct horse battery staple";
    const h = await hashPassword(pw, PEPPER, 5);
    expect(h).toMatch(/^\$2[aby]\$05\$[./A-Za-z0-9]{53}$/);
    expect(h).not.toContain(pw);
    expect(h).not.toContain("horse");
  });

  it("depends on the pepper: the same password under another pepper does not verify", async () => {
    const h = await hash("pepper-matters-1");
    expect(await verify("pepper-matters-1", h, "another-pepper-0123456789")).toBe(false);
  });

  it("salts: the same password hashes differently each time", async () => {
    expect(await hash("same-password-1")).not.toBe(await hash("same-password-1"));
  });

  it("answers false for an account without a hash (after a dummy compare)", async () => {
    expect(await verify("whatever-it-is", null)).toBe(false);
  });

  it("asks for a rehash exactly when the stored cost differs from the configured one", async () => {
    const h = await hashPassword("rehash-me-please", PEPPER, 4);
    expect(needsRehash(h, 4)).toBe(false);
    expect(needsRehash(h, 5)).toBe(true);
  });
});

describe("the password rules", () => {
  const ok = (pw: unknown) => passwordSchema.safeParse(pw).success;

  it("accepts 8 to 256 characters, counted in code points", () => {
    expect(ok("12345678")).toBe(true);
    expect(ok("x".repeat(256))).toBe(true);
    expect(ok("😀".repeat(256))).toBe(true);
    expect(ok("1234567")).toBe(false);
    expect(ok("x".repeat(257))).toBe(false);
    expect(ok("😀".repeat(257))).toBe(false);
  });

  it("accepts any characters, NUL and bidi controls included", () => {
    expect(ok("abc\u0000defgh")).toBe(true);
    expect(ok("\u202eabcdefgh")).toBe(true);
    expect(ok("        x")).toBe(true);
  });

  it("refuses whitespace-only and invisible-only passwords", () => {
    expect(ok(" ".repeat(8))).toBe(false);
    expect(ok("\t\n\u00a0\u3000\u200b\u200b\u200b\u200b")).toBe(false);
  });

  it("refuses lone surrogates, which cannot be hashed reproducibly", () => {
    expect(ok("abcdefgh\ud800")).toBe(false);
    expect(ok("\udc00abcdefgh")).toBe(false);
  });

  it("refuses non-strings", () => {
    for (const v of [12345678, null, undefined, true, ["12345678"], { pw: "12345678" }]) {
      expect(ok(v), JSON.stringify(v)).toBe(false);
    }
  });

  it("at login checks only what can't be hashed, so a short password is just a wrong one", () => {
    const login = (password: unknown) =>
      loginBodySchema.safeParse({ email: "a@example.test", password }).success;
    expect(login("short")).toBe(true);
    expect(login("😀".repeat(256))).toBe(true);
    expect(login("")).toBe(false);
    expect(login("x".repeat(257))).toBe(false);
    expect(login("abc\ud800")).toBe(false);
  });
});
