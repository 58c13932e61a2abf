/**
 * probekit/middleware: the liveness short-circuit for `proxy.ts` (Next 16) or
 * `middleware.ts` (edge). It answers before any app code runs and imports
 * nothing, so it adds almost nothing to a middleware bundle.
 *
 * @example
 * // proxy.ts
 * import { withLiveness } from "probekit/middleware";
 * export default withLiveness();
 * export const config = { matcher: ["/healthcheck/liveness"] };
 */

export interface LivenessOptions {
  /**
   * The path to answer, with or without a trailing slash.
   * @default "/healthcheck/liveness"
   */
  path?: string;
}

/** The header every short-circuit answer carries, so a diagnostic can tell it from a route. */
export const LIVENESS_HEADER = "x-probekit-liveness";

/** The short-circuit's answer, shared with probekit/node's. */
export const LIVENESS_BODY = '{"status":"ok"}';
export const LIVENESS_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "application/json",
  // NO_STORE of the core, written out: this entry imports nothing.
  "Cache-Control": "no-store, no-cache, must-revalidate, private, max-age=0",
  [LIVENESS_HEADER]: "short-circuit",
};

const DEFAULT_PATH = "/healthcheck/liveness";

/**
 * The one liveness rule, shared by this short-circuit, probekit/node and the drain:
 * the path itself, or the path with one trailing slash.
 */
export function isLivenessPath(pathname: string, path: string = DEFAULT_PATH): boolean {
  // On every request through probekit/node and the middleware: compared in place, no string made.
  if (path.length > 1 && path.charCodeAt(path.length - 1) === 47) path = path.slice(0, -1);
  const length = path.length;
  if (pathname.length !== length && !(pathname.length === length + 1 && pathname.charCodeAt(length) === 47)) return false;
  return pathname.startsWith(path);
}

/**
 * Answers `GET`/`HEAD` on the liveness path with `200 {"status":"ok"}`; returns
 * `undefined` for every other request so the caller goes on.
 *
 * @example
 * export function proxy(request: Request) {
 *   return liveness(request) ?? myProxy(request);
 * }
 */
export function liveness(request: Request, options: LivenessOptions = {}): Response | undefined {
  const method = request.method;
  if (method !== "GET" && method !== "HEAD") return undefined;
  if (!isLivenessPath(pathOf(request.url), options.path)) return undefined;
  return new Response(method === "HEAD" ? null : LIVENESS_BODY, { status: 200, headers: LIVENESS_HEADERS });
}

/**
 * Wraps a proxy/middleware function so the liveness path is answered first; with
 * no function, every other request continues as if there were no middleware.
 *
 * @example
 * export default withLiveness(async (request) => {
 *   if (!request.headers.get("cookie")) return Response.redirect(new URL("/login", request.url));
 * });
 */
export function withLiveness(handler?: undefined, options?: LivenessOptions): (request: Request, ...rest: unknown[]) => Response | undefined;
// Generic over the request type, so a proxy written for `NextRequest` keeps its type.
export function withLiveness<Req extends Request, Args extends unknown[], Result>(
  handler: (request: Req, ...rest: Args) => Result,
  options?: LivenessOptions,
): (request: Req, ...rest: Args) => Response | Result;
export function withLiveness<Req extends Request, Args extends unknown[], Result>(
  handler?: (request: Req, ...rest: Args) => Result,
  options: LivenessOptions = {},
): (request: Req, ...rest: Args) => Response | Result | undefined {
  return (request, ...rest) => liveness(request, options) ?? handler?.(request, ...rest);
}

/** The pathname of an absolute URL, without building a URL object (the hot path of every request). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query !== -1) end = query;
  const hash = url.indexOf("#", start);
  if (hash !== -1 && hash < end) end = hash;
  return url.slice(start, end);
}
