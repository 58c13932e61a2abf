/**
 * `handleHealthRequest`: the whole HTTP behaviour of a health endpoint on web
 * standards alone (Request, Response, URL, Web Crypto), so every runtime and
 * every adapter shares it.
 */
import type { HealthConfig } from "./config.js";
import { isLivenessPath } from "../middleware/index.js";
import { METRICS_CONTENT_TYPES, toMetricsText } from "./metrics.js";
import { isMetricsFormat, negotiateFormat, negotiateMetricsFormat, type MetricsFormat, type Negotiated, type ResponseFormat } from "./negotiate.js";
import { toHealthHtml, toHealthJsonText, escapeHtml } from "./render.js";
import { freshReport, latestReport, latestReports, runHealthChecks, type HealthReport } from "./runner.js";
import { isShuttingDown } from "./shutdown.js";
import { MAX_TIMER_MS, readEnv, subsetList } from "./util.js";

export interface HealthRequestOptions extends StaleOptions {
  /** Serve this subset whatever the path; otherwise the last path segment names it. */
  subset?: string;
}

/** Serving a stale report at once and refreshing it after the response (serverless). */
export interface StaleOptions {
  /**
   * Runs work after the response is sent: Next's `after` from `next/server`, or
   * `(task) => ctx.waitUntil(task())` on Workers. With it, a report older than
   * `cacheTtlMs` but younger than `staleMs` is answered at once and refreshed afterwards.
   */
  after?: (task: () => Promise<unknown>) => unknown;
  /**
   * How old a report may be and still be answered at once while `after` refreshes it, in ms.
   * @default 30000
   */
  staleMs?: number;
}

/** The default of `staleMs`. */
export const DEFAULT_STALE_MS = 30_000;

/** Sent with every health response: a probe must never see a cached answer. */
export const NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0";

const CONTENT_TYPES: Record<ResponseFormat, string> = {
  html: "text/html; charset=utf-8",
  json: "application/json",
  "health+json": "application/health+json",
  ...METRICS_CONTENT_TYPES,
};

/** What the health rules need from a request, whatever server received it. */
export interface HealthRequestParts {
  /** The request method, any case. */
  method: string;
  /** The path as `URL.pathname` gives it: dot segments resolved, still percent-encoded. */
  pathname: string;
  /** The `format` query parameter, or null. */
  format: string | null;
  /** The `Accept` header, or null. */
  accept: string | null;
  /** The `Authorization` header, or null. */
  authorization: string | null;
}

/** A health response before any server's response object: status, headers, and the body (null for HEAD). */
export interface HealthAnswer {
  status: number;
  /** Frozen, and shared between answers: copy before changing. */
  headers: Readonly<Record<string, string>>;
  body: string | null;
}

/**
 * Answers a health request: runs the subset the path (or `options.subset`) names
 * and renders the report in the negotiated format.
 *
 * @example
 * // Bun, Deno, Workers, or any Fetch server mounted at /healthcheck/:subset
 * export default { fetch: (request: Request) => handleHealthRequest(request, config) };
 */
export async function handleHealthRequest(request: Request, config: HealthConfig, options: HealthRequestOptions = {}): Promise<Response> {
  const { pathname, format } = splitUrl(request.url);
  const { headers } = request;
  const answer = answerNowOrLater({ method: request.method, pathname, format, accept: headers.get("accept"), authorization: headers.get("authorization") }, config, options);
  // A cached answer is a Response at once, with no promise waited on in between.
  return toResponse(answer instanceof Promise ? await answer : answer);
}

function toResponse({ status, headers, body }: HealthAnswer): Response {
  // 200 is the default: no status to convert (undici checks an explicit one on every Response).
  return new Response(body, status === 200 ? { headers } : { status, headers });
}

/**
 * The pathname and `format` parameter of `Request.url`, which the Request
 * constructor has already serialized (dot segments resolved, characters
 * escaped), so slicing the string gives what `new URL(…).pathname` would,
 * without building a URL for every probe.
 */
function splitUrl(url: string): { pathname: string; format: string | null } {
  const scheme = url.indexOf("://");
  const start = scheme === -1 ? -1 : url.indexOf("/", scheme + 3);
  if (start === -1) {
    const parsed = new URL(url);
    return { pathname: parsed.pathname, format: parsed.searchParams.get("format") };
  }
  let end = url.indexOf("#", start);
  if (end === -1) end = url.length;
  const query = url.indexOf("?", start);
  if (query === -1 || query > end) return { pathname: url.slice(start, end), format: null };
  return { pathname: url.slice(start, query), format: new URLSearchParams(url.slice(query + 1, end)).get("format") };
}

/**
 * The rules of a health endpoint on plain values, for adapters that have no Fetch
 * `Request` (probekit/node, or your own for another server): the same statuses,
 * headers and bodies as `handleHealthRequest`.
 */
export async function answerHealthRequest(request: HealthRequestParts, config: HealthConfig, options: HealthRequestOptions = {}): Promise<HealthAnswer> {
  return answerNowOrLater(request, config, options);
}

/**
 * The answer itself when no check has to run and no token has to be compared (the
 * report is still cached, or the answer is an error), else its promise: the node
 * adapter's hot path, with no promise in between.
 */
export function answerNowOrLater(request: HealthRequestParts, config: HealthConfig, options: HealthRequestOptions = {}): HealthAnswer | Promise<HealthAnswer> {
  const prepared = prepareAnswer(request, config, options);
  if ("status" in prepared) return prepared;
  // Metrics carry no message: nothing for a token to unlock.
  if (isMetricsFormat(prepared.format)) return metricsNowOrLater(config, [prepared.subset], prepared.format, prepared.head, options);
  const report = reportNowOrLater(config, prepared.subset, options);
  if (request.authorization === null) {
    if (!(report instanceof Promise)) return reportAnswer(report, prepared, false, config);
    return report.then((report) => reportAnswer(report, prepared, false, config));
  }
  return Promise.all([report, isAuthorized(request.authorization, config)]).then(([report, detail]) => reportAnswer(report, prepared, detail, config));
}

/**
 * The report to answer with: the fresh one, else (with `after`) a stale one while a
 * refresh runs after the response, else the promise of a run.
 */
function reportNowOrLater(config: HealthConfig, subset: string, options: StaleOptions): HealthReport | Promise<HealthReport> {
  const fresh = freshReport(config, subset);
  if (fresh !== undefined) return fresh;
  if (options.after !== undefined) {
    const stale = latestReport(config, subset, options.staleMs ?? DEFAULT_STALE_MS);
    if (stale !== undefined) {
      try {
        options.after(() => runHealthChecks(config, subset).catch(() => undefined));
        return stale;
      } catch {
        // Next's after() throws outside a request scope: run now, as without it.
      }
    }
  }
  return runHealthChecks(config, subset);
}

/** Checks `after` and `staleMs` when a route is created. */
export function checkStaleOptions(options: StaleOptions, who: string): void {
  if (options.after !== undefined && typeof options.after !== "function") throw new TypeError(`${who}: after must be a function (Next's after from next/server)`);
  const { staleMs } = options;
  if (staleMs !== undefined && !(Number.isInteger(staleMs) && staleMs >= 0 && staleMs <= MAX_TIMER_MS)) {
    throw new TypeError(`${who}: staleMs must be a whole number of milliseconds between 0 and ${MAX_TIMER_MS}, got ${String(staleMs)}`);
  }
}

interface PreparedAnswer {
  subset: string;
  format: ResponseFormat;
  head: boolean;
}

/** Everything decided before a check runs: the method, the subset, the format, the drain. */
function prepareAnswer(request: HealthRequestParts, config: HealthConfig, options: HealthRequestOptions): PreparedAnswer | HealthAnswer {
  const method = request.method.toUpperCase();
  const head = method === "HEAD";
  if (method !== "GET" && !head) return textAnswer(405, "method not allowed: use GET or HEAD", head, { Allow: "GET, HEAD" });

  const negotiated = negotiate(request.format, request.accept);
  // Own property only: a polluted Object.prototype.subset must not pick the subset for every path.
  const subset = (Object.hasOwn(options, "subset") ? options.subset : undefined) ?? lastPathSegment(request.pathname);
  if (subset === undefined || !Object.hasOwn(config.subsets, subset)) {
    const message = `unknown subset${subset === undefined ? "" : ` ${JSON.stringify(subset.slice(0, 64))}`}`;
    return "format" in negotiated ? problemAnswer(404, message, negotiated.format, head) : textAnswer(404, message, head);
  }
  if ("error" in negotiated) return textAnswer(negotiated.error, negotiated.message, head);
  // A scrape is not a probe: the drain shows in probekit_shutting_down, and the series go on.
  if (isShuttingDown() && !isMetricsFormat(negotiated.format) && !isLivenessRequest(request.pathname, subset, config)) {
    // Draining: out of the load balancer before connections drop; no check runs.
    return problemAnswer(503, SHUTTING_DOWN, negotiated.format, head, { "Retry-After": "0" });
  }
  return { subset, format: negotiated.format, head };
}

function reportAnswer(report: HealthReport, prepared: PreparedAnswer, detail: boolean, config: HealthConfig): HealthAnswer {
  // Metrics formats are answered by metricsNowOrLater before a report is asked for.
  const format = prepared.format as Exclude<ResponseFormat, MetricsFormat>;
  return {
    status: report.status === "fail" ? config.options.failureStatus : 200,
    headers: HEALTH_HEADERS[format],
    // With cacheTtlMs: 0 no report is served twice: nothing to remember.
    body: prepared.head ? null : renderBody(report, format, detail, config.options.cacheTtlMs > 0),
  };
}

/**
 * Negotiation is a pure function of two header values that repeat from probe to
 * probe: remembered for the last few hundred pairs (forgotten all at once when full,
 * so hostile values cannot grow it).
 */
const negotiated = new Map<string | null, Map<string | null, Negotiated>>();
const NEGOTIATED_MAX = 256;
let negotiatedCount = 0;

function negotiate(format: string | null, accept: string | null): Negotiated {
  if ((format?.length ?? 0) + (accept?.length ?? 0) > 512) return negotiateFormat(format, accept);
  // Keyed by both values as they are (no key string built per request, and no pair can spell another).
  let answer = negotiated.get(format)?.get(accept);
  if (answer === undefined) {
    if (negotiatedCount >= NEGOTIATED_MAX) {
      negotiated.clear();
      negotiatedCount = 0;
    }
    let byAccept = negotiated.get(format);
    if (byAccept === undefined) negotiated.set(format, (byAccept = new Map()));
    answer = negotiateFormat(format, accept);
    byAccept.set(accept, answer);
    negotiatedCount++;
  }
  return answer;
}

const SHUTTING_DOWN = "shutting down";

/**
 * A report is rendered once per format and audience while the runner serves it
 * from its cache: a burst of probes shares one run and one body.
 */
const rendered = new WeakMap<HealthReport, Map<string, string>>();

function renderBody(report: HealthReport, format: Exclude<ResponseFormat, MetricsFormat>, detail: boolean, remember: boolean): string {
  const render = () => (format === "html" ? toHealthHtml(report, { detail }) : toHealthJsonText(report, { detail }));
  if (!remember) return render();
  let bodies = rendered.get(report);
  if (bodies === undefined) rendered.set(report, (bodies = new Map()));
  const key = BODY_KEYS[format][detail ? 1 : 0];
  let body = bodies.get(key);
  if (body === undefined) bodies.set(key, (body = render()));
  return body;
}

/** The remembered bodies' keys, made once: no string per request. */
const BODY_KEYS: Record<Exclude<ResponseFormat, MetricsFormat>, readonly [string, string]> = {
  html: ["html:public", "html:detail"],
  json: ["json:public", "json:detail"],
  "health+json": ["health+json:public", "health+json:detail"],
};

/**
 * Liveness is never drained, whether the short-circuit answers it or this route does
 * (the same path rule as probekit/middleware's, or its subset served from a fixed route).
 */
function isLivenessRequest(pathname: string, subset: string, config: HealthConfig): boolean {
  return isLivenessPath(pathname, config.options.livenessPath) || subset === lastPathSegment(config.options.livenessPath);
}

/** The subset a URL names: its last non-empty segment, percent-decoded. */
export function lastPathSegment(pathname: string): string | undefined {
  // Scanned from the end: no array per request (every probe comes through here).
  let end = pathname.length;
  while (end > 0 && pathname.charCodeAt(end - 1) === 47) end--; // trailing "/"
  if (end === 0) return undefined;
  const start = pathname.lastIndexOf("/", end - 1) + 1;
  return decodeSegment(end === pathname.length && start === 0 ? pathname : pathname.slice(start, end));
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

function healthHeaders(format: ResponseFormat): Readonly<Record<string, string>> {
  return Object.freeze({
    "Content-Type": CONTENT_TYPES[format],
    "Cache-Control": NO_STORE,
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
  });
}

/** Built once per format: every answer shares them (nothing writes to them). */
const HEALTH_HEADERS: Record<ResponseFormat, Readonly<Record<string, string>>> = {
  html: healthHeaders("html"),
  json: healthHeaders("json"),
  "health+json": healthHeaders("health+json"),
  openmetrics: healthHeaders("openmetrics"),
  prometheus: healthHeaders("prometheus"),
};

function problemAnswer(status: number, message: string, format: ResponseFormat, head: boolean, extra: Record<string, string> = {}): HealthAnswer {
  // An unknown subset asked for as metrics is a plain 404, like any other format's.
  if (isMetricsFormat(format)) return textAnswer(status, message, head, extra);
  const body =
    format === "html"
      ? `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${status}</title></head><body><p>${escapeHtml(message)}</p></body></html>`
      : JSON.stringify({ status: "fail", output: message });
  return { status, headers: Object.freeze({ ...HEALTH_HEADERS[format], ...extra }), body: head ? null : body };
}

function textAnswer(status: number, message: string, head: boolean, extra: Record<string, string> = {}): HealthAnswer {
  return {
    status,
    headers: Object.freeze({ "Content-Type": "text/plain; charset=utf-8", "Cache-Control": NO_STORE, "X-Content-Type-Options": "nosniff", ...extra }),
    body: head ? null : `${message}\n`,
  };
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** `Authorization: Bearer <token>` matching the option or `HEALTH_CHECK_TOKEN`, compared in constant time. */
async function isAuthorized(header: string | null, config: HealthConfig): Promise<boolean> {
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

// ---------------------------------------------------------------------------
// Metrics

export interface MetricsRequestOptions extends StaleOptions {
  /** The subsets one scrape runs and exposes; each must exist in the config. */
  subsets: readonly string[];
}

/**
 * Answers a scrape of several subsets at once: OpenMetrics 1.0.0 when the scraper asks
 * for it (Prometheus does), else the Prometheus text format 0.0.4. Always 200: a
 * failing subset shows in the values, never as a scrape error. Throws a TypeError for
 * an unknown or missing subset name (a mistake in the code, not in the request).
 *
 * @example
 * // Bun, Deno, Workers: one scrape target for every subset
 * Bun.serve({ fetch: (request) => handleMetricsRequest(request, config, { subsets: ["readiness", "integrations"] }) });
 */
export async function handleMetricsRequest(request: Request, config: HealthConfig, options: MetricsRequestOptions): Promise<Response> {
  return metricsResponse(request, config, subsetList(config, options?.subsets, "probekit: handleMetricsRequest"), options);
}

/** handleMetricsRequest for subsets checked once, when a route was created. */
export async function metricsResponse(request: Request, config: HealthConfig, subsets: readonly string[], options: StaleOptions): Promise<Response> {
  const { format } = splitUrl(request.url);
  const answer = await answerMetricsNowOrLater({ method: request.method, format, accept: request.headers.get("accept") }, config, subsets, options);
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/** What a metrics answer needs from a request. */
export type MetricsRequestParts = Pick<HealthRequestParts, "method" | "format" | "accept">;

/**
 * The metrics answer itself when every subset's report is fresh, else its promise.
 * `subsets` must have been checked (subsetList) by the caller, once.
 */
export function answerMetricsNowOrLater(
  request: MetricsRequestParts,
  config: HealthConfig,
  subsets: readonly string[],
  options: StaleOptions = {},
): HealthAnswer | Promise<HealthAnswer> {
  const method = request.method.toUpperCase();
  const head = method === "HEAD";
  if (method !== "GET" && !head) return textAnswer(405, "method not allowed: use GET or HEAD", head, { Allow: "GET, HEAD" });
  let format: MetricsFormat;
  if (request.format !== null) {
    const negotiated = negotiateFormat(request.format, null);
    if (!("format" in negotiated) || !isMetricsFormat(negotiated.format)) {
      return textAnswer(400, `unknown format ${JSON.stringify(request.format.slice(0, 32))}: use ?format=openmetrics or ?format=prometheus`, head);
    }
    format = negotiated.format;
  } else {
    format = negotiateMetricsFormat(request.accept);
  }
  return metricsNowOrLater(config, subsets, format, head, options);
}

/**
 * The exposition of the subsets' reports, for a subset route and a metrics route
 * alike. While draining nothing runs (the clients are being closed): the latest
 * reports as they are, and a subset that never ran has no series yet.
 */
function metricsNowOrLater(config: HealthConfig, subsets: readonly string[], format: MetricsFormat, head: boolean, options: StaleOptions): HealthAnswer | Promise<HealthAnswer> {
  if (isShuttingDown()) return metricsAnswer(config, latestReports(config, subsets), format, head);
  const reports = subsets.map((subset) => reportNowOrLater(config, subset, options));
  if (!reports.some((report) => report instanceof Promise)) return metricsAnswer(config, reports as HealthReport[], format, head);
  return Promise.all(reports).then((reports) => metricsAnswer(config, reports, format, head));
}

/**
 * A metrics body is a function of the reports (run counts change only with a new
 * report) and of the drain: remembered per config, subset list and format while
 * those stay the same, so a scrape answered from the cache renders nothing.
 */
const renderedMetrics = new WeakMap<HealthConfig, Map<string, { reports: readonly HealthReport[]; draining: boolean; body: string }>>();

function metricsAnswer(config: HealthConfig, reports: readonly HealthReport[], format: MetricsFormat, head: boolean): HealthAnswer {
  const headers = HEALTH_HEADERS[format];
  if (head) return { status: 200, headers, body: null };
  const draining = isShuttingDown();
  let bySubsets = renderedMetrics.get(config);
  if (bySubsets === undefined) renderedMetrics.set(config, (bySubsets = new Map()));
  const key = `${format}:${reports.map((report) => report.subset).join("/")}`;
  const remembered = bySubsets.get(key);
  if (remembered !== undefined && remembered.draining === draining && remembered.reports.every((report, index) => report === reports[index])) {
    return { status: 200, headers, body: remembered.body };
  }
  const body = toMetricsText(config, reports, format);
  bySubsets.set(key, { reports, draining, body });
  return { status: 200, headers, body };
}
