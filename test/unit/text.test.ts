import { describe, expect, it } from "vitest";
import { displayNameSchema, emailSchema } from "../../src/auth/schemas";
import { codePoints, hasLoneSurrogate, nameSchema } from "../../src/lib/text";

const name = nameSchema(64);
const parse = (v: unknown) => name.safeParse(v);
const accepts = (v: string) => parse(v).success;

describe("name rules", () => {
  it("trims and NFC-normalises before anything is checked", () => {
    expect(parse("  Ada  ").data).toBe("Ada");
    expect(parse("Cafe\u0301").data).toBe("Caf\u00e9");
  });

  it("counts code points, so an emoji is one character", () => {
    expect(codePoints("😀😀")).toBe(2);
    expect(accepts("😀".repeat(64))).toBe(true);
    expect(accepts("😀".repeat(65))).toBe(false);
  });

  it("accepts exactly max characters and refuses max + 1 (after trimming)", () => {
    expect(accepts("x".repeat(64))).toBe(true);
    expect(accepts(` ${"x".repeat(64)} `)).toBe(true);
    expect(accepts("x".repeat(65))).toBe(false);
    // Decomposed input that composes to 64 characters is 64 characters.
    expect(accepts("e\u0301".repeat(64))).toBe(true);
  });

  it("refuses empty, whitespace-only and invisible-only names", () => {
    for (const v of [
      "",
      " ",
      "\t\n",
      "\u00a0\u3000",
      "\u200b",
      "\u200b\u200c\u200d",
      "\ufeff",
      "\u3164",
      "\u2800",
      "\u00ad",
    ]) {
      expect(accepts(v), JSON.stringify(v)).toBe(false);
    }
  });

  it("refuses control characters anywhere, NUL and DEL and C1 included", () => {
    for (const v of [
      "a\u0000b",
      "a\u0007b",
      "a\nb",
      "a\rb",
      "a\u007fb",
      "a\u0085b",
      "a\u009fb",
      "a\u2028b",
      "a\u2029b",
    ]) {
      expect(accepts(v), JSON.stringify(v)).toBe(false);
    }
  });

  it("refuses bidi overrides, embeddings, isolates and direction marks (Trojan Source)", () => {
    for (const cp of [
      0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f,
      0x061c,
    ]) {
      expect(accepts(`admin${String.fromCodePoint(cp)}txt`), cp.toString(16)).toBe(false);
    }
  });

  it("refuses lone surrogates", () => {
    expect(hasLoneSurrogate("a\ud800b")).toBe(true);
    expect(hasLoneSurrogate("a\udc00b")).toBe(true);
    expect(hasLoneSurrogate("😀")).toBe(false);
    expect(accepts("a\ud800")).toBe(false);
    expect(accepts("\udfffz")).toBe(false);
  });

  it("refuses zalgo piles of combining marks but keeps real-world diacritics", () => {
    expect(accepts(`Z${"\u0336\u0337\u0338".repeat(10)}algo`)).toBe(false);
    expect(accepts("Nguy\u1ec5n")).toBe(true); // Vietnamese, two marks composed
    expect(accepts("Tie\u0302\u0301ng")).toBe(true);
    expect(accepts("क्षत्रिय")).toBe(true); // Devanagari
    expect(accepts("שָׁלוֹם")).toBe(true); // Hebrew with points
  });

  it("accepts ordinary names in many scripts, emoji sequences and look-alikes", () => {
    for (const v of [
      "Ada Lovelace",
      "José",
      "李小龍",
      "Алиса",
      "عائشة",
      "👩‍💻 dev",
      "🇫🇷",
      "аdmin",
      "O'Brien-Smith",
    ]) {
      expect(accepts(v), v).toBe(true);
    }
  });

  it("refuses non-strings", () => {
    for (const v of [null, undefined, 42, true, [], {}, ["Ada"]]) {
      expect(parse(v).success, JSON.stringify(v)).toBe(false);
    }
  });

  it("is what display names use, with a 64-character cap", () => {
    expect(displayNameSchema.safeParse("x".repeat(64)).success).toBe(true);
    expect(displayNameSchema.safeParse("x".repeat(65)).success).toBe(false);
  });

  it("takes its cap from the caller (room names use 100)", () => {
    expect(nameSchema(100).safeParse("r".repeat(100)).success).toBe(true);
    expect(nameSchema(100).safeParse("r".repeat(101)).success).toBe(false);
  });
});

describe("email rules", () => {
  const email = (v: unknown) => emailSchema.safeParse(v);

  it("trims and lower-cases, so one address is one account", () => {
    expect(email("  Ada.Lovelace+Tag@Example.TEST ").data).toBe("ada.lovelace+tag@example.test");
  });

  it("accepts up to 254 characters and refuses longer", () => {
    const at254 = `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(56)}.test`;
    expect(at254).toHaveLength(254);
    expect(email(at254).success).toBe(true);
    expect(email(`a${at254}`).success).toBe(false);
  });

  it("refuses malformed, control-laden and non-ASCII-trick addresses", () => {
    for (const v of [
      "",
      " ",
      "a@b",
      "no-at.example",
      "a@@b.test",
      "a b@c.test",
      "a\u0000@b.test",
      "\u202eab@c.test",
      "a@b.test\u0000",
      "a\ud800@b.test",
      ".a@b.test",
      "a..b@c.test",
    ]) {
      expect(email(v).success, JSON.stringify(v)).toBe(false);
    }
  });
});
