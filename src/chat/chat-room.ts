import { DurableObject } from "cloudflare:workers";
import type { Message, Role } from "../shared/api";

/**
 * One per room. CONTRACT used by other features (rooms, auth, users); the live-rooms work fills
 * in the bodies. All methods are idempotent so a retried RPC is harmless.
 */
export class ChatRoom extends DurableObject<Env> {
  /** Unread count (others' messages above the user's read watermark) and the newest message. */
  async roomSummary(
    _userId: string,
  ): Promise<{ unreadCount: number; lastMessage: Message | null }> {
    return { unreadCount: 0, lastMessage: null };
  }

  /** Membership ended (kick or leave): close that user's sockets (4003) and forget its presence. */
  async removeMember(_userId: string, _reason: "kicked" | "left"): Promise<void> {}

  /** A member's role changed: live sockets pick up the new role at once. */
  async setMemberRole(_userId: string, _role: Role): Promise<void> {}

  /** A session was revoked (logout, refresh-token reuse): close its sockets with 4001. */
  async revokeSession(_sessionId: string): Promise<void> {}

  /** Profile changed (display name, guest upgraded): update live sockets' identity. */
  async updateUser(
    _userId: string,
    _fields: { displayName: string; isGuest: boolean },
  ): Promise<void> {}

  /** The room was deleted: close every socket with 4004 and wipe the object's storage. */
  async deleteRoom(): Promise<void> {}
}
