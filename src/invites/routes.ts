import { newRouter } from "../lib/openapi";

export const invitesRoutes = newRouter();
export const roomInvitesRoutes = newRouter();
