/**
 * A real Prometheus 2.x scrapes probekit over HTTP while a real PostgreSQL goes
 * down and comes back. Two jobs: `metrics` (the /metrics route of readiness and
 * integrations, negotiated by Prometheus's own Accept header to OpenMetrics) and
 * `subset` (the readiness route with ?format=prometheus, the 0.0.4 text). Every
 * claim is read back through Prometheus's HTTP API: both expositions parse, the
 * scrape stays up through the outage, the status gauges follow PostgreSQL, the
 * run counters never reset, and no label carries an error, an address or a secret.
 *
 * The tests run in order and share one timeline: healthy, outage, recovery, then
 * questions about the whole range.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { closeHealthChecks, defineHealthConfig, type HealthConfig } from "../../src/index.ts";
import { createNodeHandler } from "../../src/node/index.ts";
import { postgresHeartbeat } from "../../src/checks/postgres.ts";
import { passing } from "../helpers/checks.ts";
import { PASSWORD, startPostgres, type PostgresServer } from "../helpers/postgres.ts";
import { startPrometheus, type PrometheusServer, type Sample } from "../helpers/prometheus.ts";

/** Prometheus 2.x's scrape Accept header (scrape/scrape.go, acceptHeader), verbatim. */
const PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT_004 = "text/plain; version=0.0.4; charset=utf-8";
const SUBSET_URL = "/healthcheck/readiness?format=prometheus";
/** A status change shows after the next scrape (1 s) plus a query: 20 s is slack for a loaded 2-core machine. */
const CHANGE_TIMEOUT_MS = 20_000;

/** `job/subset` of every series carrying the postgres check: the metrics job has both subsets, the subset job readiness. */
const POSTGRES_SERIES = ["metrics/integrations", "metrics/readiness", "subset/readiness"];

interface Scrape {
  /** When the answer ended (ms since the epoch). */
  at: number;
  /** False when Prometheus hung up first (a scrape timeout). */
  finished: boolean;
  url: string;
  accept: string | undefined;
  userAgent: string | undefined;
  status: number;
  contentType: string | undefined;
}

let postgres: PostgresServer | undefined;
let config: HealthConfig | undefined;
let web: Server | undefined;
let webPort: number;
let prometheus: PrometheusServer | undefined;
const scrapes: Scrape[] = [];
/** Set once Prometheus has scraped both jobs: without that every later test would only wait out its timeouts. */
let scraping = false;

before(async () => {
  postgres = await startPostgres();
  const url = await postgres.createDatabase("scrape");
  config = defineHealthConfig({
    subsets: {
      readiness: [postgresHeartbeat({ url, timeoutMs: 1000 })],
      integrations: [postgresHeartbeat({ url, timeoutMs: 1000 }), passing("always-passes", { critical: false })],
    },
    cacheTtlMs: 0,
    logger: false,
  });
  const handler = createNodeHandler(config, { metricsPath: "/metrics", metricsSubsets: ["readiness", "integrations"] });
  web = createServer((request, response) => {
    // writeHead(status, headers) keeps no copy of the headers unless one was set before
    // (https://nodejs.org/api/http.html#responsewriteheadstatuscode-statusmessage-headers):
    // this one makes getHeader("content-type") see what was sent.
    response.setHeader("X-Test-Recorder", "1");
    response.once("close", () =>
      scrapes.push({
        at: Date.now(),
        finished: response.writableFinished,
        url: request.url ?? "",
        accept: request.headers.accept,
        userAgent: request.headers["user-agent"],
        status: response.statusCode,
        contentType: response.getHeader("content-type") as string | undefined,
      }),
    );
    handler(request, response);
  });
  await new Promise<void>((resolve) => web!.listen(0, "127.0.0.1", resolve));
  webPort = (web.address() as AddressInfo).port;
  const target = `127.0.0.1:${webPort}`;
  prometheus = await startPrometheus([
    { name: "metrics", target, metricsPath: "/metrics" },
    { name: "subset", target, metricsPath: "/healthcheck/readiness", params: { format: ["prometheus"] } },
  ]);
});

after(async () => {
  await prometheus?.stop();
  if (web !== undefined) {
    web.closeAllConnections();
    await new Promise((resolve) => web!.close(resolve));
  }
  if (config !== undefined) await closeHealthChecks(config);
  await postgres?.destroy();
});

/** `job/subset` → status → value, for a query of a probekit_*_status family. */
function statusTable(samples: Sample[]): Record<string, Record<string, number>> {
  const table: Record<string, Record<string, number>> = {};
  for (const { metric, value } of samples) (table[`${metric.job}/${metric.subset}`] ??= {})[metric.status!] = value;
  return table;
}

/** The table where each of `series` has `status` at 1 and the other two at 0. */
function allAt(series: readonly string[], status: "pass" | "fail"): Record<string, Record<string, number>> {
  return Object.fromEntries(series.map((key) => [key, { pass: status === "pass" ? 1 : 0, warn: 0, fail: status === "fail" ? 1 : 0 }]));
}

const waitForStatus = (promql: string, series: readonly string[], status: "pass" | "fail") =>
  prometheus!.waitFor(promql, (samples) => isDeepStrictEqual(statusTable(samples), allAt(series, status)), CHANGE_TIMEOUT_MS);

/** A range covering everything Prometheus has scraped, for `[<n>s]` selectors. */
const wholeRun = () => `${Math.ceil((Date.now() - prometheus!.startedAt) / 1000) + 1}s`;

/** Waits until each job has been scraped `count` more times after `since` (ms since the epoch), then returns the targets. */
async function targetsScrapedAfter(since: number, count: number) {
  const deadline = Date.now() + CHANGE_TIMEOUT_MS;
  const after = (url: string) => scrapes.filter((scrape) => scrape.url === url && scrape.at > since).length;
  while (after("/metrics") < count || after(SUBSET_URL) < count) {
    if (Date.now() > deadline) assert.fail(`fewer than ${count} scrapes of each job after ${new Date(since).toISOString()}: ${JSON.stringify(scrapes)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Prometheus stores a scrape's outcome just after our answer ends: wait until its targets show one taken after `since`.
  for (;;) {
    const targets = await prometheus!.targets();
    if (targets.length === 2 && targets.every((target) => Date.parse(target.lastScrape) > since)) return targets;
    if (Date.now() > deadline) assert.fail(`the targets show no scrape after ${new Date(since).toISOString()}: ${JSON.stringify(targets)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("a real Prometheus scraping probekit through a PostgreSQL outage", () => {
  it("scrapes /metrics as OpenMetrics (chosen by Prometheus's own Accept header) and the subset route as the 0.0.4 text", async () => {
    await prometheus!.waitFor("up", (samples) => isDeepStrictEqual(Object.fromEntries(samples.map((s) => [s.metric.job, s.value])), { metrics: 1, subset: 1 }));
    scraping = true;

    const metricsScrapes = scrapes.filter((scrape) => scrape.url === "/metrics");
    const subsetScrapes = scrapes.filter((scrape) => scrape.url === SUBSET_URL);
    assert.ok(metricsScrapes.length > 0 && subsetScrapes.length > 0, `scrapes seen: ${JSON.stringify(scrapes)}`);
    assert.deepEqual(new Set(scrapes.map((scrape) => scrape.url)), new Set(["/metrics", SUBSET_URL]), "Prometheus asks for nothing else");
    for (const scrape of scrapes) assert.match(scrape.userAgent ?? "", /^Prometheus\/2\./);
    assert.equal(metricsScrapes[0]!.accept, PROMETHEUS_ACCEPT, `Prometheus ${prometheus!.version} sent another Accept header`);
    assert.equal(metricsScrapes[0]!.contentType, OPENMETRICS);
    assert.equal(subsetScrapes[0]!.contentType, TEXT_004);

    // Only the OpenMetrics parser knows `info` and `# UNIT`: the metadata shows which parser read each job.
    type Metadata = { target: { job: string }; metric: string; type: string; unit: string }[];
    const metadata = await prometheus!.api<Metadata>("targets/metadata", { match_target: '{instance=~".+"}' });
    const of = (job: string, metric: string) => metadata.find((entry) => entry.target.job === job && entry.metric === metric);
    assert.deepEqual([of("metrics", "probekit_build")?.type, of("metrics", "probekit_check_duration_seconds")?.unit], ["info", "seconds"]);
    assert.deepEqual([of("subset", "probekit_build_info")?.type, of("subset", "probekit_check_duration_seconds")?.unit], ["gauge", ""]);
  });

  it("while PostgreSQL is up: the postgres check passes in both subsets of both jobs", async (t) => {
    if (!scraping) return t.skip("Prometheus never scraped both jobs (see the first test)");
    await waitForStatus('probekit_check_status{check="postgres",critical="true"}', POSTGRES_SERIES, "pass");
    await waitForStatus("probekit_subset_status", POSTGRES_SERIES, "pass");
    const failing = await prometheus!.query('probekit_check_status{check="postgres",status="fail"}');
    assert.deepEqual(failing.map((sample) => sample.value), [0, 0, 0]);
    const durations = await prometheus!.query('probekit_check_duration_seconds{check="postgres"}');
    assert.equal(durations.length, 3);
    assert.ok(durations.every((sample) => sample.value >= 0 && sample.value < 1), JSON.stringify(durations));
  });

  it("PostgreSQL stopped: the postgres check fails in both subsets, the subsets fail, and every scrape still succeeds", async (t) => {
    if (!scraping) return t.skip("Prometheus never scraped both jobs (see the first test)");
    postgres!.stop();
    await waitForStatus('probekit_check_status{check="postgres"}', POSTGRES_SERIES, "fail");
    const failedAt = Date.now();
    const readinessFail = await prometheus!.query('probekit_subset_status{subset="readiness",status="fail"}');
    assert.deepEqual(readinessFail.map((sample) => [sample.metric.job, sample.value]).sort(), [["metrics", 1], ["subset", 1]]);
    const integrationsFail = await prometheus!.query('probekit_subset_status{subset="integrations",status="fail"}');
    assert.deepEqual(integrationsFail.map((sample) => sample.value), [1]);
    // The non-critical check is untouched by the outage.
    assert.deepEqual(statusTable(await prometheus!.query('probekit_check_status{check="always-passes",critical="false"}')), allAt(["metrics/integrations"], "pass"));

    // Scrapes taken while PostgreSQL is down are healthy scrapes: failing checks are values, not scrape errors.
    // Three of each, so the outage is a stretch of scrapes rather than one.
    for (const target of await targetsScrapedAfter(failedAt, 3)) {
      assert.equal(target.health, "up", `${target.scrapePool}: ${target.lastError}`);
      assert.equal(target.lastError, "", target.scrapePool);
    }
  });

  it("PostgreSQL started again: the postgres check and the subsets pass again", async (t) => {
    if (!scraping) return t.skip("Prometheus never scraped both jobs (see the first test)");
    postgres!.start();
    await waitForStatus('probekit_check_status{check="postgres"}', POSTGRES_SERIES, "pass");
    await waitForStatus("probekit_subset_status", POSTGRES_SERIES, "pass");
  });

  it("probekit_check_runs_total never resets, and counted the outage's failures", async (t) => {
    if (!scraping) return t.skip("Prometheus never scraped both jobs (see the first test)");
    const range = wholeRun();
    const resets = await prometheus!.query(`resets(probekit_check_runs_total[${range}])`);
    // metrics job: readiness (postgres) + integrations (postgres, always-passes); subset job: readiness; × 3 statuses.
    assert.equal(resets.length, (1 + 2 + 1) * 3, JSON.stringify(resets.map((sample) => sample.metric)));
    assert.deepEqual(resets.filter((sample) => sample.value !== 0), [], "a counter went down");
    const failures = await prometheus!.query('probekit_check_runs_total{check="postgres",status="fail"}');
    assert.equal(failures.length, 3);
    assert.ok(failures.every((sample) => sample.value > 0), JSON.stringify(failures));
    const noFailures = await prometheus!.query('probekit_check_runs_total{check="always-passes",status="fail"}');
    assert.deepEqual(noFailures.map((sample) => sample.value), [0]);
  });

  it("no label value carries an error, an address or a secret, and no label is outside the contract", async (t) => {
    if (!scraping) return t.skip("Prometheus never scraped both jobs (see the first test)");
    const forbidden = ["ECONNREFUSED", "127.0.0.1", String(postgres!.port), "postgres://", "password", PASSWORD, "refused", "unavailable"];
    const allowed = new Set(["__name__", "job", "instance", "subset", "check", "critical", "status", "version"]);
    // The instant query sees the latest series; the series API also those that went stale during the run.
    const latest = (await prometheus!.query('{__name__=~"probekit_.*"}')).map((sample) => sample.metric);
    const everSeen = await prometheus!.series('{__name__=~"probekit_.*"}');
    assert.ok(latest.length > 0 && everSeen.length >= latest.length, `${latest.length} latest, ${everSeen.length} ever`);
    for (const labels of [...latest, ...everSeen]) {
      for (const [name, value] of Object.entries(labels)) {
        assert.ok(allowed.has(name), `label ${name} is not in the contract: ${JSON.stringify(labels)}`);
        // job and instance are Prometheus's own target labels: the instance is the scrape address by definition.
        if (name === "instance") {
          assert.equal(value, `127.0.0.1:${webPort}`);
          continue;
        }
        for (const text of forbidden) assert.ok(!value.includes(text), `label ${name}="${value}" contains ${JSON.stringify(text)}: ${JSON.stringify(labels)}`);
      }
    }
  });

  it("up stayed 1 for the whole run, outage included, and every scrape was answered 200 in its format", async (t) => {
    if (!scraping) return t.skip("Prometheus never scraped both jobs (see the first test)");
    const range = wholeRun();
    const lowest = await prometheus!.query(`min_over_time(up[${range}])`);
    assert.deepEqual(lowest.map((sample) => [sample.metric.job, sample.value]).sort(), [["metrics", 1], ["subset", 1]]);
    // Prometheus stored a sample of up for every scrape this server answered (the last one may still be on its way).
    const answered = { metrics: scrapes.filter((scrape) => scrape.url === "/metrics").length, subset: scrapes.filter((scrape) => scrape.url === SUBSET_URL).length };
    const counted = Object.fromEntries((await prometheus!.query(`count_over_time(up[${range}])`)).map((sample) => [sample.metric.job, sample.value]));
    for (const job of ["metrics", "subset"] as const) {
      assert.ok(counted[job]! >= Math.max(answered[job] - 1, 5), `${job}: ${counted[job]} samples of up for ${answered[job]} scrapes answered`);
    }

    for (const scrape of scrapes) {
      const contentType = scrape.url === "/metrics" ? OPENMETRICS : TEXT_004;
      const seen = { url: scrape.url, finished: scrape.finished, status: scrape.status, accept: scrape.accept, contentType: scrape.contentType };
      assert.deepEqual(seen, { url: scrape.url, finished: true, status: 200, accept: PROMETHEUS_ACCEPT, contentType }, new Date(scrape.at).toISOString());
    }
  });
});
