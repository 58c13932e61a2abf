import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import {
  closeHealthChecks,
  defineCheck,
  defineHealthConfig,
  HealthCheckError,
  runHealthChecks,
  ServiceReturnedUnexpectedResult,
  ServiceUnavailable,
  UnknownSubsetError,
  type Check,
  type HealthConfig,
} from "../../src/index.ts";
import { counted, failing, passing, quietConfig, recordingLogger, sleep, warning } from "../helpers/checks.ts";

const never = () => new Promise<void>(() => {});

async function run(checks: Check[], options: Parameters<typeof quietConfig>[0] extends infer T ? Omit<T & object, "subsets"> : never = {}) {
  const config = quietConfig({ subsets: { s: checks }, cacheTtlMs: 0, ...options });
  return runHealthChecks(config, "s");
}

describe("runHealthChecks: outcomes", () => {
  it("passes when every check resolves, keeping the subset's order", async () => {
    const report = await run([passing("a"), counted("b", 20), passing("c")]);
    assert.equal(report.status, "pass");
    assert.equal(report.subset, "s");
    assert.deepEqual(report.checks.map((check) => check.name), ["a", "b", "c"]);
    for (const check of report.checks) {
      assert.equal(check.status, "pass");
      assert.equal(check.observedUnit, "ms");
      assert.equal(check.observedValue, check.durationMs);
      assert.ok(!Number.isNaN(Date.parse(check.time)));
    }
    assert.ok(report.checks[1]!.durationMs >= 15);
  });

  it("keeps a check's own measurement and message", async () => {
    const report = await run([defineCheck({ name: "disk", componentType: "system", check: () => ({ observedValue: 42, observedUnit: "percent", output: "42% used" }) })]);
    const [disk] = report.checks;
    assert.deepEqual([disk!.observedValue, disk!.observedUnit, disk!.output, disk!.componentType], [42, "percent", "42% used", "system"]);
  });

  it("reports each kind of HealthCheckError with its prefix", async () => {
    const report = await run([
      failing("a", "connection refused"),
      warning("b", "disk 95% used"),
      defineCheck({ name: "c", check: () => { throw new ServiceReturnedUnexpectedResult("select 1 returned 2"); } }),
      defineCheck({ name: "d", check: () => { throw new HealthCheckError("paused"); } }),
    ]);
    assert.deepEqual(
      report.checks.map((check) => [check.status, check.output]),
      [
        ["fail", "unavailable: connection refused"],
        ["warn", "warning: disk 95% used"],
        ["fail", "unexpected result: select 1 returned 2"],
        ["fail", "error: paused"],
      ],
    );
  });

  it("captures sync throws, rejections and non-Error throws, keeping raw text out of the public output", async () => {
    const thrown: unknown[] = [
      new Error("password=hunter2"),
      "a string with host=10.0.0.1",
      { code: "ECONNREFUSED", address: "10.0.0.1" },
      42,
      null,
      undefined,
      Symbol("odd"),
      Object.create(null),
      { toString() { throw new Error("cannot print me"); }, toJSON() { throw new Error("nor serialize me"); } },
    ];
    const checks = thrown.flatMap((value, index) => [
      defineCheck({ name: `sync${index}`, check: () => { throw value; } }),
      defineCheck({ name: `async${index}`, check: async () => { await sleep(1); throw value; } }),
      defineCheck({ name: `reject${index}`, check: () => Promise.reject(value) }),
    ]);
    const report = await run(checks);
    assert.equal(report.status, "fail");
    for (const check of report.checks) {
      assert.equal(check.status, "fail", check.name);
      assert.equal(check.output, "unavailable: unexpected error", check.name);
      assert.match(check.detail, /^unavailable: unexpected error: /, check.name);
    }
    assert.match(report.checks[0]!.detail, /Error: password=hunter2/);
    assert.match(report.checks[3]!.detail, /host=10\.0\.0\.1/);
    assert.match(report.checks[6]!.detail, /ECONNREFUSED/);
  });

  it("keeps the cause of a HealthCheckError in the detail only", async () => {
    const report = await run([
      defineCheck({ name: "db", check: () => { throw new ServiceUnavailable("authentication failed", { cause: new Error('password authentication failed for user "app"') }); } }),
    ]);
    assert.equal(report.checks[0]!.output, "unavailable: authentication failed");
    assert.match(report.checks[0]!.detail, /cause: Error: password authentication failed for user "app"/);
  });

  it("treats a check that returns garbage as a failure, and nothing at all or true as a pass", async () => {
    const values: unknown[] = [false, 0, "ok", 1, [], () => {}];
    const report = await run([
      ...values.map((value, index) => ({ name: `garbage${index}`, check: () => value }) as unknown as Check),
      { name: "undefined", check: () => undefined },
      { name: "true", check: () => true } as unknown as Check,
      { name: "object with junk", check: () => ({ observedValue: Number.NaN, observedUnit: 5, output: { no: 1 } }) } as unknown as Check,
    ]);
    assert.deepEqual(
      report.checks.map((check) => [check.name, check.status]),
      [...values.map((_, index) => [`garbage${index}`, "fail"]), ["undefined", "pass"], ["true", "pass"], ["object with junk", "pass"]],
    );
    assert.equal(report.checks[0]!.output, "unexpected result: check returned false");
    const junk = report.checks.at(-1)!;
    assert.equal(junk.observedUnit, "ms");
    assert.equal(junk.output, "");
  });
});

describe("runHealthChecks: status of the subset", () => {
  it("fails on a critical failure", async () => {
    assert.equal((await run([passing("a"), failing("b")])).status, "fail");
  });

  it("a non-critical failure shows but does not fail the probe", async () => {
    const report = await run([passing("a"), failing("b", "down", { critical: false })]);
    assert.equal(report.status, "warn");
    assert.equal(report.checks[1]!.status, "fail");
    assert.equal(report.checks[1]!.critical, false);
  });

  it("a warning fails the probe while warningsAsErrors is true (the default)", async () => {
    assert.equal((await run([warning("a")])).status, "fail");
    assert.equal((await run([warning("a")], { warningsAsErrors: false })).status, "warn");
    assert.equal((await run([warning("a", "x", { critical: false })])).status, "warn");
  });

  it("an empty subset passes", async () => {
    assert.equal((await run([])).status, "pass");
  });

  it("rejects an unknown subset, looking up own keys only", async () => {
    const config = quietConfig({ subsets: { readiness: [] } });
    for (const name of ["nope", "__proto__", "constructor", "toString", "hasOwnProperty"]) {
      await assert.rejects(runHealthChecks(config, name), (error: unknown) => {
        assert.ok(error instanceof UnknownSubsetError);
        assert.deepEqual(error.known, ["readiness"]);
        return true;
      });
    }
  });
});

describe("runHealthChecks: timeouts", () => {
  it("reports a hung check as failed after its timeout, without holding the report", async () => {
    const started = performance.now();
    const report = await run([defineCheck({ name: "hang", check: never }), passing("ok")], { timeoutMs: 100 });
    const took = performance.now() - started;
    assert.ok(took >= 95 && took < 1000, `took ${took} ms`);
    assert.equal(report.checks[0]!.status, "fail");
    assert.equal(report.checks[0]!.output, "unavailable: timed out after 100 ms");
    assert.equal(report.checks[1]!.status, "pass");
  });

  it("a check's own timeoutMs wins over the config's", async () => {
    const started = performance.now();
    const report = await run([defineCheck({ name: "hang", timeoutMs: 50, check: never })], { timeoutMs: 10_000 });
    assert.ok(performance.now() - started < 1000);
    assert.equal(report.checks[0]!.output, "unavailable: timed out after 50 ms");
  });

  it("aborts the check's signal with a TimeoutError when the time is up", async () => {
    let reason: unknown;
    let abortedAt = 0;
    const started = performance.now();
    await run([
      defineCheck({
        name: "listens",
        check: ({ signal }) =>
          new Promise<void>((_, reject) => {
            signal.addEventListener("abort", () => {
              abortedAt = performance.now() - started;
              reason = signal.reason;
              reject(signal.reason);
            });
          }),
      }),
    ], { timeoutMs: 60 });
    assert.ok(reason instanceof DOMException);
    assert.equal(reason.name, "TimeoutError");
    assert.ok(abortedAt >= 55 && abortedAt < 1000, `aborted at ${abortedAt}`);
  });

  it("a check that finishes in time never sees its signal abort", async () => {
    let signal: AbortSignal | undefined;
    await run([defineCheck({ name: "quick", check: (context) => void (signal = context.signal) })], { timeoutMs: 30 });
    await sleep(60);
    assert.equal(signal?.aborted, false);
  });

  it("context.signal first read after the timeout is already aborted; a spread copy of the context has no signal", async () => {
    let copy: Record<string, unknown> = {};
    let finish!: (signal: AbortSignal) => void;
    const lateRead = new Promise<AbortSignal>((resolve) => (finish = resolve));
    const report = await run([
      defineCheck({
        name: "reads late",
        check: async (context) => {
          copy = { ...context };
          await sleep(80);
          finish(context.signal);
        },
      }),
    ], { timeoutMs: 40 });
    assert.equal(report.checks[0]!.output, "unavailable: timed out after 40 ms");
    const signal = await lateRead;
    assert.ok(signal instanceof AbortSignal);
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as DOMException).name, "TimeoutError");
    assert.equal(copy.timeoutMs, 40);
    assert.equal("signal" in copy, false, "the spread copy carries no signal");
  });

  it("leaves no timer behind: a process whose check hangs forever exits right after the report", () => {
    const script = fileURLToPath(new URL("../helpers/hung-check.ts", import.meta.url));
    const started = performance.now();
    const child = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 20_000 });
    const took = performance.now() - started;
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /^fail unavailable: timed out after 200 ms$/m);
    // The check's pending promise holds nothing; a leaked 3 s (default) or 60 s timer would keep the process up.
    assert.match(child.stdout, /^active: none$/m);
    assert.ok(took < 15_000, `took ${took} ms`);
  });
});

describe("runHealthChecks: parallel, sequential, coalescing, cache", () => {
  it("runs checks in parallel by default and one after another with sequential: true", async () => {
    const five = () => Array.from({ length: 5 }, (_, index) => counted(`c${index}`, 60));
    let started = performance.now();
    await run(five());
    const parallel = performance.now() - started;
    started = performance.now();
    await run(five(), { sequential: true });
    const sequential = performance.now() - started;
    assert.ok(parallel < 250, `parallel took ${parallel} ms`);
    assert.ok(sequential >= 290, `sequential took ${sequential} ms`);
  });

  it("sequential runs keep going after a failure and keep the order", async () => {
    const order: string[] = [];
    const track = (name: string, fail = false) => defineCheck({ name, check: async () => { order.push(name); await sleep(5); if (fail) throw new Error("x"); } });
    const report = await run([track("a"), track("b", true), track("c")], { sequential: true });
    assert.deepEqual(order, ["a", "b", "c"]);
    assert.deepEqual(report.checks.map((check) => check.status), ["pass", "fail", "pass"]);
  });

  it("100 concurrent runs of one subset share a single run", async () => {
    const check = counted("slow", 50);
    const config = quietConfig({ subsets: { s: [check] }, cacheTtlMs: 0 });
    const reports = await Promise.all(Array.from({ length: 100 }, () => runHealthChecks(config, "s")));
    assert.equal(check.runs, 1);
    assert.ok(reports.every((report) => report === reports[0]));
    await runHealthChecks(config, "s");
    assert.equal(check.runs, 2, "cacheTtlMs: 0 runs again once the run has finished");
  });

  it("reuses a finished report for cacheTtlMs, then runs again", async () => {
    const check = counted("c");
    const config = quietConfig({ subsets: { s: [check] }, cacheTtlMs: 150 });
    const first = await runHealthChecks(config, "s");
    const second = await runHealthChecks(config, "s");
    assert.equal(check.runs, 1);
    assert.equal(first, second);
    await sleep(200);
    await runHealthChecks(config, "s");
    assert.equal(check.runs, 2);
  });

  it("keeps one cache per subset and per config", async () => {
    const a = counted("a");
    const b = counted("b");
    const config = quietConfig({ subsets: { one: [a], two: [b] } });
    await Promise.all([runHealthChecks(config, "one"), runHealthChecks(config, "two")]);
    const other = quietConfig({ subsets: { one: [a] } });
    await runHealthChecks(other, "one");
    assert.deepEqual([a.runs, b.runs], [2, 1]);
  });

  it("one check object serves concurrent runs of different configs without mixing results", async () => {
    let calls = 0;
    const shared = defineCheck({ name: "shared", check: async () => { const n = ++calls; await sleep(10); if (n % 2 === 0) throw new ServiceUnavailable(`call ${n}`); return { output: `call ${n}` }; } });
    const configs = [1, 2, 3, 4].map(() => quietConfig({ subsets: { s: [shared] } }));
    const reports = await Promise.all(configs.map((config) => runHealthChecks(config, "s")));
    const outputs = reports.map((report) => report.checks[0]!.output).sort();
    assert.deepEqual(outputs, ["call 1", "call 3", "unavailable: call 2", "unavailable: call 4"]);
  });

  it("calls a factory afresh on every run", async () => {
    let made = 0;
    const factory = () => {
      made++;
      let used = false;
      return defineCheck({ name: "stateful", check: () => { if (used) throw new Error("reused"); used = true; } });
    };
    const config = quietConfig({ subsets: { s: [factory] }, cacheTtlMs: 0 });
    const first = await runHealthChecks(config, "s");
    const second = await runHealthChecks(config, "s");
    assert.equal(made, 2);
    assert.equal(first.status, "pass");
    assert.equal(second.status, "pass");
  });

  it("reports a factory that throws or returns garbage, and duplicate names behind factories, as failed checks", async () => {
    const config = quietConfig({
      subsets: {
        s: [
          function brokenFactory() { throw new Error("DATABASE_URL missing"); },
          () => 42 as unknown as Check,
          passing("db"),
          () => passing("db"),
        ],
      },
    });
    const report = await runHealthChecks(config, "s");
    assert.equal(report.status, "fail");
    assert.deepEqual(report.checks.map((check) => [check.name, check.status]), [
      ["brokenFactory", "fail"],
      ["entry 1", "fail"],
      ["db", "pass"],
      ["db (3)", "fail"],
    ]);
    assert.equal(report.checks[0]!.output, "unavailable: unexpected error");
    assert.match(report.checks[0]!.detail, /E005 factory threw: Error: DATABASE_URL missing/);
    assert.match(report.checks[3]!.detail, /E006 duplicate check name "db"/);
  });

  it("stops waiting when the caller's signal aborts, while the shared run goes on", async () => {
    const check = counted("slow", 80);
    const config = quietConfig({ subsets: { s: [check] } });
    const controller = new AbortController();
    const waiting = runHealthChecks(config, "s", { signal: controller.signal });
    const other = runHealthChecks(config, "s");
    controller.abort(new Error("client went away"));
    await assert.rejects(waiting, /client went away/);
    assert.equal((await other).status, "pass");
    await assert.rejects(runHealthChecks(config, "s", { signal: AbortSignal.abort(new Error("already")) }), /already/);
  });
});

describe("runHealthChecks: logging", () => {
  it("logs failures and warnings once per run with full detail, never passes", async () => {
    const logger = recordingLogger();
    const config = quietConfig({
      subsets: { s: [passing("ok"), defineCheck({ name: "db", check: () => { throw new Error("password=hunter2"); } }), warning("disk", "95%", { critical: false })] },
      logger,
      warningsAsErrors: false,
    });
    await Promise.all([runHealthChecks(config, "s"), runHealthChecks(config, "s")]);
    assert.deepEqual(logger.lines.map((line) => line.level), ["error", "warn"]);
    assert.match(logger.lines[0]!.message, /^probekit: s\/db fail: unavailable: unexpected error: Error: password=hunter2$/);
    assert.ok(logger.lines[0]!.details[0] instanceof Error);
    assert.match(logger.lines[1]!.message, /^probekit: s\/disk warn \(non-critical\): warning: 95%$/);
  });

  it("logs to console by default (errors to console.error, warnings to console.warn), and nothing with logger: false", async (t) => {
    const error = t.mock.method(console, "error", () => {});
    const warn = t.mock.method(console, "warn", () => {});
    const subsets = { s: [passing("ok"), defineCheck({ name: "db", check: () => { throw new ServiceUnavailable("refused", { cause: new Error("connect ECONNREFUSED 10.0.0.1:5432") }); } }), warning("disk", "95%")] };
    const report = await runHealthChecks(defineHealthConfig({ subsets, cacheTtlMs: 0 }), "s");
    assert.equal(report.checks[1]!.output, "unavailable: refused");
    assert.deepEqual(error.mock.calls.map((call) => call.arguments[0]), ["probekit: s/db fail: unavailable: refused (cause: Error: connect ECONNREFUSED 10.0.0.1:5432)"]);
    assert.ok(error.mock.calls[0]!.arguments[1] instanceof ServiceUnavailable);
    assert.deepEqual(warn.mock.calls.map((call) => call.arguments[0]), ["probekit: s/disk warn: warning: 95%"]);
    error.mock.resetCalls();
    warn.mock.resetCalls();
    await runHealthChecks(defineHealthConfig({ subsets, cacheTtlMs: 0, logger: false }), "s");
    assert.equal(error.mock.callCount() + warn.mock.callCount(), 0, "logger: false logs nothing");
  });

  it("a logger that throws does not break the run", async () => {
    const config = quietConfig({ subsets: { s: [failing("a")] }, logger: { error() { throw new Error("log sink down"); } } });
    assert.equal((await runHealthChecks(config, "s")).status, "fail");
  });
});

describe("runHealthChecks: checks from factories are not trusted", () => {
  it("a nonsense timeoutMs from a factory's check falls back to the config's", async () => {
    const config = quietConfig({ subsets: { s: [() => defineCheck({ name: "odd", timeoutMs: Number.NaN, check: () => sleep(30) })] }, timeoutMs: 1000 });
    const report = await runHealthChecks(config, "s");
    assert.equal(report.checks[0]!.status, "pass");
  });
});

describe("runHealthChecks: what checks own", () => {
  it("a check made by a factory is closed after its run; closeHealthChecks closes the plain ones once each", async () => {
    const closed: string[] = [];
    const owning = (name: string) => defineCheck({ name, check: () => {}, close: () => void closed.push(name) });
    const shared = owning("shared");
    const config = quietConfig({ subsets: { a: [shared, () => owning("made")], b: [shared] }, cacheTtlMs: 0 });
    await runHealthChecks(config, "a");
    await sleep(0);
    assert.deepEqual(closed, ["made"]);
    await closeHealthChecks(config);
    assert.deepEqual(closed, ["made", "shared"]);
  });
});

describe("runHealthChecks: review regressions", () => {
  it("time a check spends before returning its promise counts against its timeout", async () => {
    const check = defineCheck({
      name: "slow-start",
      timeoutMs: 200,
      check: () => {
        const until = Date.now() + 150;
        while (Date.now() < until) {
          // Busy before the promise exists.
        }
        return new Promise<void>((resolve) => setTimeout(resolve, 120));
      },
    });
    const report = await runHealthChecks(quietConfig({ subsets: { s: [check] }, cacheTtlMs: 0 }), "s");
    assert.equal(report.checks[0]?.output, "unavailable: timed out after 200 ms");
    assert.ok(report.durationMs < 260, `took ${report.durationMs} ms`);
  });

  it("a check that probes its own subset joins the run instead of recursing", async () => {
    let calls = 0;
    const config: HealthConfig = quietConfig({
      subsets: {
        s: [defineCheck({ name: "self", timeoutMs: 100, check: async () => { calls++; await runHealthChecks(config, "s"); } })],
      },
      cacheTtlMs: 0,
    });
    const report = await runHealthChecks(config, "s");
    assert.equal(calls, 1);
    assert.equal(report.status, "fail");
    assert.equal(report.checks[0]?.output, "unavailable: timed out after 100 ms");
  });
});
