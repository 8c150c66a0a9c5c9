import { newRouter } from "../lib/openapi";

export const authRoutes = newRouter();
