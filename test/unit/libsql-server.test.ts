import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@libsql/client";
import { createClient, LibsqlError } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LibsqlServer } from "../../scripts/libsql/hrana-server.ts";
import { startLibsqlServer } from "../../scripts/libsql/hrana-server.ts";

// Behaviour as @libsql/client (the project's own driver) sees it.

let dir: string;
let server: LibsqlServer;
let client: Client;
const clients: Client[] = [];

function connect(opts: { intMode?: "number" | "bigint"; authToken?: string } = {}): Client {
  const c = createClient({ url: server.url, ...opts });
  clients.push(c);
  return c;
}

async function count(table: string): Promise<number> {
  const rs = await client.execute(`SELECT count(*) AS n FROM ${table}`);
  return Number(rs.rows[0]?.n);
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "libsql-server-"));
  server = await startLibsqlServer({ file: join(dir, "test.db"), port: 0 });
  client = connect();
});

afterAll(async () => {
  for (const c of clients) {
    c.close();
  }
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("statements", () => {
  it("executes statements with positional args and named args under all three prefixes", async () => {
    await client.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, age INTEGER)");
    await client.execute({
      sql: "INSERT INTO people (name, age) VALUES (?, ?)",
      args: ["Ada", 36],
    });
    await client.execute({
      sql: "INSERT INTO people (name, age) VALUES (?2, ?1)",
      args: [41, "Grace"],
    });
    await client.execute({
      sql: "INSERT INTO people (name, age) VALUES (:name, :age)",
      args: { name: "Alan", age: 41 },
    });
    await client.execute({
      sql: "INSERT INTO people (name, age) VALUES (@name, @age)",
      args: { name: "Edsger", age: 72 },
    });
    await client.execute({
      sql: "INSERT INTO people (name, age) VALUES ($name, $age)",
      args: { $name: "Barbara", $age: 83 },
    });

    const rs = await client.execute({
      sql: "SELECT name FROM people WHERE age = :age ORDER BY id",
      args: { ":age": 41 },
    });
    expect(rs.columns).toEqual(["name"]);
    expect(rs.columnTypes).toEqual(["TEXT"]);
    expect(rs.rows.map((r) => r.name)).toEqual(["Grace", "Alan"]);
    expect(await count("people")).toBe(5);
  });

  it("round-trips every value type, including integers beyond 2^53 and blobs", async () => {
    const c = connect({ intMode: "bigint" });
    await c.execute("CREATE TABLE vals (k INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB)");
    const rows: [bigint, number, string, Uint8Array][] = [
      [2n ** 53n + 1n, 3.25, "héllo, wörld ✓ 😀", new Uint8Array([0, 1, 2, 253, 254, 255, 10])],
      [2n ** 63n - 1n, -0.5, "", new Uint8Array([])],
      [-(2n ** 63n), 1e300, "'quoted' \"text\"", new Uint8Array([255])],
      [0n, Number.MIN_VALUE, "tab\tnewline\n", new Uint8Array([1, 2])],
    ];
    for (const [k, row] of rows.entries()) {
      await c.execute({ sql: "INSERT INTO vals VALUES (?, ?, ?, ?, ?)", args: [k, ...row] });
    }
    await c.execute("INSERT INTO vals (k) VALUES (99)");

    const rs = await c.execute("SELECT i, r, t, b, typeof(i) AS ti, typeof(b) AS tb FROM vals");
    expect(rs.columnTypes).toEqual(["INTEGER", "REAL", "TEXT", "BLOB", "", ""]);
    for (const [k, [i, r, t, b]] of rows.entries()) {
      const row = rs.rows[k];
      expect(row?.i).toBe(i);
      expect(row?.r).toBe(r);
      expect(row?.t).toBe(t);
      expect(row?.b).toBeInstanceOf(ArrayBuffer);
      expect(new Uint8Array(row?.b as ArrayBuffer)).toEqual(b);
      expect([row?.ti, row?.tb]).toEqual(["integer", "blob"]);
    }
    expect(rs.rows[4]).toMatchObject({ i: null, r: null, t: null, b: null });
  });

  it("stores JS numbers (which the client sends as floats) as integers in INTEGER columns", async () => {
    await client.execute("CREATE TABLE nums (i INTEGER, x)");
    await client.execute({ sql: "INSERT INTO nums VALUES (?, ?)", args: [42, 42] });
    const rs = await client.execute("SELECT i, typeof(i) AS ti, typeof(x) AS tx FROM nums");
    expect(rs.rows[0]).toMatchObject({ i: 42, ti: "integer", tx: "real" });
  });

  it("reports last_insert_rowid and rows affected for the statements that change rows", async () => {
    await client.execute("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER)");
    const created = await client.execute("CREATE TABLE counters_log (x)");
    expect(created.rowsAffected).toBe(0);
    expect(created.lastInsertRowid).toBeUndefined();

    const first = await client.execute("INSERT INTO counters (n) VALUES (1), (2), (3)");
    expect(first.rowsAffected).toBe(3);
    expect(first.lastInsertRowid).toBe(3n);

    const big = await client.execute("INSERT INTO counters (id, n) VALUES (9007199254740993, 4)");
    expect(big.lastInsertRowid).toBe(9007199254740993n);

    const updated = await client.execute("UPDATE counters SET n = n + 1 WHERE n >= 2");
    expect(updated.rowsAffected).toBe(3);
    expect(updated.lastInsertRowid).toBeUndefined();

    const returning = await client.execute(
      "DELETE FROM counters WHERE n BETWEEN 3 AND 4 RETURNING id",
    );
    expect(returning.rowsAffected).toBe(2);
    expect(returning.rows.map((r) => r.id)).toEqual([2, 3]);

    const selected = await client.execute("SELECT n FROM counters");
    expect(selected.rowsAffected).toBe(0);
    expect(selected.lastInsertRowid).toBeUndefined();
  });

  it("surfaces constraint violations as LibsqlError with code SQLITE_CONSTRAINT", async () => {
    await client.execute(
      "CREATE TABLE owners (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL)",
    );
    await client.execute("CREATE TABLE pets (owner_id INTEGER NOT NULL REFERENCES owners(id))");
    await client.execute("INSERT INTO owners (email) VALUES ('a@example.com')");

    const failures = [
      "INSERT INTO owners (email) VALUES ('a@example.com')",
      "INSERT INTO owners (email) VALUES (NULL)",
      // libsql turns foreign_keys on for every connection; the server keeps it that way.
      "INSERT INTO pets (owner_id) VALUES (42)",
    ];
    for (const sql of failures) {
      const error = await client.execute(sql).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LibsqlError);
      expect(error).toMatchObject({ code: "SQLITE_CONSTRAINT" });
    }
    const error = await client.execute(failures[0] ?? "").catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/UNIQUE constraint failed: owners\.email/);
  });

  it("reports SQL errors with SQLITE_ERROR and refuses several statements in one execute", async () => {
    await expect(client.execute("SELEC 1")).rejects.toMatchObject({ code: "SQLITE_ERROR" });
    await expect(client.execute("SELECT * FROM nowhere")).rejects.toMatchObject({
      code: "SQLITE_ERROR",
    });
    await expect(client.execute("SELECT 1; SELECT 2")).rejects.toMatchObject({
      code: "SQL_MANY_STATEMENTS",
    });
    await expect(client.execute("-- nothing here")).rejects.toMatchObject({
      code: "SQL_NO_STATEMENT",
    });
    const rs = await client.execute("SELECT 'a;b' AS s; -- trailing comment");
    expect(rs.rows[0]?.s).toBe("a;b");
  });

  it("accepts any auth token and ignores it", async () => {
    const c = connect({ authToken: "not-a-real-token" });
    const rs = await c.execute("SELECT 1 AS one");
    expect(rs.rows[0]?.one).toBe(1);
  });
});

describe("batches and scripts", () => {
  beforeAll(async () => {
    await client.execute("CREATE TABLE items (name TEXT PRIMARY KEY)");
  });

  for (const mode of ["write", "deferred"] as const) {
    it(`a ${mode} batch commits every step, or rolls back every step when a middle one fails`, async () => {
      await client.execute("DELETE FROM items");
      const results = await client.batch(
        [
          { sql: "INSERT INTO items VALUES (?)", args: [`${mode}-1`] },
          { sql: "INSERT INTO items VALUES (?)", args: [`${mode}-2`] },
          "SELECT count(*) AS n FROM items",
        ],
        mode,
      );
      expect(results.map((r) => r.rowsAffected)).toEqual([1, 1, 0]);
      expect(results[2]?.rows[0]?.n).toBe(2);

      const failed = client.batch(
        [
          { sql: "INSERT INTO items VALUES (?)", args: [`${mode}-3`] },
          { sql: "INSERT INTO items VALUES (?)", args: [`${mode}-1`] },
          { sql: "INSERT INTO items VALUES (?)", args: [`${mode}-4`] },
        ],
        mode,
      );
      await expect(failed).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT" });
      const names = await client.execute("SELECT name FROM items ORDER BY name");
      expect(names.rows.map((r) => r.name)).toEqual([`${mode}-1`, `${mode}-2`]);
    });
  }

  it("a read batch reads in one transaction, cannot write, and writes nothing", async () => {
    await client.execute("DELETE FROM items");
    await client.execute("INSERT INTO items VALUES ('kept')");
    const reads = await client.batch(
      ["SELECT count(*) AS n FROM items", "SELECT name FROM items"],
      "read",
    );
    expect(reads[0]?.rows[0]?.n).toBe(1);
    expect(reads[1]?.rows[0]?.name).toBe("kept");

    const write = client.batch(
      ["SELECT 1", "INSERT INTO items VALUES ('sneaky')", "SELECT 2"],
      "read",
    );
    await expect(write).rejects.toMatchObject({ code: "SQLITE_READONLY" });
    expect(await count("items")).toBe(1);
    // The read-only state ended with that transaction.
    await client.batch(["INSERT INTO items VALUES ('later')"], "write");
    expect(await count("items")).toBe(2);
  });

  it("executeMultiple runs a script in order and stops at the first error", async () => {
    await client.executeMultiple(`
      CREATE TABLE audit (what TEXT);
      CREATE TABLE notes (body TEXT);
      -- a trigger body has its own semicolons; the script splitter must not cut it
      CREATE TRIGGER notes_audit AFTER INSERT ON notes BEGIN
        INSERT INTO audit VALUES ('note: ' || new.body);
        INSERT INTO audit VALUES (CASE WHEN length(new.body) > 3 THEN 'long' ELSE 'short' END);
      END;
      INSERT INTO notes VALUES ('hello; world');
    `);
    const audit = await client.execute("SELECT what FROM audit");
    expect(audit.rows.map((r) => r.what)).toEqual(["note: hello; world", "long"]);

    const script = client.executeMultiple(
      "INSERT INTO notes VALUES ('one'); INSERT INTO nowhere VALUES (1); INSERT INTO notes VALUES ('three');",
    );
    await expect(script).rejects.toMatchObject({ code: "SQLITE_ERROR" });
    const notes = await client.execute("SELECT body FROM notes");
    expect(notes.rows.map((r) => r.body)).toEqual(["hello; world", "one"]);
  });
});

describe("interactive transactions", () => {
  beforeAll(async () => {
    await client.execute("CREATE TABLE ledger (entry TEXT)");
  });

  it("commits an interactive transaction", async () => {
    const tx = await client.transaction("write");
    await tx.execute({ sql: "INSERT INTO ledger VALUES (?)", args: ["committed-1"] });
    const inside = await tx.execute("SELECT count(*) AS n FROM ledger");
    expect(inside.rows[0]?.n).toBe(1);
    await tx.batch([
      { sql: "INSERT INTO ledger VALUES (?)", args: ["committed-2"] },
      { sql: "INSERT INTO ledger VALUES (?)", args: ["committed-3"] },
    ]);
    await tx.commit();
    expect(tx.closed).toBe(true);
    expect(await count("ledger")).toBe(3);
  });

  it("rolls back an interactive transaction", async () => {
    const before = await count("ledger");
    const tx = await client.transaction("write");
    await tx.execute("INSERT INTO ledger VALUES ('rolled back')");
    await tx.execute("DELETE FROM ledger WHERE entry = 'committed-1'");
    await tx.rollback();
    expect(await count("ledger")).toBe(before);
  });

  it("a read transaction sees data but cannot write", async () => {
    const tx = await client.transaction("read");
    const rs = await tx.execute("SELECT count(*) AS n FROM ledger");
    expect(rs.rows[0]?.n).toBe(3);
    await expect(tx.execute("INSERT INTO ledger VALUES ('no')")).rejects.toMatchObject({
      code: "SQLITE_READONLY",
    });
    await tx.commit();
    expect(await count("ledger")).toBe(3);
  });

  it("a second client's write waits for an open transaction and then succeeds (no SQLITE_BUSY)", async () => {
    const other = connect();
    const tx = await client.transaction("write");
    await tx.execute("INSERT INTO ledger VALUES ('from the transaction')");

    let settled = false;
    const waiting = other
      .execute("INSERT INTO ledger VALUES ('from the other client')")
      .then((rs) => {
        settled = true;
        return rs;
      });
    await sleep(150);
    expect(settled).toBe(false);

    await tx.execute("INSERT INTO ledger VALUES ('still the transaction')");
    await tx.commit();
    await expect(waiting).resolves.toMatchObject({ rowsAffected: 1 });
    const rs = await client.execute("SELECT entry FROM ledger ORDER BY rowid DESC LIMIT 3");
    expect(rs.rows.map((r) => r.entry)).toEqual([
      "from the other client",
      "still the transaction",
      "from the transaction",
    ]);
  });
});

describe("drizzle", () => {
  it("runs drizzle-orm's libsql migrator against the server, once", async () => {
    const migrations = join(dir, "drizzle");
    await mkdir(join(migrations, "meta"), { recursive: true });
    await writeFile(
      join(migrations, "meta", "_journal.json"),
      JSON.stringify({
        version: "7",
        dialect: "sqlite",
        entries: [
          { idx: 0, version: "6", when: 1_700_000_000_000, tag: "0000_x", breakpoints: true },
        ],
      }),
    );
    await writeFile(
      join(migrations, "0000_x.sql"),
      [
        "CREATE TABLE `authors` (`id` integer PRIMARY KEY NOT NULL, `name` text NOT NULL);",
        "CREATE TABLE `books` (`id` integer PRIMARY KEY NOT NULL, `author_id` integer NOT NULL REFERENCES `authors`(`id`), `title` text NOT NULL);",
        "CREATE INDEX `books_author_idx` ON `books` (`author_id`);",
      ].join("\n--> statement-breakpoint\n"),
    );

    const db = drizzle(client);
    await migrate(db, { migrationsFolder: migrations });
    await migrate(db, { migrationsFolder: migrations });

    const tables = await client.execute(
      "SELECT name FROM sqlite_schema WHERE name IN ('authors', 'books', 'books_author_idx') ORDER BY name",
    );
    expect(tables.rows.map((r) => r.name)).toEqual(["authors", "books", "books_author_idx"]);
    expect(await count("__drizzle_migrations")).toBe(1);
    const fk = await client.execute("PRAGMA foreign_keys");
    expect(fk.rows[0]?.foreign_keys).toBe(1);
  });
});
