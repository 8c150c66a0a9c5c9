import { encode } from "uqr";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_INVITE_HOURS,
  HOUR_MS,
  inviteExpiresAt,
  inviteState,
  isInviteUsable,
  joinUrl,
  MAX_INVITE_HOURS,
  MAX_INVITE_USES,
  unusableMessage,
} from "../../src/invites/invite-rules";
import { QR_OPTIONS, renderQrSvg } from "../../src/invites/qr";
import { createInviteBodySchema } from "../../src/invites/schemas";

const now = 1_800_000_000_000;
const live = { expiresAt: now + HOUR_MS, maxUses: null, uses: 0, revokedAt: null };

describe("invite expiry", () => {
  it("adds whole hours to the creation time", () => {
    expect(inviteExpiresAt(now, 1)).toBe(now + HOUR_MS);
    expect(inviteExpiresAt(now, DEFAULT_INVITE_HOURS)).toBe(now + 7 * 24 * HOUR_MS);
    expect(inviteExpiresAt(now, MAX_INVITE_HOURS)).toBe(now + 30 * 24 * HOUR_MS);
  });

  it("keeps an invite alive until one millisecond before expiresAt, like the accept SQL", () => {
    const inv = { ...live, expiresAt: now };
    expect(inviteState(inv, now - 1)).toBe("usable");
    expect(inviteState(inv, now)).toBe("expired");
    expect(inviteState(inv, now + 1000)).toBe("expired");
  });
});

describe("invite usability", () => {
  it("is usable while unrevoked, unexpired and with uses left", () => {
    expect(isInviteUsable(live, now)).toBe(true);
    expect(isInviteUsable({ ...live, maxUses: 5, uses: 4 }, now)).toBe(true);
  });

  it("is used up once uses reach maxUses, and unlimited when maxUses is null", () => {
    expect(inviteState({ ...live, maxUses: 5, uses: 5 }, now)).toBe("used_up");
    expect(inviteState({ ...live, maxUses: null, uses: 1_000_000 }, now)).toBe("usable");
  });

  it("names revocation before expiry before exhaustion", () => {
    const all = { expiresAt: now - 1, maxUses: 1, uses: 1, revokedAt: now - 5 };
    expect(inviteState(all, now)).toBe("revoked");
    expect(inviteState({ ...all, revokedAt: null }, now)).toBe("expired");
  });

  it("explains each unusable state in words", () => {
    expect(unusableMessage("revoked")).toMatch(/revoked/);
    expect(unusableMessage("expired")).toMatch(/expired/);
    expect(unusableMessage("used_up")).toMatch(/no uses left/);
  });
});

describe("join URL", () => {
  it("puts the token in the fragment of PUBLIC_URL when set", () => {
    expect(joinUrl("https://chat.example.com", "http://127.0.0.1:8787/api/x", "tok")).toBe(
      "https://chat.example.com/join#tok",
    );
    expect(joinUrl("https://chat.example.com/", "http://127.0.0.1/api/x", "tok")).toBe(
      "https://chat.example.com/join#tok",
    );
  });

  it("falls back to the request's origin, dropping its path and query", () => {
    expect(joinUrl("", "http://127.0.0.1:8787/api/rooms/r/invites?x=1", "tok")).toBe(
      "http://127.0.0.1:8787/join#tok",
    );
  });
});

describe("create-invite body", () => {
  it("defaults to one week and unlimited uses", () => {
    expect(createInviteBodySchema.parse({})).toEqual({ expiresInHours: 168, maxUses: null });
  });

  it.each([
    [{ expiresInHours: 1 }, true],
    [{ expiresInHours: MAX_INVITE_HOURS }, true],
    [{ expiresInHours: 0 }, false],
    [{ expiresInHours: MAX_INVITE_HOURS + 1 }, false],
    [{ expiresInHours: 10_000 }, false],
    [{ expiresInHours: 1.5 }, false],
    [{ expiresInHours: "5" }, false],
    [{ maxUses: 1 }, true],
    [{ maxUses: MAX_INVITE_USES }, true],
    [{ maxUses: null }, true],
    [{ maxUses: 0 }, false],
    [{ maxUses: -1 }, false],
    [{ maxUses: 1e9 }, false],
    [{ maxUses: "5" }, false],
    [{ maxUses: Number.POSITIVE_INFINITY }, false],
    [{ maxUses: 2 ** 53 + 1 }, false],
  ])("%j is %s", (body, ok) => {
    expect(createInviteBodySchema.safeParse(body).success).toBe(ok);
  });
});

describe("invite QR code", () => {
  const url = "https://chat.example.com/join#abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";

  /** Reads the dark modules back out of uqr's SVG (one `M x,y h…` square per module). */
  function darkModules(svg: string): Set<string> {
    const size = QR_OPTIONS.pixelSize;
    const cells = new Set<string>();
    for (const m of svg.matchAll(/M(\d+),(\d+)h/g)) {
      cells.add(`${Number(m[1]) / size},${Number(m[2]) / size}`);
    }
    return cells;
  }

  it("is a well-formed SVG with a viewBox", () => {
    const svg = renderQrSvg(url);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toMatch(/viewBox="0 0 \d+ \d+"/);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  });

  it("draws exactly the matrix that encodes the URL", () => {
    const qr = encode(url, QR_OPTIONS);
    const expected = new Set<string>();
    qr.data.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (dark) {
          expected.add(`${x},${y}`);
        }
      });
    });
    expect(darkModules(renderQrSvg(url))).toEqual(expected);
    expect(darkModules(renderQrSvg(`${url}x`))).not.toEqual(expected);
  });
});
