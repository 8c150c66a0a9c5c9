import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { ApiError } from "./errors";

/**
 * Every feature router is an OpenAPIHono so its routes land in /openapi.json from the same zod
 * schemas that validate them. The default hook is the project's validation wrapper (STYLE rule 2):
 * a failed body, query, param or header turns into ApiError("validation_failed") with the issues.
 */
export function newRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError({
          code: "validation_failed",
          message: `Invalid ${result.target}`,
          details: result.error.issues.map((i) => ({
            path: i.path.map(String),
            code: i.code,
            message: i.message,
          })),
        });
      }
    },
  });
}
