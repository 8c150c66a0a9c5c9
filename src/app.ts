import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { authRoutes } from "./auth/routes";
import { chatRoutes } from "./chat/routes";
import { docsPage } from "./docs";
import type { AppEnv } from "./env";
import { invitesRoutes, roomInvitesRoutes } from "./invites/routes";
import { ApiError, errorBody, renderError } from "./lib/errors";
import { newRouter } from "./lib/openapi";
import { isOriginAllowed } from "./lib/origins";
import { memberRoutes } from "./rooms/member-routes";
import { roomsRoutes } from "./rooms/routes";
import { servicesMiddleware } from "./services";
import { meRoutes } from "./users/routes";

/** Request bodies above this get 413 before any parsing (DESIGN "Limits and config"). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Runs `mw` on every request except WebSocket upgrades. The headers these add (security headers,
 * Cache-Control, CORS) say nothing on a 101 (no document, nothing cached, and browsers apply no
 * CORS to WebSockets: the ws route checks Origin itself), and each header set on a response that
 * already exists makes Hono copy the Response: garbage on every connect (docs/performance.md).
 */
const httpOnly =
  (mw: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> =>
  (c, next) =>
    c.req.header("upgrade") === undefined ? mw(c, next) : next();

export function createApp() {
  const app = newRouter();

  app.use("*", requestId({ generator: () => crypto.randomUUID() }));
  app.use("*", httpOnly(secureHeaders({ crossOriginResourcePolicy: "cross-origin" })));
  // API answers carry tokens, invites and private room data: never cache them (errors included,
  // since this runs after onError has rendered them).
  app.use(
    "/api/*",
    httpOnly(async (c, next) => {
      await next();
      c.header("Cache-Control", "no-store");
    }),
  );
  app.use(
    "/api/*",
    httpOnly(
      cors({
        origin: (origin, c) =>
          isOriginAllowed(origin, c.req.url, c.env.ALLOWED_ORIGINS) ? origin : null,
        allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        allowHeaders: ["Authorization", "Content-Type"],
        exposeHeaders: ["Retry-After"],
        maxAge: 600,
      }),
    ),
  );
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError({
          code: "payload_too_large",
          message: `Request body over ${MAX_BODY_BYTES} bytes`,
        });
      },
    }),
  );
  app.use("/api/*", servicesMiddleware);

  app.get("/health", (c) => c.json({ ok: true }));

  app.route("/api/auth", authRoutes);
  app.route("/api/me", meRoutes);
  app.route("/api/rooms", roomsRoutes);
  app.route("/api/rooms", memberRoutes);
  app.route("/api/rooms", roomInvitesRoutes);
  app.route("/api/rooms", chatRoutes);
  app.route("/api/invites", invitesRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "Edge chat backend",
      version: "0.1.0",
      description:
        "Real-time chat on Cloudflare Workers. Errors are `{error:{code,message,details?}}`. " +
        "The WebSocket protocol is documented in docs/protocol.md.",
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }));
  app.get("/docs", (c) => c.html(docsPage("/openapi.json")));

  app.notFound((c) => c.json(errorBody("not_found", "No such route"), 404));
  app.onError(renderError);
  return app;
}

export type App = ReturnType<typeof createApp>;
