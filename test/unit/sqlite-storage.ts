import Database from "libsql";
import type { RoomStorage } from "../../src/chat/message-store";

/**
 * The slice of Durable Object storage the room's MessageStore uses, over an in-memory SQLite in
 * Node (the `libsql` package), so the store's SQL runs in unit tests without workerd.
 */
export function memoryRoomStorage(): RoomStorage & { close(): void } {
  const db = new Database(":memory:");
  return {
    sql: {
      exec<T>(query: string, ...bindings: unknown[]) {
        const stmt = db.prepare(query);
        if (!stmt.reader) {
          stmt.run(bindings);
          return { toArray: () => [] as T[] };
        }
        const rows = stmt.all(bindings) as T[];
        return { toArray: () => rows };
      },
    },
    transactionSync: <T>(closure: () => T): T => db.transaction(closure)(),
    close: () => db.close(),
  } as RoomStorage & { close(): void };
}
