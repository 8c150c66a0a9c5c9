import { newRouter } from "../lib/openapi";

export const meRoutes = newRouter();
