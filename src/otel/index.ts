/**
 * probekit/otel: health as OpenTelemetry metrics. Observable instruments on a Meter
 * from `@opentelemetry/api` (an optional peer: install it, and the SDK or
 * `@vercel/otel` that exports what it measures). Each collection runs every named
 * subset at most once, through the runner's coalescing and cache.
 *
 * @example
 * // instrumentation.ts, after the SDK is registered
 * import config from "./health.config";
 * import { registerHealthMetrics } from "probekit/otel";
 * registerHealthMetrics(config, { subsets: ["readiness", "integrations"] });
 */
import { metrics, type Attributes, type BatchObservableResult, type Meter, type Observable } from "@opentelemetry/api";
import type { HealthConfig } from "../core/config.js";
import { secondsOf, STATUSES } from "../core/metrics.js";
import { latestReports, runCounts, runHealthChecks, type HealthReport } from "../core/runner.js";
import { isShuttingDown } from "../core/shutdown.js";
import { subsetList } from "../core/util.js";
import { VERSION } from "../core/version.js";

export interface HealthMetricsOptions {
  /** The subsets each collection runs and reports; each must exist in the config. */
  subsets: readonly string[];
  /**
   * The meter to create the instruments on.
   * @default metrics.getMeter("probekit", <version>) of the global MeterProvider
   */
  meter?: Meter;
}

/**
 * Registers observable instruments reporting the named subsets on every collection:
 * `probekit.subset.status` and `probekit.check.status` (gauges, attribute `status`,
 * 1 for the current status and 0 for the others), `probekit.check.duration` (gauge,
 * seconds, the last run) and `probekit.check.runs` (counter, runs since start by
 * status). Returns a function that unregisters them: the collections stop running
 * checks, though the SDK may go on exporting the last values it holds (the API cannot
 * delete a series), until the process or the MeterProvider ends.
 *
 * @example
 * const unregister = registerHealthMetrics(config, { subsets: ["readiness"] });
 * // later, e.g. in a test
 * unregister();
 */
export function registerHealthMetrics(config: HealthConfig, options: HealthMetricsOptions): () => void {
  const subsets = subsetList(config, options?.subsets, "probekit/otel: registerHealthMetrics");
  const meter = options.meter ?? metrics.getMeter("probekit", VERSION);
  const subsetStatus = meter.createObservableGauge("probekit.subset.status", {
    description: "Status of each subset in its latest run: 1 for the status it has, 0 for the others.",
  });
  const checkStatus = meter.createObservableGauge("probekit.check.status", {
    description: "Status of each check in its subset's latest run: 1 for the status it has, 0 for the others.",
  });
  const checkDuration = meter.createObservableGauge("probekit.check.duration", {
    description: "How long each check took in its subset's latest run.",
    unit: "s",
  });
  const checkRuns = meter.createObservableCounter("probekit.check.runs", {
    description: "Runs of each check since the process started, by status.",
    unit: "{run}",
  });
  const instruments: Observable[] = [subsetStatus, checkStatus, checkDuration, checkRuns];

  const collect = async (result: BatchObservableResult) => {
    // While draining nothing runs (the clients are being closed): the latest reports as they are.
    const reports: HealthReport[] = isShuttingDown()
      ? latestReports(config, subsets)
      : await Promise.all(subsets.map((subset) => runHealthChecks(config, subset)));
    for (const report of reports) {
      for (const status of STATUSES) result.observe(subsetStatus, report.status === status ? 1 : 0, { subset: report.subset, status });
      const counts = runCounts(config, report.subset);
      for (const check of report.checks) {
        const attributes: Attributes = { subset: report.subset, check: check.name };
        result.observe(checkDuration, secondsOf(check.durationMs), attributes);
        const runs = counts.get(check.name);
        for (const status of STATUSES) {
          result.observe(checkStatus, check.status === status ? 1 : 0, { ...attributes, critical: check.critical, status });
          result.observe(checkRuns, runs?.[status] ?? 0, { ...attributes, status });
        }
      }
    }
  };
  meter.addBatchObservableCallback(collect, instruments);
  let registered = true;
  return () => {
    if (!registered) return;
    registered = false;
    meter.removeBatchObservableCallback(collect, instruments);
  };
}
