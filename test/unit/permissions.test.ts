import { describe, expect, it } from "vitest";
import type { Role } from "../../src/db/schema";
import {
  canChangeRoles,
  canDeleteRoom,
  canEditRoom,
  canManageInvites,
  decideKick,
  decideLeave,
  decideRoleChange,
} from "../../src/rooms/permissions";

const roles: Role[] = ["owner", "admin", "member"];

describe("room capabilities by role", () => {
  it.each([
    ["owner", true, true, true, true],
    ["admin", true, false, true, false],
    ["member", false, false, false, false],
  ] as const)("a %s: edit %s, delete %s, invites %s, roles %s", (role, edit, del, inv, change) => {
    expect(canEditRoom(role)).toBe(edit);
    expect(canDeleteRoom(role)).toBe(del);
    expect(canManageInvites(role)).toBe(inv);
    expect(canChangeRoles(role)).toBe(change);
  });
});

describe("kicking", () => {
  // actor -> target -> allowed?
  const table: Record<Role, Record<Role, boolean>> = {
    owner: { owner: false, admin: true, member: true },
    admin: { owner: false, admin: false, member: true },
    member: { owner: false, admin: false, member: false },
  };

  for (const actor of roles) {
    for (const target of roles) {
      const allowed = table[actor][target];
      it(`${allowed ? "lets" : "stops"} a ${actor} kicking a${target === "admin" ? "n" : ""} ${target}`, () => {
        const d = decideKick(actor, target, false);
        expect(d.ok).toBe(allowed);
        if (!d.ok) {
          expect(d.code).toBe("forbidden");
        }
      });
    }
  }

  it("sends anyone who kicks themself to leave instead, as a conflict", () => {
    for (const role of roles) {
      const d = decideKick(role, role, true);
      expect(d).toMatchObject({ ok: false, code: "conflict" });
      expect(d.ok ? "" : d.message).toMatch(/leave/);
    }
  });

  it("never lets anyone kick the owner", () => {
    for (const actor of roles) {
      expect(decideKick(actor, "owner", false).ok).toBe(false);
    }
  });
});

describe("role changes", () => {
  it("are the owner's alone", () => {
    for (const actor of ["admin", "member"] as const) {
      for (const target of roles) {
        for (const next of roles) {
          expect(decideRoleChange(actor, target, next, false)).toMatchObject({
            ok: false,
            code: "forbidden",
          });
        }
      }
    }
  });

  it("promote and demote between admin and member", () => {
    expect(decideRoleChange("owner", "member", "admin", false)).toEqual({
      ok: true,
      kind: "set",
      role: "admin",
    });
    expect(decideRoleChange("owner", "admin", "member", false)).toEqual({
      ok: true,
      kind: "set",
      role: "member",
    });
  });

  it("turn giving someone the owner role into a transfer", () => {
    expect(decideRoleChange("owner", "member", "owner", false)).toEqual({
      ok: true,
      kind: "transfer",
    });
    expect(decideRoleChange("owner", "admin", "owner", false)).toEqual({
      ok: true,
      kind: "transfer",
    });
  });

  it("treat setting the role someone already has as a no-op", () => {
    expect(decideRoleChange("owner", "admin", "admin", false)).toEqual({ ok: true, kind: "noop" });
    expect(decideRoleChange("owner", "owner", "owner", true)).toEqual({ ok: true, kind: "noop" });
  });

  it("refuse to let the owner step down without handing over (no ownerless room)", () => {
    for (const next of ["admin", "member"] as const) {
      expect(decideRoleChange("owner", "owner", next, true)).toMatchObject({
        ok: false,
        code: "conflict",
      });
    }
  });
});

describe("leaving", () => {
  it("is open to admins and members", () => {
    expect(decideLeave("admin").ok).toBe(true);
    expect(decideLeave("member").ok).toBe(true);
  });

  it("is refused to the owner with a pointer to transfer or delete", () => {
    const d = decideLeave("owner");
    expect(d).toMatchObject({ ok: false, code: "conflict" });
    expect(d.ok ? "" : d.message).toMatch(/transfer ownership.*delete/);
  });
});
