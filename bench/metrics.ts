/**
 * Health as metrics, timed in this process:
 *
 * 9. A scrape of three subsets of ten no-op checks answered from the cache
 *    (answerMetricsNowOrLater with Prometheus's own Accept, and handleMetricsRequest
 *    on the Fetch path) vs prom-client's Registry.metrics() rendering the same series,
 *    in OpenMetrics and in the 0.0.4 text format; toMetricsText uncached against the
 *    same; and what a scrape and an onStatusChange listener add to a run of ten no-op
 *    checks with cacheTtlMs: 0.
 *
 * Each contender runs for a fixed time per round, the order rotated each round;
 * figures are medians over rounds, ratios the medians of per-round ratios.
 */
import { createRequire } from "node:module";
import { Counter, Gauge, Registry, type RegistryContentType } from "prom-client";
import type { HealthReport, MetricsFormat } from "../src/index.ts";
import { importDist, type Core } from "./dist.ts";
import { median, pairedRatio, progress, round, VERDICT_COLUMNS, type BenchSettings, type Row, type SectionResult } from "./lib.ts";

/** answerMetricsNowOrLater is not on a public entry: taken from src/ (see metricsSection). */
type Handler = typeof import("../src/core/handler.ts");
type Version = typeof import("../src/core/version.ts");

/** The Accept header Prometheus 2.42 sends on every scrape, verbatim. */
const PROMETHEUS_SCRAPE_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/** What a scraper limited to the 0.0.4 text format asks for. */
const TEXT_0_0_4_ACCEPT = "text/plain;version=0.0.4";

const SUBSETS = ["a", "b", "c"] as const;
const CHECKS_PER_SUBSET = 10;
/** Longer than the section runs, so every timed scrape is answered from the cache. */
const SCRAPE_CACHE_TTL_MS = 600_000;
/** Operations between two reads of the clock. */
const CHUNK = 64;

/** One timed operation: returns something of the result (its length), sunk so nothing is optimized away. */
type Contender = { name: string; sync: () => number } | { name: string; async: () => Promise<number> };

let sink = 0;

/** Runs the contender for at least `ms` and gives its cost in µs per operation. */
async function timeBatch(contender: Contender, ms: number): Promise<number> {
  let ops = 0;
  let elapsed = 0;
  const started = performance.now();
  do {
    if ("sync" in contender) for (let index = 0; index < CHUNK; index++) sink += contender.sync();
    else for (let index = 0; index < CHUNK; index++) sink += await contender.async();
    ops += CHUNK;
    elapsed = performance.now() - started;
  } while (elapsed < ms);
  return (elapsed * 1000) / ops;
}

/**
 * µs per operation of every contender, round after round, the order rotated each
 * round; one batch each beforehand warms the JIT up and is dropped.
 */
async function alternateInProcess(contenders: readonly Contender[], rounds: number, batchMs: number): Promise<Map<string, number[]>> {
  const usPerOp = new Map(contenders.map((contender) => [contender.name, [] as number[]]));
  for (const contender of contenders) await timeBatch(contender, batchMs);
  for (let roundIndex = 0; roundIndex < rounds; roundIndex++) {
    for (let offset = 0; offset < contenders.length; offset++) {
      const contender = contenders[(roundIndex + offset) % contenders.length]!;
      usPerOp.get(contender.name)!.push(await timeBatch(contender, batchMs));
    }
    progress(`metrics: round ${roundIndex + 1}/${rounds}`);
  }
  return usPerOp;
}

function noopChecks(core: Core, count: number) {
  return Array.from({ length: count }, (_, index) => core.defineCheck({ name: `check-${index + 1}`, check: () => {} }));
}

// ---------------------------------------------------------------- prom-client, the same series

/** `# HELP` text by sample family name, from probekit's 0.0.4 exposition (whose names are prom-client's). */
function helpTexts(text: string): Map<string, string> {
  const help = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^# HELP (\S+) (.*)$/.exec(line);
    if (match !== null) help.set(match[1]!, match[2]!);
  }
  return help;
}

/**
 * A fresh prom-client Registry holding the series probekit exposes for these
 * reports, set once as an app would after each run: the same family names, label
 * names in the same order, and values (each check has run once, in the warm-up).
 * A Registry per format: in OpenMetrics, metrics() renames its counters for good.
 */
function promClientRegistry(contentType: RegistryContentType, reports: readonly HealthReport[], help: Map<string, string>, version: string): Registry<RegistryContentType> {
  // The constructor takes the content type too, but its typings declare no argument.
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(contentType);
  const registers = [registry];
  const helpOf = (name: string) => help.get(name) ?? name;
  const gauge = (name: string, labelNames: string[]) => new Gauge({ name, help: helpOf(name), labelNames, registers });
  const statuses = ["pass", "warn", "fail"] as const;
  // As probekit writes seconds: milliseconds kept to 0.01 ms, without float noise.
  const seconds = (ms: number) => Math.round(ms * 100) / 100_000;

  gauge("probekit_build_info", ["version"]).set({ version }, 1);
  const subsetStatus = gauge("probekit_subset_status", ["subset", "status"]);
  const subsetDuration = gauge("probekit_subset_duration_seconds", ["subset"]);
  const subsetTime = gauge("probekit_subset_last_run_timestamp_seconds", ["subset"]);
  const checkStatus = gauge("probekit_check_status", ["subset", "check", "critical", "status"]);
  const checkDuration = gauge("probekit_check_duration_seconds", ["subset", "check"]);
  const checkTimeout = gauge("probekit_check_timeout_seconds", ["subset", "check"]);
  const runs = new Counter({ name: "probekit_check_runs_total", help: helpOf("probekit_check_runs_total"), labelNames: ["subset", "check", "status"], registers });
  const shuttingDown = gauge("probekit_shutting_down", []);

  for (const report of reports) {
    const { subset } = report;
    for (const status of statuses) subsetStatus.set({ subset, status }, report.status === status ? 1 : 0);
    subsetDuration.set({ subset }, seconds(report.durationMs));
    subsetTime.set({ subset }, Date.parse(report.time) / 1000);
    for (const check of report.checks) {
      for (const status of statuses) {
        checkStatus.set({ subset, check: check.name, critical: String(check.critical), status }, check.status === status ? 1 : 0);
      }
      checkDuration.set({ subset, check: check.name }, seconds(check.durationMs));
      checkTimeout.set({ subset, check: check.name }, seconds(check.timeoutMs));
      for (const status of statuses) runs.inc({ subset, check: check.name, status }, check.status === status ? 1 : 0);
    }
  }
  shuttingDown.set(0);
  return registry;
}

/** The sample lines of an exposition (`name{labels} value`), sorted: HELP, TYPE, UNIT and order left out. */
function sampleLines(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .sort();
}

/** Throws unless both expositions carry the same samples, each once; gives their number. */
function sameSeries(format: MetricsFormat, probekit: string, promClient: string): number {
  const ours = sampleLines(probekit);
  const theirs = sampleLines(promClient);
  const theirSet = new Set(theirs);
  const ourSet = new Set(ours);
  const missing = ours.filter((line) => !theirSet.has(line));
  const extra = theirs.filter((line) => !ourSet.has(line));
  if (missing.length > 0 || extra.length > 0 || ours.length !== theirs.length || ourSet.size !== ours.length) {
    throw new Error(
      `metrics: prom-client's ${format} exposition is not probekit's series (${ours.length} vs ${theirs.length} samples); ` +
        `missing: ${JSON.stringify(missing.slice(0, 5))}, extra: ${JSON.stringify(extra.slice(0, 5))}`,
    );
  }
  return ours.length;
}

// ---------------------------------------------------------------- 9. metrics

export async function metricsSection(settings: BenchSettings): Promise<SectionResult> {
  const core = await importDist<Core>("index.js");
  // Not public entries, so not files of dist/ (it has one file per entry): taken from src/.
  // The runner's state lives on globalThis, so this copy reads the reports dist's runs made.
  const { answerMetricsNowOrLater } = (await import("../src/core/handler.ts")) as Handler;
  const { VERSION } = (await import("../src/core/version.ts")) as Version;
  const batchMs = settings.quick ? 150 : 400;

  // The scrape: three subsets, warmed with one run each, served from the cache from then on.
  const scrapeConfig = core.defineHealthConfig({
    subsets: Object.fromEntries(SUBSETS.map((subset) => [subset, noopChecks(core, CHECKS_PER_SUBSET)])),
    cacheTtlMs: SCRAPE_CACHE_TTL_MS,
    logger: false,
  });
  const reports = await Promise.all(SUBSETS.map((subset) => core.runHealthChecks(scrapeConfig, subset)));

  const cachedAnswer = (accept: string, contentType: string) => {
    const answer = answerMetricsNowOrLater({ method: "GET", format: null, accept }, scrapeConfig, SUBSETS);
    if (answer instanceof Promise) throw new Error("metrics: answerMetricsNowOrLater returned a promise: the reports are not cached");
    if (answer.status !== 200 || answer.body === null || answer.headers["Content-Type"] !== contentType) {
      throw new Error(`metrics: unexpected answer ${answer.status} ${answer.headers["Content-Type"]}`);
    }
    return answer.body;
  };
  const openMetricsText = cachedAnswer(PROMETHEUS_SCRAPE_ACCEPT, Registry.OPENMETRICS_CONTENT_TYPE);
  const prometheusText = cachedAnswer(TEXT_0_0_4_ACCEPT, Registry.PROMETHEUS_CONTENT_TYPE);
  if (core.toMetricsText(scrapeConfig, reports, "openmetrics") !== openMetricsText) throw new Error("metrics: the cached body is not toMetricsText's");

  const help = helpTexts(prometheusText);
  const promOpenMetrics = promClientRegistry(Registry.OPENMETRICS_CONTENT_TYPE, reports, help, VERSION);
  const promText = promClientRegistry(Registry.PROMETHEUS_CONTENT_TYPE, reports, help, VERSION);
  const promOpenMetricsText = await promOpenMetrics.metrics();
  const promTextText = await promText.metrics();
  const series = sameSeries("openmetrics", openMetricsText, promOpenMetricsText);
  sameSeries("prometheus", prometheusText, promTextText);
  progress(`metrics: ${series} series, the same samples in probekit's and prom-client's expositions`);

  const request = new Request("http://bench.local/metrics", { headers: { accept: PROMETHEUS_SCRAPE_ACCEPT } });
  const fetchOptions = { subsets: SUBSETS };
  const fetched = await core.handleMetricsRequest(request, scrapeConfig, fetchOptions);
  if (fetched.headers.get("content-type") !== Registry.OPENMETRICS_CONTENT_TYPE || (await fetched.text()) !== openMetricsText) {
    throw new Error("metrics: handleMetricsRequest did not answer the cached OpenMetrics body");
  }

  // The run: ten no-op checks with no cache, without and with a status listener.
  const runConfig = core.defineHealthConfig({ subsets: { a: noopChecks(core, CHECKS_PER_SUBSET) }, cacheTtlMs: 0, logger: false });
  const listenedConfig = core.defineHealthConfig({ subsets: { a: noopChecks(core, CHECKS_PER_SUBSET) }, cacheTtlMs: 0, logger: false, onStatusChange: () => {} });
  for (const config of [runConfig, listenedConfig]) {
    const report = await core.runHealthChecks(config, "a");
    if (report.status !== "pass" || report.checks.length !== CHECKS_PER_SUBSET) throw new Error(`metrics: the run did not pass: ${JSON.stringify(report)}`);
  }

  const NAMES = {
    cachedOpenMetrics: "probekit answerMetricsNowOrLater, cached, OpenMetrics",
    cachedFetch: "probekit handleMetricsRequest, cached, OpenMetrics (Request in, Response out)",
    promOpenMetrics: "prom-client Registry.metrics(), OpenMetrics",
    cachedText: "probekit answerMetricsNowOrLater, cached, 0.0.4",
    promText: "prom-client Registry.metrics(), 0.0.4 (its default)",
    renderOpenMetrics: "probekit toMetricsText, uncached, OpenMetrics",
    renderText: "probekit toMetricsText, uncached, 0.0.4",
    run: "runHealthChecks, 10 no-op checks, cacheTtlMs: 0",
    runAndRender: "runHealthChecks + toMetricsText of its report",
    runListened: "runHealthChecks with a no-op onStatusChange",
  } as const;
  const contenders: Contender[] = [
    { name: NAMES.cachedOpenMetrics, sync: () => cachedAnswer(PROMETHEUS_SCRAPE_ACCEPT, Registry.OPENMETRICS_CONTENT_TYPE).length },
    { name: NAMES.cachedFetch, async: async () => (await core.handleMetricsRequest(request, scrapeConfig, fetchOptions)).status },
    { name: NAMES.promOpenMetrics, async: async () => (await promOpenMetrics.metrics()).length },
    { name: NAMES.cachedText, sync: () => cachedAnswer(TEXT_0_0_4_ACCEPT, Registry.PROMETHEUS_CONTENT_TYPE).length },
    { name: NAMES.promText, async: async () => (await promText.metrics()).length },
    { name: NAMES.renderOpenMetrics, sync: () => core.toMetricsText(scrapeConfig, reports, "openmetrics").length },
    { name: NAMES.renderText, sync: () => core.toMetricsText(scrapeConfig, reports, "prometheus").length },
    { name: NAMES.run, async: async () => (await core.runHealthChecks(runConfig, "a")).checks.length },
    {
      name: NAMES.runAndRender,
      async: async () => core.toMetricsText(runConfig, [await core.runHealthChecks(runConfig, "a")], "openmetrics").length,
    },
    { name: NAMES.runListened, async: async () => (await core.runHealthChecks(listenedConfig, "a")).checks.length },
  ];
  const usPerOp = await alternateInProcess(contenders, settings.samples, batchMs);
  if (!Number.isFinite(sink)) throw new Error("metrics: the sink overflowed");

  const us = (name: string) => usPerOp.get(name)!;
  const opsPerSec = (name: string) => us(name).map((value) => 1e6 / value);
  const figures = (name: string) => ({ contender: name, opsPerSec: round(median(opsPerSec(name))), usPerOp: round(median(us(name)), 3) });
  /** A probekit row against prom-client's in the same format: ops/s ÷ ops/s, ≥ 1 when probekit is faster. */
  const versusPromClient = (name: string, reference: string, target: boolean): Row => {
    const ratio = pairedRatio(opsPerSec(name), opsPerSec(reference));
    return {
      ...figures(name),
      ratio: round(ratio, 3),
      versus: `ops/s ÷ ${reference.replace("Registry.metrics(), ", "")}`,
      target: target ? "≥ 1.00×" : "report only",
      met: target ? ratio >= 1 : null,
    };
  };
  /** A run with something more against the run alone: µs ÷ µs, what the extra costs. */
  const versusRun = (name: string): Row => ({
    ...figures(name),
    ratio: round(pairedRatio(us(name), us(NAMES.run)), 3),
    versus: "µs ÷ the run alone",
    target: "report only",
    met: null,
  });
  const reference = (name: string): Row => ({ ...figures(name), ratio: null, versus: "reference", target: null, met: null });
  /** Median over rounds of the µs an extra adds to the run. */
  const addedUs = (name: string) => round(median(us(name).map((value, index) => value - us(NAMES.run)[index]!)), 2);

  const rows: Row[] = [
    versusPromClient(NAMES.cachedOpenMetrics, NAMES.promOpenMetrics, true),
    versusPromClient(NAMES.cachedFetch, NAMES.promOpenMetrics, true),
    reference(NAMES.promOpenMetrics),
    versusPromClient(NAMES.cachedText, NAMES.promText, true),
    reference(NAMES.promText),
    versusPromClient(NAMES.renderOpenMetrics, NAMES.promOpenMetrics, false),
    versusPromClient(NAMES.renderText, NAMES.promText, false),
    reference(NAMES.run),
    versusRun(NAMES.runAndRender),
    versusRun(NAMES.runListened),
  ];
  const renderAddsUs = addedUs(NAMES.runAndRender);
  const listenerAddsUs = addedUs(NAMES.runListened);
  const bytes = (text: string) => new TextEncoder().encode(text).length;
  return {
    id: "metrics",
    title: `9. Metrics: a scrape of ${SUBSETS.length} subsets × ${CHECKS_PER_SUBSET} no-op checks (${series} series) vs prom-client ${promClientVersion()}, and what a scrape adds to a run (${settings.samples} alternating rounds of ${batchMs} ms per contender, medians)`,
    columns: [
      { key: "contender", label: "contender" },
      { key: "opsPerSec", label: "ops/s" },
      { key: "usPerOp", label: "µs/op", digits: 2 },
      { key: "ratio", label: "ratio", digits: 2 },
      { key: "versus", label: "ratio of" },
      ...VERDICT_COLUMNS,
    ],
    rows,
    notes: [
      `Cached: answerMetricsNowOrLater with Prometheus 2.42's Accept (OpenMetrics) or \`${TEXT_0_0_4_ACCEPT}\`, answered`,
      "synchronously (checked on every call) with the body remembered since the first scrape; handleMetricsRequest",
      "is the same scrape from a Request (one, reused) to a Response (its body not read). prom-client renders its",
      `registry on every call: its rows are also its uncached cost. The series match sample for sample (${series}, HELP`,
      "text and order aside; prom-client has no info type and writes no UNIT lines).",
      `Bodies: probekit ${bytes(openMetricsText)} B / ${bytes(prometheusText)} B, prom-client ${bytes(promOpenMetricsText)} B / ${bytes(promTextText)} B (OpenMetrics / 0.0.4).`,
      `A scrape's render adds ${renderAddsUs} µs to a run of ${CHECKS_PER_SUBSET} no-op checks; a no-op onStatusChange listener adds ${listenerAddsUs} µs.`,
    ],
    details: {
      batchMs,
      series,
      bodyBytes: {
        probekitOpenMetrics: bytes(openMetricsText),
        probekitPrometheus: bytes(prometheusText),
        promClientOpenMetrics: bytes(promOpenMetricsText),
        promClientPrometheus: bytes(promTextText),
      },
      renderAddsUs,
      listenerAddsUs,
      usPerOp: Object.fromEntries(usPerOp),
    },
  };
}

function promClientVersion(): string {
  return (createRequire(import.meta.url)("prom-client/package.json") as { version: string }).version;
}
