import { OpenAPIHono } from "@hono/zod-openapi";
import type { z } from "zod";
import type { AppEnv } from "../env";
import { errorResponseSchema } from "../shared/api";
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

/** `content` for a JSON request or response in a createRoute() config. */
export const jsonContent = <T extends z.ZodType>(schema: T) => ({
  content: { "application/json": { schema } },
});

/** A required JSON request body (required, so a missing content-type can't skip validation). */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  ...jsonContent(schema),
});

/** A documented error response in DESIGN's envelope. */
export const errorResponse = (description: string) => ({
  description,
  ...jsonContent(errorResponseSchema),
});

/** Routes that need a Bearer access token say so in the OpenAPI document. */
export const bearerSecurity = [{ bearerAuth: [] }];
