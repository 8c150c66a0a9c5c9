import { expect } from "vitest";

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  json?: unknown;
  token?: string;
  headers?: Record<string, string>;
  /** Raw body (overrides json); sent with whatever content-type `headers` says. */
  body?: BodyInit;
}

/**
 * A tiny HTTP client for the API under test. Every 4xx/5xx answer is checked against DESIGN's
 * error envelope, so a route that leaks another shape fails whichever test touched it.
 *
 * `base` is the service's base URL, or anything with a `url` (a `Service`, also the handle
 * `useService` returns) read on every call, so a client can be made at module level, before the
 * service has started.
 */
export function apiClient(base: string | { readonly url: string }) {
  return async function call<T = any>(
    method: string,
    path: string,
    opts: CallOptions = {},
  ): Promise<ApiResponse<T>> {
    const baseUrl = typeof base === "string" ? base : base.url;
    const headers: Record<string, string> = { ...opts.headers };
    let body: BodyInit | undefined = opts.body;
    if (body === undefined && opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers["content-type"] ??= "application/json";
    }
    if (opts.token) {
      headers.authorization = `Bearer ${opts.token}`;
    }
    let res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    let text = await res.text();
    // Under heavy load the local runtime's proxy (miniflare's entry worker, not our Worker) now and
    // then drops its connection to the Worker and answers a bare 500 "Network connection lost".
    // That is a transport hiccup of the dev runtime, seen about once per few thousand requests;
    // send the same request once more. Our own errors always use the JSON envelope, so this can't
    // hide an app failure. (A ReadableStream body can't be re-sent; those tests don't hit this.)
    if (
      res.status === 500 &&
      text.startsWith("Error: Network connection lost.") &&
      !(body instanceof ReadableStream)
    ) {
      res = await fetch(`${baseUrl}${path}`, { method, headers, body });
      text = await res.text();
    }
    let parsed: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("application/json") && text.length > 0) {
      parsed = JSON.parse(text);
    }
    if (res.status >= 400) {
      expect(
        parsed,
        `${method} ${path} -> ${res.status} must use the error envelope`,
      ).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  };
}

export type Api = ReturnType<typeof apiClient>;
