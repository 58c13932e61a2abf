/**
 * Health as metrics: reports rendered as OpenMetrics 1.0.0 or the Prometheus text
 * format 0.0.4, for a scraper. The families and their labels are a contract; no label
 * or value carries a check's output or an error (cardinality, and leaks).
 *
 * Written here rather than through prom-client: these are a handful of gauges and
 * one counter derived from reports the runner already keeps, rendered on web
 * standards alone (prom-client needs Node), and the exposition is checked by
 * promtool in the tests.
 */
import type { HealthConfig } from "./config.js";
import type { MetricsFormat } from "./negotiate.js";
import { runCounts, type HealthReport, type HealthStatus } from "./runner.js";
import { isShuttingDown } from "./shutdown.js";
import { VERSION } from "./version.js";

/** The Content-Type of each exposition. */
export const METRICS_CONTENT_TYPES: Readonly<Record<MetricsFormat, string>> = {
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
};

/** Every status, in the order each family lists its series. */
export const STATUSES: readonly HealthStatus[] = ["pass", "warn", "fail"];

interface Family {
  /** The family's name; a counter's samples add `_total`. */
  name: string;
  type: "gauge" | "counter" | "info";
  unit?: "seconds";
  help: string;
  samples(out: string[], reports: readonly HealthReport[], config: HealthConfig): void;
}

const FAMILIES: readonly Family[] = [
  {
    name: "probekit_build",
    type: "info",
    help: "probekit's version.",
    samples: (out) => void out.push(`probekit_build_info{version="${VERSION}"} 1`),
  },
  {
    name: "probekit_subset_status",
    type: "gauge",
    help: "Status of each subset in its latest run: 1 for the status it has, 0 for the others.",
    samples(out, reports) {
      for (const report of reports) statusSeries(out, "probekit_subset_status", `subset="${labelValue(report.subset)}"`, report.status);
    },
  },
  {
    name: "probekit_subset_duration_seconds",
    type: "gauge",
    unit: "seconds",
    help: "How long the subset's latest run took.",
    samples(out, reports) {
      for (const report of reports) out.push(`probekit_subset_duration_seconds{subset="${labelValue(report.subset)}"} ${seconds(report.durationMs)}`);
    },
  },
  {
    name: "probekit_subset_last_run_timestamp_seconds",
    type: "gauge",
    unit: "seconds",
    help: "When the subset's latest run started, in seconds since the Unix epoch.",
    samples(out, reports) {
      for (const report of reports) out.push(`probekit_subset_last_run_timestamp_seconds{subset="${labelValue(report.subset)}"} ${Date.parse(report.time) / 1000}`);
    },
  },
  {
    name: "probekit_check_status",
    type: "gauge",
    help: "Status of each check in its subset's latest run: 1 for the status it has, 0 for the others.",
    samples(out, reports) {
      forEachCheck(reports, (labels, check) => statusSeries(out, "probekit_check_status", `${labels},critical="${check.critical}"`, check.status));
    },
  },
  {
    name: "probekit_check_duration_seconds",
    type: "gauge",
    unit: "seconds",
    help: "How long each check took in its subset's latest run.",
    samples(out, reports) {
      forEachCheck(reports, (labels, check) => out.push(`probekit_check_duration_seconds{${labels}} ${seconds(check.durationMs)}`));
    },
  },
  {
    name: "probekit_check_timeout_seconds",
    type: "gauge",
    unit: "seconds",
    help: "The timeout each check runs under.",
    samples(out, reports) {
      forEachCheck(reports, (labels, check) => out.push(`probekit_check_timeout_seconds{${labels}} ${seconds(check.timeoutMs)}`));
    },
  },
  {
    name: "probekit_check_runs",
    type: "counter",
    help: "Runs of each check since the process started, by status (answers served from the cache count nothing).",
    samples(out, reports, config) {
      for (const report of reports) {
        const subset = labelValue(report.subset);
        const counts = runCounts(config, report.subset);
        for (const check of report.checks) {
          const labels = `subset="${subset}",check="${labelValue(check.name)}"`;
          const runs = counts.get(check.name);
          for (const status of STATUSES) out.push(`probekit_check_runs_total{${labels},status="${status}"} ${runs?.[status] ?? 0}`);
        }
      }
    },
  },
  {
    name: "probekit_shutting_down",
    type: "gauge",
    help: "1 while the shutdown drain runs (readiness answers 503), else 0.",
    samples: (out) => void out.push(`probekit_shutting_down ${isShuttingDown() ? 1 : 0}`),
  },
];

/** The metric family names probekit writes, as a Prometheus query spells them (counters with `_total`). */
export const METRIC_NAMES: readonly string[] = FAMILIES.map((family) =>
  family.type === "counter" ? `${family.name}_total` : family.type === "info" ? `${family.name}_info` : family.name,
);

/**
 * The exposition of one or more subsets' reports. Families are grouped across
 * subsets (each family once, as both formats require).
 *
 * @example
 * const text = toMetricsText(config, [await runHealthChecks(config, "readiness")], "openmetrics");
 */
export function toMetricsText(config: HealthConfig, reports: readonly HealthReport[], format: MetricsFormat): string {
  const out: string[] = [];
  for (const family of FAMILIES) {
    // OpenMetrics names a family without its sample suffixes; the 0.0.4 format names the samples.
    const name = format === "openmetrics" ? family.name : METRIC_NAMES[FAMILIES.indexOf(family)]!;
    const type = format === "openmetrics" ? family.type : family.type === "info" ? "gauge" : family.type;
    out.push(`# TYPE ${name} ${type}`);
    if (family.unit !== undefined && format === "openmetrics") out.push(`# UNIT ${name} ${family.unit}`);
    out.push(`# HELP ${name} ${family.help}`);
    family.samples(out, reports, config);
  }
  if (format === "openmetrics") out.push("# EOF");
  return `${out.join("\n")}\n`;
}

/** One series per status: 1 for the current one, 0 for the others. */
function statusSeries(out: string[], name: string, labels: string, current: HealthStatus): void {
  for (const status of STATUSES) out.push(`${name}{${labels},status="${status}"} ${current === status ? 1 : 0}`);
}

function forEachCheck(reports: readonly HealthReport[], each: (labels: string, check: HealthReport["checks"][number]) => void): void {
  for (const report of reports) {
    const subset = labelValue(report.subset);
    for (const check of report.checks) each(`subset="${subset}",check="${labelValue(check.name)}"`, check);
  }
}

/** A label value as both formats escape it: backslash, double quote and line feed. */
export function labelValue(text: string): string {
  return /[\\"\n]/.test(text) ? text.replace(/[\\"\n]/g, (char) => (char === "\n" ? "\\n" : `\\${char}`)) : text;
}

/** Milliseconds (kept to 0.01 ms by the runner) as seconds, without float noise like 0.00007000000000000001. */
export function secondsOf(ms: number): number {
  return Math.round(ms * 100) / 100_000;
}

function seconds(ms: number): string {
  return String(secondsOf(ms));
}
