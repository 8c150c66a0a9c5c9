import { beforeAll, describe, expect, it } from "vitest";
import {
  actors,
  buildRoomFixture,
  type Cast,
  type MatrixRow,
  matrixRows,
  methodOf,
  type Privacy,
  privacies,
  type RoomFixture,
  registerCast,
  routesAwaitingRows,
  rowName,
  tokenOf,
  undecidedCells,
} from "../authz-matrix";
import { apiClient } from "../helpers/api";
import { useService } from "../helpers/service";

// Every cell registers nothing but accepts invites: lift the per-IP auth limit for this file.
const service = useService({ AUTH_RATE_LIMIT: "1000000" });
const api = apiClient(service);
let cast: Cast;
/** Rooms for rows that change nothing that matters to access: built once per privacy. */
const shared = new Map<Privacy, Promise<RoomFixture>>();

beforeAll(async () => {
  cast = await registerCast(api);
});

async function fixtureFor(row: MatrixRow, privacy: Privacy): Promise<RoomFixture> {
  if (row.mutates) {
    return buildRoomFixture(api, cast, privacy);
  }
  let f = shared.get(privacy);
  if (!f) {
    f = buildRoomFixture(api, cast, privacy);
    shared.set(privacy, f);
  }
  return f;
}

async function callCell(row: MatrixRow, f: RoomFixture, token: string | undefined) {
  if (row.call) {
    return row.call(api, f, token, service.wsUrl);
  }
  const res = await api(methodOf(row), row.path(f), {
    token,
    ...(row.body ? { json: row.body(f) } : {}),
  });
  return res.status;
}

describe("the authorization matrix", () => {
  it("decides every cell of every row", () => {
    expect(undecidedCells(matrixRows)).toEqual([]);
  });

  it("has a row for every room and invite route in /openapi.json", async () => {
    const res = await api<{ paths: Record<string, Record<string, unknown>> }>(
      "GET",
      "/openapi.json",
    );
    expect(res.status).toBe(200);
    const documented = Object.entries(res.body.paths)
      .filter(([path]) => path.startsWith("/api/rooms") || path.startsWith("/api/invites"))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const covered = new Set(matrixRows.map((r) => r.route));
    const uncovered = documented.filter((r) => !covered.has(r));
    expect(uncovered.sort()).toEqual([...routesAwaitingRows].sort());
  });

  for (const row of matrixRows) {
    describe.concurrent(rowName(row), () => {
      for (const privacy of privacies) {
        for (const actor of actors) {
          const want = row.expect[privacy][actor];
          it(`answers ${want} to ${actor} in a ${privacy} room`, async ({ expect }) => {
            const f = await fixtureFor(row, privacy);
            await row.setup?.(api, f);
            expect(await callCell(row, f, tokenOf(f, actor))).toBe(want);
          });
        }
      }
    });
  }
});
