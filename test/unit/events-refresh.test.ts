/**
 * Status-change events, background refresh and stale answers refreshed after the
 * response: what a listener receives and when, that a listener can never break a
 * run, that probes answer at once while a refresh runs, and that nothing is left
 * running after stop(), closeHealthChecks or the drain.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { after, before, describe, it, type TestContext } from "node:test";
import {
  closeHealthChecks,
  defineCheck,
  defineHealthConfig,
  handleHealthRequest,
  HealthConfigError,
  isShuttingDown,
  runHealthChecks,
  ServiceUnavailable,
  setShuttingDown,
  startHealthRefresh,
  type StatusChangeEvent,
} from "../../src/index.ts";
import { createHealthRoute } from "../../src/next/index.ts";
import * as nodeEntry from "../../src/node/index.ts";
import { counted, passing, quietConfig, recordingLogger, sleep } from "../helpers/checks.ts";

/** A check whose outcome the test flips. */
function switchable(name: string) {
  const state = { up: true };
  const check = defineCheck({
    name,
    check: () => {
      if (!state.up) throw new ServiceUnavailable("connection refused");
    },
  });
  return { check, state };
}

describe("onStatusChange", () => {
  it("reports the first run (from undefined), then only changes, for each check and the subset", async () => {
    const events: StatusChangeEvent[] = [];
    const db = switchable("db");
    const config = quietConfig({ subsets: { readiness: [db.check, passing("cache")] }, cacheTtlMs: 0, onStatusChange: (event) => void events.push(event) });

    await runHealthChecks(config, "readiness");
    assert.deepEqual(
      events.map(({ subset, check, from, to }) => ({ subset, check, from, to })),
      [
        { subset: "readiness", check: "db", from: undefined, to: "pass" },
        { subset: "readiness", check: "cache", from: undefined, to: "pass" },
        { subset: "readiness", check: undefined, from: undefined, to: "pass" },
      ],
    );
    events.length = 0;
    await runHealthChecks(config, "readiness");
    assert.equal(events.length, 0, "no change, no event");

    db.state.up = false;
    for (let i = 0; i < 3; i++) await runHealthChecks(config, "readiness");
    assert.deepEqual(
      events.map(({ check, from, to, output }) => ({ check, from, to, output })),
      [
        { check: "db", from: "pass", to: "fail", output: "unavailable: connection refused" },
        { check: undefined, from: "pass", to: "fail", output: "db: unavailable: connection refused" },
      ],
      "one pass→fail per check and subset, none while it stays down",
    );
    assert.ok(!Number.isNaN(Date.parse(events[0]!.at)));
    assert.ok(!("check" in events[1]!), "a subset event has no check key");

    events.length = 0;
    db.state.up = true;
    await runHealthChecks(config, "readiness");
    await runHealthChecks(config, "readiness");
    assert.deepEqual(
      events.map(({ check, from, to, output }) => ({ check, from, to, output })),
      [
        { check: "db", from: "fail", to: "pass", output: "" },
        { check: undefined, from: "fail", to: "pass", output: "" },
      ],
    );
  });

  it("an event's output is the safe message, never the raw error", async () => {
    const events: StatusChangeEvent[] = [];
    const config = quietConfig({
      subsets: { s: [defineCheck({ name: "raw", check: () => { throw new Error("password=hunter2 host=10.0.0.9"); } })] },
      cacheTtlMs: 0,
      onStatusChange: (event) => void events.push(event),
    });
    await runHealthChecks(config, "s");
    assert.equal(events[0]!.output, "unavailable: unexpected error");
    assert.ok(!JSON.stringify(events).includes("hunter2"));
  });

  it("cached answers are not runs: no event from them", async () => {
    let calls = 0;
    const config = quietConfig({ subsets: { s: [passing("a")] }, cacheTtlMs: 60_000, onStatusChange: () => void calls++ });
    for (let i = 0; i < 5; i++) await runHealthChecks(config, "s");
    assert.equal(calls, 2, "check and subset, once");
  });

  it("a throwing or rejecting listener is logged and breaks neither the run nor the probe", async () => {
    for (const listener of [
      () => { throw new Error("listener broke"); },
      () => { throw "a string"; },
      () => Promise.reject(new Error("listener rejected")),
    ]) {
      const logger = recordingLogger();
      const config = defineHealthConfig({ subsets: { s: [passing("a")] }, cacheTtlMs: 0, logger, onStatusChange: listener });
      const response = await handleHealthRequest(new Request("http://localhost/healthcheck/s?format=json"), config);
      assert.equal(response.status, 200);
      assert.equal((await response.json()).status, "pass");
      await sleep(0);
      assert.ok(logger.lines.some((line) => line.level === "error" && line.message.startsWith("probekit: onStatusChange failed for s")), JSON.stringify(logger.lines));
    }
  });

  it("listeners are not awaited: one that never settles does not hold the probe", async () => {
    const config = quietConfig({ subsets: { s: [passing("a")] }, cacheTtlMs: 0, onStatusChange: () => new Promise(() => {}) });
    const started = performance.now();
    const report = await runHealthChecks(config, "s");
    assert.equal(report.status, "pass");
    assert.ok(performance.now() - started < 1000);
  });

  it("the README's webhook recipe posts one Slack-style message per subset change, and a dead webhook breaks nothing", async () => {
    const received: { text: string }[] = [];
    const hook = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        assert.equal(request.method, "POST");
        assert.equal(request.headers["content-type"], "application/json");
        received.push(JSON.parse(body));
        response.end("ok");
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    const webhookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    // As in the README, with the URL from a variable instead of the environment.
    const onStatusChange = (event: StatusChangeEvent) => {
      if (event.check !== undefined || event.from === undefined) return;
      return fetch(webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: `${event.subset}: ${event.from} → ${event.to}${event.output ? ` (${event.output})` : ""}` }),
        signal: AbortSignal.timeout(5000),
      });
    };
    const db = switchable("db");
    const logger = recordingLogger();
    const config = defineHealthConfig({ subsets: { readiness: [db.check] }, cacheTtlMs: 0, logger, onStatusChange });
    try {
      await runHealthChecks(config, "readiness");
      db.state.up = false;
      await runHealthChecks(config, "readiness");
      await runHealthChecks(config, "readiness");
      db.state.up = true;
      await runHealthChecks(config, "readiness");
      for (let i = 0; i < 100 && received.length < 2; i++) await sleep(10);
      assert.deepEqual(received, [{ text: "readiness: pass → fail (db: unavailable: connection refused)" }, { text: "readiness: fail → pass" }]);
      // The webhook goes away: the run still passes, the failure is logged.
      await new Promise<void>((resolve) => hook.close(() => resolve()));
      db.state.up = false;
      assert.equal((await runHealthChecks(config, "readiness")).status, "fail");
      for (let i = 0; i < 200 && !logger.lines.some((line) => line.message.includes("onStatusChange failed")); i++) await sleep(10);
      assert.ok(logger.lines.some((line) => line.message.startsWith("probekit: onStatusChange failed for readiness: TypeError: fetch failed")), JSON.stringify(logger.lines.map((line) => line.message)));
    } finally {
      hook.close();
    }
  });

  it("a listener that is not a function is a config error (E003)", () => {
    assert.throws(
      () => defineHealthConfig({ subsets: { s: [passing("a")] }, onStatusChange: "https://hooks.example" as never }),
      (error: unknown) => error instanceof HealthConfigError && error.issues.some((issue) => issue.code === "E003" && issue.path === "onStatusChange" && issue.message === "must be a function"),
    );
  });
});

describe("startHealthRefresh", () => {
  it("probes answer the refreshed report at once instead of waiting for a 500 ms check", async () => {
    const slow = counted("slow", 500);
    const config = quietConfig({ subsets: { readiness: [slow] }, cacheTtlMs: 0 });
    const stop = startHealthRefresh(config, { subsets: ["readiness"], intervalMs: 200 });
    try {
      // The first refresh run is under way: wait for its report.
      while (slow.runs === 0) await sleep(10);
      await sleep(600);
      const timings: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        const response = await handleHealthRequest(new Request("http://localhost/healthcheck/readiness"), config);
        assert.equal(response.status, 200);
        timings.push(performance.now() - started);
        await sleep(25);
      }
      assert.ok(Math.max(...timings) < 250, `slowest probe ${Math.max(...timings).toFixed(1)} ms: ${timings.map((t) => t.toFixed(1)).join(", ")}`);
      assert.ok(slow.runs >= 2 && slow.runs <= 4, `runs: ${slow.runs}`);
    } finally {
      stop();
    }
  });

  it("after stop() the refresh's report is no longer served: the probe runs as without a refresh", async () => {
    const slow = counted("slow", 0);
    const config = quietConfig({ subsets: { s: [slow] }, cacheTtlMs: 0 });
    const stop = startHealthRefresh(config, { subsets: ["s"], intervalMs: 60_000 });
    while (slow.runs === 0) await sleep(5);
    await runHealthChecks(config, "s");
    assert.equal(slow.runs, 1, "served from the refresh");
    stop();
    await runHealthChecks(config, "s");
    assert.equal(slow.runs, 2, "after stop() the probe runs the checks");
  });

  /**
   * Probes of a subset whose one check the test takes down, with Date.now moved by the
   * test: a report's age is read from it (its run's duration from performance.now).
   */
  function ageSetup(t: TestContext, behaviour: (run: number) => Promise<void> | void = () => {}) {
    const start = Date.now();
    const clock = { offsetMs: 0 };
    t.mock.method(Date, "now", () => start + clock.offsetMs);
    const db = {
      name: "db",
      timeoutMs: 1000,
      runs: 0,
      up: true,
      async check() {
        await behaviour(++db.runs);
        if (!db.up) throw new ServiceUnavailable("connection refused");
      },
    };
    const config = quietConfig({ subsets: { s: [db] }, cacheTtlMs: 0 });
    const probe = async () => {
      const response = await handleHealthRequest(new Request("http://localhost/healthcheck/s", { headers: { accept: "application/json" } }), config);
      return { status: response.status, output: (await response.json()).checks.db[0].output as string | undefined };
    };
    return { clock, db, config, probe };
  }

  it("a report is served for two intervals after its run: at 1.9 intervals the stale pass, at 2.1 the probe runs and sees the outage", async (t) => {
    const { clock, db, config, probe } = ageSetup(t);
    const intervalMs = 10_000;
    // The timer's next run is 10 s of real time away: on the moved clock the refresh looks stuck.
    const stop = startHealthRefresh(config, { subsets: ["s"], intervalMs });
    try {
      while (db.runs === 0) await sleep(5);
      await sleep(5);
      db.up = false;
      clock.offsetMs = 1.9 * intervalMs;
      assert.deepEqual(await probe(), { status: 200, output: undefined }, "19 s old: the refresh's report");
      assert.equal(db.runs, 1);
      clock.offsetMs = 2.1 * intervalMs;
      assert.deepEqual(await probe(), { status: 500, output: "unavailable: connection refused" }, "21 s old: not served, the probe ran the check");
      assert.equal(db.runs, 2);
    } finally {
      stop();
    }
  });

  it("a run longer than the interval: its report is served for two runs' time, then the probe waits for the run as it would without a refresh", async (t) => {
    const firstRunMs = 300;
    const intervalMs = 50;
    // The first run takes 300 ms; every later one hangs past the check's timeout (1 s): a stuck refresh.
    const { clock, db, config, probe } = ageSetup(t, (run) => (run === 1 ? sleep(firstRunMs) : new Promise(() => {})));
    const stop = startHealthRefresh(config, { subsets: ["s"], intervalMs });
    try {
      // The second run has begun: the first one's report is in.
      while (db.runs < 2) await sleep(5);
      const { durationMs } = await runHealthChecks(config, "s");
      // Long enough that 1.5 runs is well past two intervals.
      assert.ok(durationMs > 4 * intervalMs, `the first run took ${durationMs} ms`);
      clock.offsetMs = Math.round(1.5 * durationMs);
      assert.deepEqual(await probe(), { status: 200, output: undefined }, "1.5 runs old, past two intervals: still the refresh's report");
      clock.offsetMs = Math.round(2.5 * durationMs);
      assert.deepEqual(await probe(), { status: 500, output: "unavailable: timed out after 1000 ms" }, "2.5 runs old: the probe waited for the stuck run");
      assert.equal(db.runs, 2, "the probe joined the run in flight");
    } finally {
      stop();
    }
  });

  it("rejects unknown subsets and bad intervals when it starts", () => {
    const config = quietConfig({ subsets: { s: [passing("a")] } });
    assert.throws(() => startHealthRefresh(config, { subsets: ["x"], intervalMs: 1000 }), /startHealthRefresh: unknown subset "x"; known subsets: s/);
    assert.throws(() => startHealthRefresh(config, { subsets: [], intervalMs: 1000 }), /name the subsets/);
    for (const intervalMs of [0, -1, 1.5, Number.NaN, 2 ** 31, "1000"]) {
      assert.throws(() => startHealthRefresh(config, { subsets: ["s"], intervalMs: intervalMs as number }), /intervalMs must be a whole number/, String(intervalMs));
    }
  });

  for (const how of ["stop", "close", "drain"] as const) {
    it(`leaves no timer after ${how === "stop" ? "stop()" : how === "close" ? "closeHealthChecks" : "the drain"}: the process exits at once`, () => {
      const script = fileURLToPath(new URL("../helpers/refresh-child.ts", import.meta.url));
      const child = spawnSync(process.execPath, ["--import", "tsx", script, how], { encoding: "utf8", timeout: 20_000 });
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, how === "drain" ? /^runs: several after: 0$/m : /^runs: several after: 1$/m);
      assert.match(child.stdout, /^active: none$/m);
    });
  }

  it("closeHealthChecks stops the config's refresh", async () => {
    const check = counted("c");
    const config = quietConfig({ subsets: { s: [check] }, cacheTtlMs: 0 });
    startHealthRefresh(config, { subsets: ["s"], intervalMs: 10 });
    await sleep(60);
    await closeHealthChecks(config);
    const runs = check.runs;
    await sleep(60);
    assert.equal(check.runs, runs);
  });
});

describe("handleHealthRequest(request, config, { after })", () => {
  /**
   * A readiness subset of one counted check (cacheTtlMs 1 s) probed through handleHealthRequest
   * with `after` collecting its tasks, and Date.now moved by the test: a report's age is read from it.
   */
  function staleSetup(t: TestContext) {
    const start = Date.now();
    const clock = { offsetMs: 0 };
    t.mock.method(Date, "now", () => start + clock.offsetMs);
    const check = counted("c");
    const config = quietConfig({ subsets: { readiness: [check] }, cacheTtlMs: 1000 });
    const tasks: (() => Promise<unknown>)[] = [];
    const options = { after: (task: () => Promise<unknown>) => void tasks.push(task) };
    const probe = () => handleHealthRequest(new Request("http://localhost/healthcheck/readiness", { headers: { accept: "application/json" } }), config, options);
    return { clock, check, tasks, probe };
  }

  it("answers a stale report at once and hands its refresh to after, as createHealthRoute does", async (t) => {
    const { clock, check, tasks, probe } = staleSetup(t);

    assert.equal((await probe()).status, 200);
    assert.deepEqual([check.runs, tasks.length], [1, 0], "no report yet: the request waits for the run");
    clock.offsetMs = 5_000; // past cacheTtlMs
    const stale = await probe();
    assert.equal(stale.status, 200);
    assert.equal((await stale.json()).status, "pass");
    assert.deepEqual([check.runs, tasks.length], [1, 1], "answered from the stale report, one refresh handed to after()");
    await tasks[0]!();
    assert.equal(check.runs, 2);
  });

  it("staleMs defaults to 30 s: a report 29 s old is answered at once, one 31 s old is run while the request waits", async (t) => {
    const { clock, check, tasks, probe } = staleSetup(t);

    await probe();
    clock.offsetMs = 29_000;
    await probe();
    assert.deepEqual([check.runs, tasks.length], [1, 1], "29 s: answered stale");
    clock.offsetMs = 31_000;
    await probe();
    assert.deepEqual([check.runs, tasks.length], [2, 1], "31 s: run while the request waited, nothing handed to after()");
  });
});

describe("createHealthRoute(config, { after })", () => {
  it("answers a stale report at once and refreshes it after the response", async () => {
    const slow = counted("slow", 300);
    const config = quietConfig({ subsets: { readiness: [slow] }, cacheTtlMs: 50 });
    const tasks: (() => Promise<unknown>)[] = [];
    const { GET } = createHealthRoute(config, { after: (task) => void tasks.push(task), staleMs: 10_000 });
    const request = () => GET(new Request("http://localhost/healthcheck/readiness"), { params: Promise.resolve({ subset: "readiness" }) });

    // No report yet: the first request waits for the run, as without `after`.
    assert.equal((await request()).status, 200);
    assert.equal(slow.runs, 1);
    assert.equal(tasks.length, 0);

    await sleep(80); // past cacheTtlMs
    const started = performance.now();
    const response = await request();
    const took = performance.now() - started;
    assert.equal(response.status, 200);
    assert.ok(took < 200, `stale answer took ${took.toFixed(1)} ms`);
    assert.equal(tasks.length, 1, "one refresh handed to after()");
    assert.equal(slow.runs, 1, "the refresh runs only when after() runs it");
    await tasks[0]!();
    assert.equal(slow.runs, 2);
  });

  it("a report older than staleMs is not answered: the request runs the checks", async () => {
    const check = counted("c");
    const config = quietConfig({ subsets: { s: [check] }, cacheTtlMs: 0 });
    const tasks: unknown[] = [];
    const { GET } = createHealthRoute(config, { subset: "s", after: (task) => void tasks.push(task), staleMs: 20 });
    await GET(new Request("http://localhost/s"));
    await sleep(40);
    await GET(new Request("http://localhost/s"));
    assert.equal(check.runs, 2);
    assert.equal(tasks.length, 0);
  });

  it("an after() that throws (outside a request scope) makes the request run the checks, never fail", async () => {
    const check = counted("c");
    const config = quietConfig({ subsets: { s: [check] }, cacheTtlMs: 0 });
    const { GET } = createHealthRoute(config, { subset: "s", after: () => { throw new Error("`after` was called outside a request scope"); } });
    assert.equal((await GET(new Request("http://localhost/s"))).status, 200);
    assert.equal((await GET(new Request("http://localhost/s"))).status, 200);
    assert.equal(check.runs, 2);
  });

  it("rejects a non-function after and a bad staleMs when the route is created", () => {
    const config = quietConfig({ subsets: { s: [passing("a")] } });
    assert.throws(() => createHealthRoute(config, { after: "later" as never }), /after must be a function/);
    assert.throws(() => createHealthRoute(config, { after: () => {}, staleMs: -1 }), /staleMs must be a whole number/);
  });
});

describe("two copies of probekit in one process (a route bundle and instrumentation.ts)", () => {
  let copy: typeof import("../../src/index.ts");
  let copyNext: typeof import("../../src/next/index.ts");
  before(async () => {
    // A second module instance of the whole package, as a bundler makes one per bundle
    // (under node_modules/.cache, so its own imports resolve as the original's do).
    const folder = fileURLToPath(new URL(`../../node_modules/.cache/probekit-copy-${process.pid}/`, import.meta.url));
    cpSync(fileURLToPath(new URL("../../src/", import.meta.url)), join(folder, "src"), { recursive: true });
    after(() => rmSync(folder, { recursive: true, force: true }));
    copy = (await import(pathToFileURL(join(folder, "src/index.ts")).href)) as typeof copy;
    copyNext = (await import(pathToFileURL(join(folder, "src/next/index.ts")).href)) as typeof copyNext;
    assert.notEqual(copy.runHealthChecks, runHealthChecks, "a second copy");
    assert.notEqual(copyNext.createHealthRoute, createHealthRoute, "a second copy");
  });

  it("share one cache, one set of counters and one refresh for the same config", async () => {
    const slow = counted("slow", 300);
    let events = 0;
    const config = quietConfig({ subsets: { s: [slow] }, cacheTtlMs: 0, onStatusChange: () => void events++ });
    const stop = copy.startHealthRefresh(config, { subsets: ["s"], intervalMs: 100 });
    try {
      while (slow.runs === 0) await sleep(5);
      await sleep(400);
      const runs = slow.runs;
      const started = performance.now();
      const response = await handleHealthRequest(new Request("http://localhost/healthcheck/s"), config);
      assert.equal(response.status, 200);
      assert.ok(performance.now() - started < 150, "answered from the other copy's refresh");
      assert.ok(slow.runs <= runs + 1, "the probe ran nothing itself");
      assert.equal(events, 2, "one first event for the check and one for the subset, not one per copy");
    } finally {
      stop();
    }
  });

  it("share the drain flag: after SIGTERM (or setShuttingDown) in one copy, the other's isShuttingDown is true and its route answers 503", async () => {
    const config = quietConfig({ subsets: { readiness: [passing("db")] }, cacheTtlMs: 0 });
    // The route handler comes from the other copy, as a route bundle's does in Next.
    const { GET } = copyNext.createHealthRoute(config);
    const readiness = async () => {
      const response = await GET(new Request("http://localhost/healthcheck/readiness", { headers: { accept: "application/json" } }));
      return { status: response.status, body: await response.json() };
    };
    assert.equal(nodeEntry.isShuttingDown, isShuttingDown, "probekit/node's isShuttingDown is probekit's");
    assert.deepEqual([isShuttingDown(), copy.isShuttingDown()], [false, false], "serving: no drain yet");
    assert.equal((await readiness()).status, 200);
    const draining = { status: 503, body: { status: "fail", output: "shutting down" } };
    try {
      setShuttingDown(true);
      assert.equal(copy.isShuttingDown(), true);
      assert.deepEqual(await readiness(), draining);
      copy.setShuttingDown(false);
      assert.equal(isShuttingDown(), false, "one flag: the other copy ends the drain too");
      assert.equal((await readiness()).status, 200);

      const drain = nodeEntry.installShutdownDrain({ drainMs: 0, exit: false, log: () => {} });
      try {
        process.kill(process.pid, "SIGTERM");
        for (let waited = 0; !isShuttingDown() && waited < 5000; waited += 5) await sleep(5);
        assert.deepEqual([isShuttingDown(), copy.isShuttingDown()], [true, true], "SIGTERM began the drain");
        assert.deepEqual(await readiness(), draining);
        await drain.drain();
      } finally {
        drain.uninstall();
      }
    } finally {
      setShuttingDown(false);
    }
  });
});
