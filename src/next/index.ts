/**
 * probekit/next: route handlers for the Next.js App Router. Imports nothing from
 * `next`; the handlers are plain `(Request, context) => Response` functions.
 *
 * @example
 * // app/healthcheck/[subset]/route.ts
 * import config from "@/health.config";
 * import { createHealthRoute } from "probekit/next";
 * export const { GET, HEAD } = createHealthRoute(config);
 */
import { defineHealthConfig, isHealthConfig, type HealthConfig, type HealthOptions, type Subsets } from "../core/config.js";
import { checkStaleOptions, handleHealthRequest, metricsResponse, type MetricsRequestOptions, type StaleOptions } from "../core/handler.js";
import { subsetList } from "../core/util.js";

export interface HealthRouteOptions extends StaleOptions {
  /** Serve this subset from a fixed route (`app/healthcheck/readiness/route.ts`) instead of the `[subset]` param. */
  subset?: string;
}

/** The second argument Next passes to route handlers (`params` is a Promise since Next 15). */
export interface HealthRouteContext {
  params?: Promise<Record<string, string | string[] | undefined>> | Record<string, string | string[] | undefined>;
}

export interface HealthRouteHandler {
  (request: Request, context?: HealthRouteContext): Promise<Response>;
  // Last, so Next 15's generated route check (which infers the last signature's second argument
  // and requires it assignable to `{ params: Promise<…> }`) accepts the handler.
  (request: Request, context: { params: Promise<Record<string, string | string[] | undefined>> }): Promise<Response>;
}

/**
 * Creates the `GET` and `HEAD` handlers of a health route.
 *
 * Takes the config from `defineHealthConfig`, or the subsets themselves with the
 * config options beside `subset`. The handlers always read the request, so Next
 * never prerenders them, also with `cacheComponents: true`.
 *
 * @example
 * // app/healthcheck/readiness/route.ts: one fixed subset
 * export const { GET, HEAD } = createHealthRoute(config, { subset: "readiness" });
 * @example
 * export const { GET, HEAD } = createHealthRoute({ readiness: [dbCheck] }, { timeoutMs: 2000 });
 */
export function createHealthRoute(config: HealthConfig, options?: HealthRouteOptions): { GET: HealthRouteHandler; HEAD: HealthRouteHandler };
export function createHealthRoute(subsets: Subsets, options?: HealthRouteOptions & HealthOptions): { GET: HealthRouteHandler; HEAD: HealthRouteHandler };
export function createHealthRoute(
  configOrSubsets: HealthConfig | Subsets,
  options: HealthRouteOptions & HealthOptions = {},
): { GET: HealthRouteHandler; HEAD: HealthRouteHandler } {
  const { subset: fixedSubset, after, staleMs, ...healthOptions } = options;
  checkStaleOptions({ after, staleMs }, "probekit/next");
  const stale: StaleOptions = { after, staleMs };
  const config = isHealthConfig(configOrSubsets) ? configOrSubsets : defineHealthConfig({ ...healthOptions, subsets: configOrSubsets });
  // A typo in a fixed route would otherwise be a silent 404 forever: say so when the module is evaluated.
  if (fixedSubset !== undefined && !Object.hasOwn(config.subsets, fixedSubset)) {
    throw new TypeError(`probekit/next: unknown subset ${JSON.stringify(fixedSubset)}; known subsets: ${Object.keys(config.subsets).join(", ")}`);
  }
  const handler: HealthRouteHandler = async (request, context) => {
    const subset = fixedSubset ?? subsetParam(await context?.params);
    // An absent or non-string param falls back to the last path segment.
    return handleHealthRequest(request, config, subset === undefined ? stale : { ...stale, subset });
  };
  return { GET: handler, HEAD: handler };
}

/** What `createMetricsRoute` takes: the core's metrics options. */
export type MetricsRouteOptions = MetricsRequestOptions;

/**
 * Creates the `GET` and `HEAD` handlers of a metrics route serving several subsets
 * in one scrape (OpenMetrics for Prometheus, the 0.0.4 text for everyone else),
 * always 200. An unknown subset name throws when the route module is evaluated.
 *
 * @example
 * // app/metrics/route.ts
 * import config from "@/health.config";
 * import { createMetricsRoute } from "probekit/next";
 * export const { GET, HEAD } = createMetricsRoute(config, { subsets: ["readiness", "integrations"] });
 */
export function createMetricsRoute(config: HealthConfig, options: MetricsRouteOptions): { GET: HealthRouteHandler; HEAD: HealthRouteHandler } {
  const subsets = subsetList(config, options?.subsets, "probekit/next: createMetricsRoute");
  checkStaleOptions(options, "probekit/next: createMetricsRoute");
  const stale: StaleOptions = { after: options.after, staleMs: options.staleMs };
  const handler: HealthRouteHandler = (request) => metricsResponse(request, config, subsets, stale);
  return { GET: handler, HEAD: handler };
}

function subsetParam(params: Record<string, string | string[] | undefined> | undefined): string | undefined {
  const value = params && Object.hasOwn(params, "subset") ? params.subset : undefined;
  // Next (15+) hands params over already percent-decoded: decoding again would turn `%2573` into `s`.
  return typeof value === "string" ? value : undefined;
}
