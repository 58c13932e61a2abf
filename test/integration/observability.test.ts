/**
 * Status events and OpenTelemetry metrics through a real outage: a real PostgreSQL
 * stopped and started again while probes (or collections by the real OpenTelemetry
 * SDK) keep coming.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { closeHealthChecks, defineHealthConfig, handleHealthRequest, startHealthRefresh, type StatusChangeEvent } from "../../src/index.ts";
import { postgresHeartbeat } from "../../src/checks/postgres.ts";
import { registerHealthMetrics } from "../../src/otel/index.ts";
import { sleep } from "../helpers/checks.ts";
import { otelSdk, valueOf } from "../helpers/otel.ts";
import { startPostgres, type PostgresServer } from "../helpers/postgres.ts";

let server: PostgresServer;
let url: string;

before(async () => {
  server = await startPostgres();
  url = await server.createDatabase("observability");
});
after(() => server?.destroy());

/** Calls `probe` until `done` says so, at most `timeoutMs`. */
async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

describe("onStatusChange through a real PostgreSQL outage", () => {
  it("exactly one pass→fail and one fail→pass for the check and the subset, none while it stays down", async () => {
    const events: StatusChangeEvent[] = [];
    const config = defineHealthConfig({
      subsets: { readiness: [postgresHeartbeat({ url, timeoutMs: 1000 })] },
      cacheTtlMs: 0,
      logger: false,
      onStatusChange: (event) => void events.push(event),
    });
    const probe = async () => (await handleHealthRequest(new Request("http://localhost/healthcheck/readiness"), config)).status;
    try {
      assert.equal(await probe(), 200);
      server.stop();
      await until(probe, (status) => status === 500);
      // Down for a while, probed again and again.
      for (let i = 0; i < 10; i++) assert.equal(await probe(), 500);
      server.start();
      await until(probe, (status) => status === 200);
      for (let i = 0; i < 5; i++) assert.equal(await probe(), 200);

      const transitions = events.map((event) => `${event.check ?? "(subset)"} ${event.from ?? "-"}→${event.to}`);
      assert.deepEqual(transitions, ["postgres -→pass", "(subset) -→pass", "postgres pass→fail", "(subset) pass→fail", "postgres fail→pass", "(subset) fail→pass"]);
      const down = events.find((event) => event.to === "fail" && event.check === "postgres")!;
      assert.match(down.output, /^unavailable: (connection refused|connection closed|timed out after \d+ ms|server shutting down)$/, down.output);
      for (const event of events) assert.ok(!event.output.includes(String(server.port)) && !event.output.includes("127.0.0.1"), event.output);
    } finally {
      await closeHealthChecks(config);
    }
  });

  it("a background refresh sends the same events with nobody probing", async () => {
    const events: StatusChangeEvent[] = [];
    const config = defineHealthConfig({
      subsets: { readiness: [postgresHeartbeat({ url, timeoutMs: 1000 })] },
      cacheTtlMs: 0,
      logger: false,
      onStatusChange: (event) => void (event.check !== undefined && events.push(event)),
    });
    const stop = startHealthRefresh(config, { subsets: ["readiness"], intervalMs: 100 });
    try {
      await until(async () => events.length, (count) => count === 1);
      server.stop();
      await until(async () => events.length, (count) => count === 2);
      await sleep(1000);
      server.start();
      await until(async () => events.length, (count) => count === 3);
      await sleep(500);
      assert.deepEqual(events.map((event) => `${event.from ?? "-"}→${event.to}`), ["-→pass", "pass→fail", "fail→pass"]);
    } finally {
      stop();
      await closeHealthChecks(config);
    }
  });
});

describe("probekit/otel through a real PostgreSQL outage", () => {
  it("probekit.check.status goes to fail and back through the real SDK; runs only grow", async () => {
    const sdk = otelSdk();
    const config = defineHealthConfig({
      subsets: { readiness: [postgresHeartbeat({ url, timeoutMs: 1000 })], integrations: [postgresHeartbeat({ url, timeoutMs: 1000 })] },
      cacheTtlMs: 0,
      logger: false,
    });
    const unregister = registerHealthMetrics(config, { subsets: ["readiness", "integrations"], meter: sdk.meter });
    const status = async () => {
      const points = await sdk.collect();
      return {
        fail: valueOf(points, "probekit.check.status", { subset: "readiness", check: "postgres", status: "fail" }),
        subsetFail: valueOf(points, "probekit.subset.status", { subset: "integrations", status: "fail" }),
        runs: (["pass", "fail"] as const).map((s) => valueOf(points, "probekit.check.runs", { subset: "readiness", check: "postgres", status: s }) ?? 0),
      };
    };
    try {
      const healthy = await status();
      assert.deepEqual([healthy.fail, healthy.subsetFail], [0, 0]);
      server.stop();
      const down = await until(status, (value) => value.fail === 1);
      assert.equal(down.subsetFail, 1);
      server.start();
      const back = await until(status, (value) => value.fail === 0);
      assert.equal(back.subsetFail, 0);
      assert.ok(back.runs[0]! > healthy.runs[0]! && back.runs[1]! >= 1, JSON.stringify({ healthy, back }));
      assert.ok(back.runs[1]! >= down.runs[1]!, "the fail counter never went back");
    } finally {
      unregister();
      await sdk.shutdown();
      await closeHealthChecks(config);
    }
  });
});
