/**
 * `handleHealthRequest`: the whole HTTP behaviour of a health endpoint on web
 * standards alone (Request, Response, URL, Web Crypto), so every runtime and
 * every adapter shares it.
 */
import type { HealthConfig } from "./config.js";
import { negotiateFormat, type ResponseFormat } from "./negotiate.js";
import { toHealthHtml, toHealthJson, escapeHtml } from "./render.js";
import { runHealthChecks } from "./runner.js";
import { readEnv } from "./util.js";

export interface HealthRequestOptions {
  /** Serve this subset whatever the path; otherwise the last path segment names it. */
  subset?: string;
}

/** Sent with every health response: a probe must never see a cached answer. */
export const NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0";

const CONTENT_TYPES: Record<ResponseFormat, string> = {
  html: "text/html; charset=utf-8",
  json: "application/json",
  "health+json": "application/health+json",
};

/**
 * Answers a health request: runs the subset the path (or `options.subset`) names
 * and renders the report in the negotiated format.
 *
 * @example
 * // Bun, Deno, Workers, or any Fetch server mounted at /healthcheck/:subset
 * export default { fetch: (request: Request) => handleHealthRequest(request, config) };
 */
export async function handleHealthRequest(request: Request, config: HealthConfig, options: HealthRequestOptions = {}): Promise<Response> {
  const method = request.method.toUpperCase();
  const head = method === "HEAD";
  if (method !== "GET" && !head) return textResponse(405, "method not allowed: use GET or HEAD", head, { Allow: "GET, HEAD" });

  const url = new URL(request.url);
  const negotiated = negotiateFormat(url.searchParams.get("format"), request.headers.get("accept"));
  const subset = options.subset ?? lastPathSegment(url.pathname);
  if (subset === undefined || !Object.hasOwn(config.subsets, subset)) {
    const message = `unknown subset${subset === undefined ? "" : ` ${JSON.stringify(subset.slice(0, 64))}`}`;
    return "format" in negotiated ? problemResponse(404, message, negotiated.format, head) : textResponse(404, message, head);
  }
  if ("error" in negotiated) return textResponse(negotiated.error, negotiated.message, head);

  const [report, detail] = await Promise.all([runHealthChecks(config, subset), isAuthorized(request, config)]);
  const status = report.status === "fail" ? config.options.failureStatus : 200;
  const body =
    negotiated.format === "html" ? toHealthHtml(report, { detail }) : JSON.stringify(toHealthJson(report, { detail }));
  return new Response(head ? null : body, { status, headers: healthHeaders(negotiated.format) });
}

/** The subset a URL names: its last non-empty segment, percent-decoded. */
export function lastPathSegment(pathname: string): string | undefined {
  const segments = pathname.split("/").filter(Boolean);
  const last = segments[segments.length - 1];
  return last === undefined ? undefined : decodeSegment(last);
}

/** Percent-decodes a path segment; a malformed escape names no subset. */
export function decodeSegment(segment: string): string | undefined {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function healthHeaders(format: ResponseFormat): Record<string, string> {
  return {
    "Content-Type": CONTENT_TYPES[format],
    "Cache-Control": NO_STORE,
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
  };
}

function problemResponse(status: number, message: string, format: ResponseFormat, head: boolean): Response {
  const body =
    format === "html"
      ? `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${status}</title></head><body><p>${escapeHtml(message)}</p></body></html>`
      : JSON.stringify({ status: "fail", output: message });
  return new Response(head ? null : body, { status, headers: healthHeaders(format) });
}

function textResponse(status: number, message: string, head: boolean, extra: Record<string, string> = {}): Response {
  return new Response(head ? null : `${message}\n`, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": NO_STORE, "X-Content-Type-Options": "nosniff", ...extra },
  });
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** `Authorization: Bearer <token>` matching the option or `HEALTH_CHECK_TOKEN`, compared in constant time. */
async function isAuthorized(request: Request, config: HealthConfig): Promise<boolean> {
  const header = request.headers.get("authorization");
  if (header === null) return false;
  const expected = config.options.token ?? readEnv("HEALTH_CHECK_TOKEN");
  if (!expected) return false;
  const given = BEARER.exec(header)?.[1];
  if (given === undefined) return false;
  return constantTimeEqual(given, expected);
}

/** Compares SHA-256 digests, so neither the content nor the length of the token leaks through timing. */
async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [left, right] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  const x = new Uint8Array(left);
  const y = new Uint8Array(right);
  let difference = 0;
  for (let i = 0; i < x.length; i++) difference |= x[i]! ^ y[i]!;
  return difference === 0;
}
