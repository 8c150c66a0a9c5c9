/**
 * Paths of the app. They are real paths (history.pushState), served by the Worker's static
 * assets as index.html (wrangler.toml: not_found_handling = "single-page-application"):
 * - `/`: your rooms, create, discover (or sign-in when signed out)
 * - `/rooms/<id>`: a room
 * - `/join#<token>`: an invite link. The token rides in the fragment, which browsers never send
 *   to a server, so it stays out of logs and Referer headers (DESIGN "Invites").
 */
export type Route =
  | { name: "home" }
  | { name: "room"; roomId: string }
  | { name: "join"; token: string }
  | { name: "not_found" };

export function parseRoute(location: Location): Route {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  if (path === "/") {
    return { name: "home" };
  }
  if (path === "/join") {
    return { name: "join", token: decodeURIComponent(location.hash.replace(/^#/, "")) };
  }
  const room = /^\/rooms\/([^/]+)$/.exec(path);
  if (room?.[1]) {
    return { name: "room", roomId: decodeURIComponent(room[1]) };
  }
  return { name: "not_found" };
}

export const homePath = "/";
export const roomPath = (roomId: string): string => `/rooms/${encodeURIComponent(roomId)}`;
export const joinPath = (token: string): string => `/join#${encodeURIComponent(token)}`;
