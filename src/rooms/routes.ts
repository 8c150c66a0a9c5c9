import { newRouter } from "../lib/openapi";

export const roomsRoutes = newRouter();
