import type { ChatClient, MyRoom, User } from "../src/client";

/** What every signed-in view gets from the app shell (web/main.ts). */
export interface AppContext {
  readonly client: ChatClient;
  readonly me: User;
  /** Goes to an app path without reloading; `replace` rewrites the current history entry. */
  navigate(path: string, options?: { replace?: boolean }): void;
  /** Reloads the room list soon (after joining, leaving, a new message...). */
  refreshRooms(): void;
  /** Your rooms as last loaded (empty until the first load). */
  readonly myRooms: readonly MyRoom[];
  /** The signed-in user changed (a guest became an account): the shell re-renders. */
  userChanged(user: User): void;
}

/** Views return this; the shell calls it when they are replaced. */
export type Cleanup = () => void;
