import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { memberships, type RoomRow, rooms } from "../db/schema";

export async function findRoomById(db: Db, id: string): Promise<RoomRow | undefined> {
  return db.select().from(rooms).where(eq(rooms.id, id)).get();
}

/** Member count as a correlated subquery, so a room and its count come back in one statement. */
export const memberCountSql = sql<number>`(select count(*) from ${memberships} where ${memberships.roomId} = ${rooms.id})`;
