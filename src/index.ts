/**
 * probekit: opinionated health checks for Next.js and every web-standard
 * (Request → Response) server. This entry is edge-safe: it uses no Node built-in.
 *
 * @example
 * import { defineHealthConfig, handleHealthRequest } from "probekit";
 * const config = defineHealthConfig({ subsets: { readiness: [myCheck] } });
 * Bun.serve({ fetch: (request) => handleHealthRequest(request, config) });
 */
export { defineCheck, isCheck } from "./core/check.js";
export type { Check, CheckContext, CheckFactory, CheckResult, SubsetEntry } from "./core/check.js";
export { defineHealthConfig, diagnoseHealthConfig, isHealthConfig } from "./core/config.js";
export type { HealthConfig, HealthConfigInput, HealthLogger, HealthOptions, ResolvedHealthOptions, StatusChangeEvent, Subsets } from "./core/config.js";
export {
  HealthCheckError,
  HealthConfigError,
  ServiceReturnedUnexpectedResult,
  ServiceUnavailable,
  ServiceWarning,
  UnknownSubsetError,
  isHealthCheckError,
} from "./core/errors.js";
export type { HealthCheckErrorKind, HealthConfigIssue } from "./core/errors.js";
export { closeHealthChecks, runHealthChecks } from "./core/runner.js";
export type { CheckReport, HealthReport, HealthStatus, RunCounts, RunOptions } from "./core/runner.js";
export { answerHealthRequest, handleHealthRequest, handleMetricsRequest, NO_STORE } from "./core/handler.js";
export type { HealthAnswer, HealthRequestOptions, HealthRequestParts, MetricsRequestOptions, StaleOptions } from "./core/handler.js";
export { METRIC_NAMES, METRICS_CONTENT_TYPES, toMetricsText } from "./core/metrics.js";
export { startHealthRefresh } from "./core/refresh.js";
export type { HealthRefreshOptions } from "./core/refresh.js";
export { isShuttingDown, setShuttingDown } from "./core/shutdown.js";
export { negotiateFormat } from "./core/negotiate.js";
export type { MetricsFormat, Negotiated, ResponseFormat } from "./core/negotiate.js";
export { toHealthHtml, toHealthJson } from "./core/render.js";
export type { HealthJson, HealthJsonCheck, RenderOptions } from "./core/render.js";
