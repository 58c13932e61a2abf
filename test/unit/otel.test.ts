/**
 * probekit/otel against the real OpenTelemetry metrics SDK (no fake meter): the
 * instruments, their attributes and units, one run per subset per collection, none
 * during the drain, and unregistering; and the names the SDK's own Prometheus exporter
 * gives them, scraped from its endpoint.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { metrics } from "@opentelemetry/api";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { defineCheck, runHealthChecks, ServiceUnavailable, setShuttingDown } from "../../src/index.ts";
import { registerHealthMetrics } from "../../src/otel/index.ts";
import { counted, failing, passing, quietConfig, warning } from "../helpers/checks.ts";
import { freePort } from "../helpers/net.ts";
import { otelSdk, valueOf } from "../helpers/otel.ts";

describe("registerHealthMetrics", () => {
  it("observes subset and check status (1/0 per status), duration in seconds and runs", async () => {
    const sdk = otelSdk();
    const config = quietConfig({ subsets: { readiness: [passing("db")], integrations: [passing("db"), warning("disk", "90% used", { critical: false }), failing("mail", "down 10.0.0.1")] }, cacheTtlMs: 0 });
    const unregister = registerHealthMetrics(config, { subsets: ["readiness", "integrations"], meter: sdk.meter });
    try {
      const points = await sdk.collect();
      assert.equal(valueOf(points, "probekit.subset.status", { subset: "readiness", status: "pass" }), 1);
      assert.equal(valueOf(points, "probekit.subset.status", { subset: "readiness", status: "fail" }), 0);
      assert.equal(valueOf(points, "probekit.subset.status", { subset: "integrations", status: "fail" }), 1);
      assert.equal(valueOf(points, "probekit.check.status", { subset: "integrations", check: "disk", status: "warn" }), 1);
      assert.equal(valueOf(points, "probekit.check.status", { subset: "integrations", check: "disk", status: "pass" }), 0);
      assert.equal(points.find((point) => point.name === "probekit.check.status" && point.attributes.check === "disk")?.attributes.critical, false);
      assert.equal(valueOf(points, "probekit.check.status", { subset: "integrations", check: "mail", status: "fail" }), 1);
      const duration = points.find((point) => point.name === "probekit.check.duration" && point.attributes.check === "mail")!;
      assert.equal(duration.unit, "s");
      assert.ok(duration.value >= 0 && duration.value < 1);
      assert.equal(valueOf(points, "probekit.check.runs", { subset: "readiness", check: "db", status: "pass" }), 1);
      assert.equal(points.filter((point) => point.name === "probekit.subset.status").length, 6, "two subsets × three statuses");
      for (const point of points) assert.ok(!JSON.stringify(point).includes("10.0.0.1"), "no raw text in attributes");
      const again = await sdk.collect();
      assert.equal(valueOf(again, "probekit.check.runs", { subset: "readiness", check: "db", status: "pass" }), 2, "a cumulative counter");
    } finally {
      unregister();
      await sdk.shutdown();
    }
  });

  it("one collection runs each subset at most once; a cached report runs nothing", async () => {
    const sdk = otelSdk();
    const check = counted("c", 20);
    const config = quietConfig({ subsets: { a: [check], b: [check] }, cacheTtlMs: 60_000 });
    const unregister = registerHealthMetrics(config, { subsets: ["a", "b"], meter: sdk.meter });
    try {
      await sdk.collect();
      assert.equal(check.runs, 2, "one run of each subset");
      await Promise.all([sdk.collect(), sdk.collect()]);
      assert.equal(check.runs, 2, "served from the cache");
    } finally {
      unregister();
      await sdk.shutdown();
    }
  });

  it("during the drain a collection runs no check and reports the latest reports", async () => {
    const sdk = otelSdk();
    let runs = 0;
    // Passes on its first run only: a run during the drain would show as a failure.
    const db = defineCheck({ name: "db", check: () => { if (++runs > 1) throw new ServiceUnavailable("ran during the drain"); } });
    const other = counted("other");
    const config = quietConfig({ subsets: { a: [db], b: [other] }, cacheTtlMs: 0 });
    await runHealthChecks(config, "a");
    const unregister = registerHealthMetrics(config, { subsets: ["a", "b"], meter: sdk.meter });
    setShuttingDown(true);
    try {
      const points = await sdk.collect();
      assert.deepEqual([runs, other.runs], [1, 0], "no check ran");
      assert.equal(valueOf(points, "probekit.subset.status", { subset: "a", status: "pass" }), 1);
      assert.equal(valueOf(points, "probekit.subset.status", { subset: "a", status: "fail" }), 0);
      assert.equal(valueOf(points, "probekit.check.status", { subset: "a", check: "db", status: "pass" }), 1);
      assert.equal(valueOf(points, "probekit.check.runs", { subset: "a", check: "db", status: "pass" }), 1);
      assert.equal(points.some((point) => point.attributes.subset === "b"), false, "a subset that never ran has no report to give");
    } finally {
      setShuttingDown(false);
      unregister();
      await sdk.shutdown();
    }
  });

  it("the unregister function stops the observations (and is safe to call twice)", async () => {
    const sdk = otelSdk();
    const check = counted("c");
    const config = quietConfig({ subsets: { a: [check] }, cacheTtlMs: 0 });
    const unregister = registerHealthMetrics(config, { subsets: ["a"], meter: sdk.meter });
    await sdk.collect();
    unregister();
    unregister();
    const points = await sdk.collect();
    assert.equal(check.runs, 1, "the collection ran nothing");
    // The SDK may repeat a cumulative point it already has; it gets no new value.
    assert.ok((valueOf(points, "probekit.check.runs", { subset: "a", check: "c", status: "pass" }) ?? 1) <= 1);
    await sdk.shutdown();
  });

  it("uses the global MeterProvider's meter when none is given", async () => {
    const sdk = otelSdk();
    assert.ok(metrics.setGlobalMeterProvider(sdk.provider));
    const config = quietConfig({ subsets: { a: [passing("x")] }, cacheTtlMs: 0 });
    const unregister = registerHealthMetrics(config, { subsets: ["a"] });
    try {
      const points = await sdk.collect();
      assert.equal(valueOf(points, "probekit.subset.status", { subset: "a", status: "pass" }), 1);
    } finally {
      unregister();
      metrics.disable();
      await sdk.shutdown();
    }
  });

  it("rejects unknown subsets when it registers", () => {
    const config = quietConfig({ subsets: { a: [passing("x")] } });
    assert.throws(() => registerHealthMetrics(config, { subsets: ["b"] }), /probekit\/otel: registerHealthMetrics: unknown subset "b"; known subsets: a/);
  });
});

describe("registerHealthMetrics through the SDK's Prometheus exporter (@opentelemetry/exporter-prometheus)", () => {
  it("names the duration probekit_check_duration (no unit suffix) and the status and runs families as the /metrics table does", async () => {
    const port = await freePort();
    const exporter = new PrometheusExporter({ host: "127.0.0.1", port, preventServerStart: true });
    await exporter.startServer();
    const provider = new MeterProvider({ readers: [exporter] });
    const config = quietConfig({ subsets: { readiness: [passing("db")], integrations: [passing("db"), failing("mail")] }, cacheTtlMs: 0 });
    const unregister = registerHealthMetrics(config, { subsets: ["readiness", "integrations"], meter: provider.getMeter("probekit-test") });
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const families = Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name, type]).filter(([name]) => name !== "target_info"));
      assert.deepEqual(families, { probekit_subset_status: "gauge", probekit_check_status: "gauge", probekit_check_duration: "gauge", probekit_check_runs_total: "counter" }, text);
      // Each family's labels, less the exporter's own otel_scope_name: those of the /metrics table.
      const labels = (family: string) => [
        ...new Set(
          text
            .split("\n")
            .filter((line) => line.startsWith(`${family}{`))
            .map((line) => [...line.matchAll(/(\w+)="/g)].map(([, label]) => label).filter((label) => label !== "otel_scope_name").join(",")),
        ),
      ];
      assert.deepEqual(labels("probekit_subset_status"), ["subset,status"]);
      assert.deepEqual(labels("probekit_check_status"), ["subset,check,critical,status"]);
      assert.deepEqual(labels("probekit_check_duration"), ["subset,check"]);
      assert.deepEqual(labels("probekit_check_runs_total"), ["subset,check,status"]);
      assert.match(text, /^probekit_subset_status\{subset="integrations",status="fail",otel_scope_name="probekit-test"\} 1$/m);
      assert.match(text, /^probekit_check_runs_total\{subset="integrations",check="mail",status="fail",otel_scope_name="probekit-test"\} 1$/m);
    } finally {
      unregister();
      await provider.shutdown();
    }
  });
});
