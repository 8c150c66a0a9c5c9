import { createRoute, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { z } from "zod";
import { requireAuth } from "../auth/require-auth";
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

/** The error answers that many routes share, word for word. */
export const invalidInput = errorResponse("Invalid input");
export const unauthorized = errorResponse("Missing, invalid or expired access token");
export const hiddenRoom = errorResponse("No such room, or a private room you are not in");

/**
 * createRoute() for routes behind requireAuth, bound to a feature's tags: it adds the middleware,
 * the Bearer scheme and the 400 and 401 answers every such route has. A route lists only its own
 * responses (and its own tags, if they differ); where it gives a status already here, it wins.
 */
export const authedRoutes =
  (tags: string[]) =>
  <P extends string, R extends Omit<RouteConfig, "path" | "security" | "middleware"> & { path: P }>(
    config: R,
  ) =>
    createRoute({
      tags,
      ...config,
      security: bearerSecurity,
      middleware: [requireAuth],
      responses: { 400: invalidInput, 401: unauthorized, ...config.responses },
    });
