import { newRouter } from "../lib/openapi";

export const chatRoutes = newRouter();
