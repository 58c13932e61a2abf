/**
 * Health as metrics: negotiation on the subset route, the exposition's families,
 * labels and escaping, 200 whatever the status, the multi-subset scrape on the core,
 * probekit/next and probekit/node, and what must never appear in it.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  defineCheck,
  handleHealthRequest,
  handleMetricsRequest,
  METRIC_NAMES,
  negotiateFormat,
  runHealthChecks,
  ServiceUnavailable,
  setShuttingDown,
  toMetricsText,
} from "../../src/index.ts";
import { createMetricsRoute } from "../../src/next/index.ts";
import { createNodeHandler } from "../../src/node/index.ts";
import { VERSION } from "../../src/core/version.ts";
import { counted, failing, passing, quietConfig, warning } from "../helpers/checks.ts";
import { readFileSync } from "node:fs";

/** The Accept header Prometheus 2.42 sends on every scrape, verbatim (captured from the real server). */
export const PROMETHEUS_SCRAPE_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";
const NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0";

const formatOf = (format: string | null, accept: string | null) => {
  const negotiated = negotiateFormat(format, accept);
  return "format" in negotiated ? negotiated.format : negotiated.error;
};

/** The samples of an exposition as `name{labels} value` lines (comments dropped). */
const samples = (text: string) => text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));

describe("metrics negotiation", () => {
  it("?format=openmetrics and ?format=prometheus pick the expositions, whatever Accept says", () => {
    assert.equal(formatOf("openmetrics", "text/html"), "openmetrics");
    assert.equal(formatOf("prometheus", null), "prometheus");
    assert.equal(formatOf(" OpenMetrics ", "application/json"), "openmetrics");
  });

  it("Prometheus's own scrape header selects OpenMetrics", () => {
    assert.equal(formatOf(null, PROMETHEUS_SCRAPE_ACCEPT), "openmetrics");
  });

  it("Accept: application/openmetrics-text (no version or 1.0.0) selects OpenMetrics; the 0.0.1 draft falls to the 0.0.4 text its scrapers also list", () => {
    for (const accept of ["application/openmetrics-text", "application/openmetrics-text; version=1.0.0", 'application/openmetrics-text;version="1.0.0"']) {
      assert.equal(formatOf(null, accept), "openmetrics", accept);
    }
    // What Prometheus before 2.33 sent.
    assert.equal(formatOf(null, "application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), "prometheus");
  });

  it("the range naming the version decides, not a bare one (RFC 9110 specificity)", () => {
    assert.equal(formatOf(null, "application/openmetrics-text;version=1.0.0;q=0.1, application/openmetrics-text;q=0.9, */*;q=0.5"), "html");
    assert.equal(formatOf(null, "application/openmetrics-text;version=1.0.0;q=0, application/openmetrics-text;version=0.0.1"), 406);
    assert.equal(formatOf(null, "text/plain;version=0.0.4;q=0, text/plain;version=1.0.0"), 406);
    assert.equal(formatOf(null, "application/openmetrics-text;q=0, application/openmetrics-text;version=1.0.0"), "openmetrics");
  });

  it("Accept: text/plain; version=0.0.4 selects the Prometheus text format; a bare text/plain stays 406", () => {
    assert.equal(formatOf(null, "text/plain; version=0.0.4"), "prometheus");
    assert.equal(formatOf(null, "text/plain;version=1.0.0;escaping=allow-utf-8"), "prometheus");
    assert.equal(formatOf(null, "text/plain"), 406);
  });

  it("an OpenMetrics version it does not write falls back to the next acceptable range", () => {
    assert.equal(formatOf(null, "application/openmetrics-text;version=2.0.0,text/plain;version=0.0.4;q=0.5"), "prometheus");
    assert.equal(formatOf(null, "application/openmetrics-text;version=2.0.0,*/*;q=0.1"), "html");
    assert.equal(formatOf(null, "application/openmetrics-text;version=2.0.0"), 406);
    assert.equal(formatOf(null, "text/plain;version=9"), 406);
  });

  it("wildcards never select a metrics format: a browser and curl still get the page", () => {
    assert.equal(formatOf(null, "*/*"), "html");
    assert.equal(formatOf(null, "text/*"), "html");
    assert.equal(formatOf(null, "application/*"), "json");
    assert.equal(formatOf(null, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), "html");
  });

  it("q-values still decide between a metrics range and the others", () => {
    assert.equal(formatOf(null, "application/json;q=0.9, application/openmetrics-text"), "openmetrics");
    assert.equal(formatOf(null, "application/json, application/openmetrics-text;q=0.5"), "json");
    assert.equal(formatOf(null, "application/openmetrics-text;q=0, text/html"), "html");
  });
});

describe("metrics on the subset route", () => {
  const config = quietConfig({
    subsets: {
      down: [passing("cache"), failing("db", "connection refused to 10.0.0.7:5432 as admin")],
      up: [passing("cache")],
    },
    cacheTtlMs: 0,
  });
  const get = (path: string, init: RequestInit = {}) => handleHealthRequest(new Request(`http://localhost/healthcheck/${path}`, init), config);

  it("answers 200 with OpenMetrics even when the subset fails (the failure is in the values)", async () => {
    const probe = await get("down");
    assert.equal(probe.status, 500);
    const scrape = await get("down", { headers: { accept: PROMETHEUS_SCRAPE_ACCEPT } });
    assert.equal(scrape.status, 200);
    assert.equal(scrape.headers.get("content-type"), OPENMETRICS);
    assert.equal(scrape.headers.get("cache-control"), NO_STORE);
    const text = await scrape.text();
    assert.ok(text.endsWith("# EOF\n"), text.slice(-40));
    assert.ok(samples(text).includes('probekit_subset_status{subset="down",status="fail"} 1'));
    assert.ok(samples(text).includes('probekit_check_status{subset="down",check="db",critical="true",status="fail"} 1'));
  });

  it("?format=prometheus answers the 0.0.4 text: no # EOF, counters typed by their sample name", async () => {
    const response = await get("up?format=prometheus");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), PROMETHEUS);
    const text = await response.text();
    assert.ok(!text.includes("# EOF"));
    assert.match(text, /^# TYPE probekit_check_runs_total counter$/m);
    assert.match(text, /^# TYPE probekit_build_info gauge$/m);
    assert.doesNotMatch(text, /^# UNIT/m);
  });

  it("OpenMetrics names families without suffixes, with units, and an info family", async () => {
    const text = await (await get("up?format=openmetrics")).text();
    assert.match(text, /^# TYPE probekit_check_runs counter$/m);
    assert.match(text, /^# TYPE probekit_build info$/m);
    assert.match(text, /^# UNIT probekit_check_duration_seconds seconds$/m);
    assert.ok(samples(text).includes(`probekit_build_info{version="${VERSION}"} 1`));
  });

  it("HEAD: the same status and headers, no body", async () => {
    const response = await get("down?format=openmetrics", { method: "HEAD" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), OPENMETRICS);
    assert.equal(await response.text(), "");
  });

  it("an unknown subset is 404 in a metrics format too, and an unknown ?format= is 400", async () => {
    const unknown = await get("nope?format=openmetrics");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get("cache-control"), NO_STORE);
    assert.equal(await unknown.text(), 'unknown subset "nope"\n');
    assert.equal((await get("nope", { headers: { accept: PROMETHEUS_SCRAPE_ACCEPT } })).status, 404);
    const bad = await get("up?format=openmetricz");
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /use \?format=json, html, openmetrics or prometheus/);
  });

  it("a scrape keeps its series while the drain fails readiness, says so, and runs nothing", async () => {
    const check = counted("c");
    const draining = quietConfig({ subsets: { up: [check], never: [passing("x")] }, cacheTtlMs: 0 });
    await runHealthChecks(draining, "up");
    setShuttingDown(true);
    try {
      const probe = await handleHealthRequest(new Request("http://localhost/healthcheck/up"), draining);
      assert.equal(probe.status, 503);
      const scrape = await handleHealthRequest(new Request("http://localhost/healthcheck/up?format=openmetrics"), draining);
      assert.equal(scrape.status, 200);
      const lines = samples(await scrape.text());
      assert.ok(lines.includes("probekit_shutting_down 1"));
      assert.ok(lines.includes('probekit_subset_status{subset="up",status="pass"} 1'), "the latest report, however old");
      const both = await handleMetricsRequest(new Request("http://localhost/metrics"), draining, { subsets: ["up", "never"] });
      const text = await both.text();
      assert.equal(both.status, 200);
      assert.ok(!text.includes('subset="never"'), "a subset that never ran has no series yet");
      assert.equal(check.runs, 1, "no check ran while draining: its clients are being closed");
    } finally {
      setShuttingDown(false);
    }
  });

  it("never carries a check's output, raw error text or detail, even to an authorized scrape", async () => {
    const authorized = quietConfig({ subsets: { down: config.subsets.down! }, token: "secret", cacheTtlMs: 0 });
    const response = await handleHealthRequest(new Request("http://localhost/healthcheck/down?format=openmetrics", { headers: { authorization: "Bearer secret" } }), authorized);
    const text = await response.text();
    for (const leak of ["connection refused", "10.0.0.7", "5432", "admin", "unavailable"]) assert.ok(!text.includes(leak), `${leak} leaked:\n${text}`);
  });
});

describe("metric families", () => {
  it("writes every family of the contract, one series per status, with the documented labels", async () => {
    const config = quietConfig({
      subsets: { s: [passing("a", { timeoutMs: 1500 }), warning("w", "slow", { critical: false }), failing("f")] },
      cacheTtlMs: 0,
      timeoutMs: 2000,
    });
    const report = await runHealthChecks(config, "s");
    const lines = samples(toMetricsText(config, [report], "prometheus"));
    const names = new Set(lines.map((line) => line.replace(/[{ ].*$/, "")));
    assert.deepEqual([...names].sort(), [...METRIC_NAMES].sort());
    for (const name of ["probekit_subset_status", "probekit_check_status", "probekit_check_duration_seconds", "probekit_check_runs_total"]) {
      assert.ok(METRIC_NAMES.includes(name), name);
    }
    assert.deepEqual(
      lines.filter((line) => line.startsWith("probekit_subset_status")),
      ['probekit_subset_status{subset="s",status="pass"} 0', 'probekit_subset_status{subset="s",status="warn"} 0', 'probekit_subset_status{subset="s",status="fail"} 1'],
    );
    assert.deepEqual(
      lines.filter((line) => line.startsWith('probekit_check_status{subset="s",check="w"')),
      [
        'probekit_check_status{subset="s",check="w",critical="false",status="pass"} 0',
        'probekit_check_status{subset="s",check="w",critical="false",status="warn"} 1',
        'probekit_check_status{subset="s",check="w",critical="false",status="fail"} 0',
      ],
    );
    assert.ok(lines.includes('probekit_check_timeout_seconds{subset="s",check="a"} 1.5'));
    assert.ok(lines.includes('probekit_check_timeout_seconds{subset="s",check="f"} 2'));
    const duration = lines.find((line) => line.startsWith('probekit_check_duration_seconds{subset="s",check="a"}'))!;
    assert.ok(Math.abs(Number(duration.split(" ")[1]) - report.checks[0]!.durationMs / 1000) < 1e-9, duration);
    const started = lines.find((line) => line.startsWith("probekit_subset_last_run_timestamp_seconds"))!;
    assert.equal(Number(started.split(" ")[1]), Date.parse(report.time) / 1000);
  });

  it("probekit_check_runs_total counts runs, not answers: a cached answer adds nothing", async () => {
    const check = counted("c");
    const config = quietConfig({ subsets: { s: [check, failing("f")] }, cacheTtlMs: 60_000 });
    const scrape = async () => samples(await (await handleHealthRequest(new Request("http://localhost/s?format=prometheus"), config)).text());
    await scrape();
    await scrape();
    const lines = await scrape();
    assert.equal(check.runs, 1);
    assert.ok(lines.includes('probekit_check_runs_total{subset="s",check="c",status="pass"} 1'));
    assert.ok(lines.includes('probekit_check_runs_total{subset="s",check="c",status="fail"} 0'));
    assert.ok(lines.includes('probekit_check_runs_total{subset="s",check="f",status="fail"} 1'));

    const uncached = quietConfig({ subsets: { s: [check] }, cacheTtlMs: 0 });
    for (let i = 0; i < 3; i++) await runHealthChecks(uncached, "s");
    const text = toMetricsText(uncached, [await runHealthChecks(uncached, "s")], "openmetrics");
    assert.ok(samples(text).includes('probekit_check_runs_total{subset="s",check="c",status="pass"} 4'));
  });

  it("escapes label values as the formats require: backslash, double quote, line feed", async () => {
    const name = 'a"b\\c\nd';
    const config = quietConfig({ subsets: { s: [passing(name)] }, cacheTtlMs: 0 });
    const text = toMetricsText(config, [await runHealthChecks(config, "s")], "openmetrics");
    assert.ok(samples(text).includes('probekit_check_duration_seconds{subset="s",check="a\\"b\\\\c\\nd"} ' + text.match(/check="a\\"b\\\\c\\nd"} (\S+)/)![1]));
    // Every line is a comment or a sample: the newline did not split one.
    for (const line of text.trimEnd().split("\n")) assert.match(line, /^(# (TYPE|HELP|UNIT|EOF).*|probekit_[a-z_]+(\{.*\})? \S+)$/, line);
  });
});

describe("one scrape of several subsets", () => {
  const config = quietConfig({ subsets: { readiness: [passing("db")], integrations: [passing("db"), failing("mail")], liveness: [] }, cacheTtlMs: 0 });

  it("handleMetricsRequest runs each named subset once and groups each family across them", async () => {
    const response = await handleMetricsRequest(new Request("http://localhost/metrics", { headers: { accept: PROMETHEUS_SCRAPE_ACCEPT } }), config, {
      subsets: ["readiness", "integrations"],
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), OPENMETRICS);
    const text = await response.text();
    const types = text.split("\n").filter((line) => line.startsWith("# TYPE"));
    assert.equal(new Set(types).size, types.length, "each family once");
    assert.ok(samples(text).includes('probekit_subset_status{subset="integrations",status="fail"} 1'));
    assert.ok(samples(text).includes('probekit_subset_status{subset="readiness",status="pass"} 1'));
    assert.ok(!text.includes('subset="liveness"'));
  });

  it("between the two expositions only: a client preferring JSON but accepting OpenMetrics gets OpenMetrics", async () => {
    const response = await handleMetricsRequest(new Request("http://localhost/metrics", { headers: { accept: "application/json, application/openmetrics-text;q=0.9" } }), config, {
      subsets: ["readiness"],
    });
    assert.equal(response.headers.get("content-type"), OPENMETRICS);
  });

  it("answers the 0.0.4 text to anything that does not name OpenMetrics (curl, a browser)", async () => {
    for (const accept of [null, "*/*", "text/html", "application/json", "application/openmetrics-text;version=7"]) {
      const response = await handleMetricsRequest(new Request("http://localhost/metrics", accept === null ? {} : { headers: { accept } }), config, { subsets: ["readiness"] });
      assert.equal(response.status, 200, String(accept));
      assert.equal(response.headers.get("content-type"), PROMETHEUS, String(accept));
    }
    const forced = await handleMetricsRequest(new Request("http://localhost/metrics?format=openmetrics"), config, { subsets: ["readiness"] });
    assert.equal(forced.headers.get("content-type"), OPENMETRICS);
    const bad = await handleMetricsRequest(new Request("http://localhost/metrics?format=json"), config, { subsets: ["readiness"] });
    assert.equal(bad.status, 400);
    const post = await handleMetricsRequest(new Request("http://localhost/metrics", { method: "POST" }), config, { subsets: ["readiness"] });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });

  it("an unknown, repeated or missing subset name is an error of the code, not a request", async () => {
    await assert.rejects(handleMetricsRequest(new Request("http://localhost/metrics"), config, { subsets: ["readines"] }), /unknown subset "readines"; known subsets: readiness, integrations, liveness/);
    assert.throws(() => createMetricsRoute(config, { subsets: ["nope"] }), /createMetricsRoute: unknown subset "nope"/);
    assert.throws(() => createMetricsRoute(config, { subsets: [] }), /name the subsets to serve/);
    assert.throws(() => createMetricsRoute(config, { subsets: ["readiness", "readiness"] }), /listed twice/);
    assert.throws(() => createMetricsRoute(config, { subsets: ["__proto__"] }), /unknown subset/);
    assert.throws(() => createMetricsRoute(config, undefined as never), /name the subsets/);
    assert.throws(() => createMetricsRoute({} as never, { subsets: ["readiness"] }), /expected the config from defineHealthConfig/);
    assert.throws(() => createNodeHandler(config, { metricsPath: "/metrics", metricsSubsets: ["nope"] }), /metricsSubsets: unknown subset "nope"/);
    assert.throws(() => createNodeHandler(config, { metricsPath: "/metrics" }), /name the subsets/);
    assert.throws(() => createNodeHandler(config, { metricsSubsets: ["readiness"] }), /needs a metricsPath/);
    assert.throws(() => createNodeHandler(config, { metricsPath: "metrics", metricsSubsets: ["readiness"] }), /must be a path starting with \//);
    // Always 200 at a probe's path would hide every failure.
    for (const metricsPath of ["/healthcheck/readiness", "/healthcheck/readiness/", "/healthcheck/liveness"]) {
      assert.throws(() => createNodeHandler(config, { metricsPath, metricsSubsets: ["readiness"] }), /is a probe's path/, metricsPath);
    }
    assert.throws(() => createNodeHandler(config, { basePath: "/ready", subset: "readiness", metricsPath: "/ready", metricsSubsets: ["readiness"] }), /is a probe's path/);
    assert.doesNotThrow(() => createNodeHandler(config, { metricsPath: "/healthcheck/metrics", metricsSubsets: ["readiness"] }));
  });

  it("createMetricsRoute serves GET and HEAD", async () => {
    const { GET, HEAD } = createMetricsRoute(config, { subsets: ["readiness", "integrations"] });
    const response = await GET(new Request("http://localhost/metrics"));
    assert.equal(response.status, 200);
    assert.match(await response.text(), /probekit_subset_status\{subset="integrations",status="fail"\} 1/);
    const head = await HEAD(new Request("http://localhost/metrics", { method: "HEAD" }));
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });

  describe("createNodeHandler with metricsPath", () => {
    let server: Server;
    let base: string;
    before(async () => {
      server = createServer(createNodeHandler(config, { metricsPath: "/metrics", metricsSubsets: ["readiness", "integrations"] }));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(() => server.close());

    it("serves the scrape at the path, OpenMetrics to Prometheus's header, next to the subset routes", async () => {
      const scrape = await fetch(`${base}/metrics`, { headers: { accept: PROMETHEUS_SCRAPE_ACCEPT } });
      assert.equal(scrape.status, 200);
      assert.equal(scrape.headers.get("content-type"), OPENMETRICS);
      assert.equal(scrape.headers.get("cache-control"), NO_STORE);
      const text = await scrape.text();
      assert.ok(text.endsWith("# EOF\n"));
      assert.ok(samples(text).includes('probekit_subset_status{subset="integrations",status="fail"} 1'));
      const slash = await fetch(`${base}/metrics/?format=prometheus`);
      assert.equal(slash.headers.get("content-type"), PROMETHEUS);
      assert.equal((await fetch(`${base}/healthcheck/integrations`)).status, 500);
      const subset = await fetch(`${base}/healthcheck/integrations?format=openmetrics`);
      assert.equal(subset.status, 200);
      assert.equal(subset.headers.get("content-type"), OPENMETRICS);
      const head = await fetch(`${base}/metrics`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-type"), PROMETHEUS);
      assert.equal((await fetch(`${base}/metrics`, { method: "DELETE" })).status, 405);
    });
  });
});

describe("metrics: odd checks", () => {
  it("a check that throws a non-Error, hangs or returns garbage is still one set of series", async () => {
    const config = quietConfig({
      subsets: {
        s: [
          defineCheck({ name: "throws-string", check: () => { throw "boom 10.1.1.1"; } }),
          defineCheck({ name: "hangs", timeoutMs: 30, check: () => new Promise<void>(() => {}) }),
          defineCheck({ name: "garbage", check: () => 42 as never }),
          defineCheck({ name: "unavailable", check: () => { throw new ServiceUnavailable("down", { cause: new Error("secret-host") }); } }),
        ],
      },
      cacheTtlMs: 0,
    });
    const text = toMetricsText(config, [await runHealthChecks(config, "s")], "openmetrics");
    for (const name of ["throws-string", "hangs", "garbage", "unavailable"]) {
      assert.ok(samples(text).includes(`probekit_check_status{subset="s",check="${name}",critical="true",status="fail"} 1`), name);
    }
    assert.ok(!text.includes("10.1.1.1") && !text.includes("secret-host") && !text.includes("timed out"));
  });
});

describe("metrics: names that could collide", () => {
  it("a failing factory named like a check, and a duplicate renamed like another, still give one set of series each", async () => {
    function db(): never {
      throw new Error("factory broke");
    }
    // Factories: duplicates only show when they run (a listed duplicate is E006 at definition).
    const config = quietConfig({ subsets: { s: [db, passing("db"), () => passing("x"), passing("x (3)"), () => passing("x")] }, cacheTtlMs: 0 });
    const events: string[] = [];
    const watched = quietConfig({ subsets: config.subsets as never, cacheTtlMs: 0, onStatusChange: (event) => void events.push(`${event.check} ${event.to}`) });
    for (let i = 0; i < 3; i++) await runHealthChecks(watched, "s");
    const report = await runHealthChecks(config, "s");
    const names = report.checks.map((check) => check.name);
    assert.equal(new Set(names).size, names.length, names.join(" | "));
    const text = toMetricsText(config, [report], "prometheus");
    const statusSeries = samples(text).filter((line) => line.startsWith("probekit_check_status"));
    assert.equal(new Set(statusSeries.map((line) => line.replace(/ \d+$/, ""))).size, statusSeries.length, "no series twice");
    assert.deepEqual(names, ["db (0)", "db", "x", "x (3)", "x (4)"]);
    assert.equal(events.length, names.length + 1, `one first event per check and the subset, then none: ${events.join(", ")}`);
  });

  it("a factory that names its check afresh each run does not grow the runner's memory", async () => {
    let n = 0;
    const config = quietConfig({ subsets: { s: [() => passing(`worker-${n++}`)] }, cacheTtlMs: 0 });
    for (let i = 0; i < 200; i++) await runHealthChecks(config, "s");
    const text = toMetricsText(config, [await runHealthChecks(config, "s")], "prometheus");
    assert.equal(samples(text).filter((line) => line.startsWith("probekit_check_runs_total")).length, 3);
    const { runCounts } = await import("../../src/core/runner.ts");
    assert.equal(runCounts(config, "s").size, 1);
  });
});

describe("version", () => {
  it("the build_info version is package.json's", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(VERSION, pkg.version);
  });
});
