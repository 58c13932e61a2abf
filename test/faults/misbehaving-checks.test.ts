/**
 * Checks that misbehave in every way a check can: throw things that are not
 * errors (or errors that throw when read), return garbage, settle after their
 * timeout or never, poke their own signal, and mutate state other checks read.
 * Each must come out as a clear per-check status and message, the right overall
 * status, from both adapters; with no unhandled rejection, no uncaught exception,
 * and nothing logged after the response.
 */
import assert from "node:assert/strict";
import { after, before, describe, it, mock } from "node:test";
import { runHealthChecks, ServiceUnavailable, type Check, type CheckContext, type HealthReport } from "../../src/index.ts";
import { ADAPTERS } from "../helpers/adapters.ts";
import { passing, quietConfig, recordingLogger, sleep } from "../helpers/checks.ts";
import { recordProcessFaults } from "../helpers/process-faults.ts";

/** The timeout of every check here, and when the late ones settle: the final pause outlasts both. */
const TIMEOUT_MS = 100;
const LATE_MS = 250;

const faults = recordProcessFaults();
const logger = recordingLogger();
const consoleCalls = (["error", "warn", "log", "info", "debug"] as const).map((method) => mock.method(console, method, () => {}));

before(() => {
  for (const call of consoleCalls) call.mock.resetCalls();
});
after(async () => {
  for (const adapter of ADAPTERS) await adapter.close();
  const linesAtEnd = logger.lines.length;
  await faults.assertNoneAfter(LATE_MS * 3);
  assert.equal(logger.lines.length, linesAtEnd, "nothing logged after the last response");
  assert.deepEqual(consoleCalls.map((call) => call.mock.callCount()), [0, 0, 0, 0, 0], "console untouched: the config's logger gets everything");
});

const UNEXPECTED = "unavailable: unexpected error";
const TIMED_OUT = `unavailable: timed out after ${TIMEOUT_MS} ms`;
const returned = (what: string) => `unexpected result: check returned ${what}`;

interface Case {
  what: string;
  check: (context: CheckContext) => unknown;
  status: "pass" | "fail";
  output: string;
}

/** Throws on every operation, including the ones `instanceof`, `typeof` checks and printing use. */
function hostileProxy(): object {
  const trap = () => {
    throw new Error("hostile proxy trap");
  };
  return new Proxy({}, { get: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, getPrototypeOf: trap, set: trap, defineProperty: trap, deleteProperty: trap, apply: trap });
}

function withThrowingGetter<T extends object>(target: T, key: PropertyKey): T {
  Object.defineProperty(target, key, { get: () => { throw new Error(`${String(key)} getter threw`); } });
  return target;
}

const circular: Record<string, unknown> = { message: "circular" };
circular.self = circular;

/** Things a check can throw that are not HealthCheckErrors: each is `unavailable: unexpected error`. */
const THROWN: [string, () => unknown][] = [
  ["a string", () => "plain string with host=10.0.0.1"],
  ["undefined", () => undefined],
  ["null", () => null],
  ["a number", () => 42],
  ["NaN", () => Number.NaN],
  ["a bigint", () => 10n],
  ["a symbol", () => Symbol("thrown")],
  ["a function", () => () => "thrown function"],
  ["an object with a message getter that throws", () => withThrowingGetter({}, "message")],
  ["an Error whose message getter throws", () => withThrowingGetter(new Error("x"), "message")],
  ["an Error whose name, cause and code getters throw", () => withThrowingGetter(withThrowingGetter(withThrowingGetter(new Error("x"), "name"), "cause"), "code")],
  ["an object whose toString and toJSON throw", () => ({ toString() { throw new Error("toString threw"); }, toJSON() { throw new Error("toJSON threw"); } })],
  ["an object whose Symbol.toPrimitive throws", () => ({ [Symbol.toPrimitive]() { throw new Error("toPrimitive threw"); } })],
  ["a null-prototype object", () => Object.create(null)],
  ["a circular object", () => circular],
  ["a Proxy that throws on every access", hostileProxy],
  ["a frozen Error", () => Object.freeze(new Error("frozen"))],
];

const CASES: Case[] = [
  ...THROWN.flatMap(([what, make]): Case[] => [
    { what: `throws ${what} synchronously`, check: () => { throw make(); }, status: "fail", output: UNEXPECTED },
    { what: `throws ${what} asynchronously`, check: async () => { await sleep(1); throw make(); }, status: "fail", output: UNEXPECTED },
    { what: `returns a rejected promise of ${what}`, check: () => Promise.reject(make()), status: "fail", output: UNEXPECTED },
  ]),
  // HealthCheckErrors that break when read.
  { what: "throws a ServiceUnavailable whose message getter throws", check: () => { throw withThrowingGetter(new ServiceUnavailable("x"), "message"); }, status: "fail", output: UNEXPECTED },
  { what: "throws a ServiceUnavailable whose cause getter throws", check: () => { throw withThrowingGetter(new ServiceUnavailable("db down"), "cause"); }, status: "fail", output: "unavailable: db down" },
  { what: "throws a ServiceUnavailable whose cause is a hostile Proxy", check: () => { throw new ServiceUnavailable("db down", { cause: hostileProxy() }); }, status: "fail", output: "unavailable: db down" },
  // Garbage results.
  { what: "returns false", check: () => false, status: "fail", output: returned("false") },
  { what: "returns 0", check: () => 0, status: "fail", output: returned("a number") },
  { what: 'returns "ok"', check: () => "ok", status: "fail", output: returned("a string") },
  { what: "returns a function", check: () => () => {}, status: "fail", output: returned("a function") },
  { what: "returns an array", check: () => [], status: "fail", output: returned("an array") },
  { what: "returns a symbol", check: () => Symbol("ok"), status: "fail", output: returned("a symbol") },
  { what: "resolves to garbage", check: async () => "garbage", status: "fail", output: returned("a string") },
  { what: "resolves to a bigint", check: () => Promise.resolve(1n), status: "fail", output: returned("a bigint") },
  { what: "resolves to a promise of false", check: () => Promise.resolve(Promise.resolve(false)), status: "fail", output: returned("false") },
  { what: "returns an object whose status getter throws (a field it never reads)", check: () => withThrowingGetter({}, "status"), status: "pass", output: "" },
  { what: "returns an object whose output getter throws", check: () => withThrowingGetter({}, "output"), status: "fail", output: UNEXPECTED },
  { what: "returns an object whose observedValue getter throws", check: () => withThrowingGetter({ output: "fine" }, "observedValue"), status: "fail", output: UNEXPECTED },
  { what: "returns a Proxy that throws on every access", check: hostileProxy, status: "fail", output: UNEXPECTED },
  { what: "returns a thenable whose then getter throws", check: () => withThrowingGetter({}, "then"), status: "fail", output: UNEXPECTED },
  { what: "returns a thenable that resolves, then throws", check: () => ({ then(resolve: (value: unknown) => void) { resolve(undefined); throw new Error("after resolve"); } }), status: "pass", output: "" },
  { what: "returns a thenable that never calls back", check: () => ({ then() {} }), status: "fail", output: TIMED_OUT },
  { what: "returns junk measurement fields", check: () => ({ observedValue: { nested: true }, observedUnit: 5, output: ["x"] }), status: "pass", output: "" },
  // Its own signal.
  {
    what: "fires its signal's abort listeners itself, then passes",
    check: ({ signal }) => {
      let heard = 0;
      signal.addEventListener("abort", () => heard++);
      signal.dispatchEvent(new Event("abort"));
      if (heard !== 1 || signal.aborted) throw new ServiceUnavailable("the signal behaved oddly");
    },
    status: "pass",
    output: "",
  },
  {
    what: "fires its signal's abort listeners itself, then throws the signal's (absent) reason",
    check: ({ signal }) => {
      signal.dispatchEvent(new Event("abort"));
      throw signal.reason;
    },
    status: "fail",
    output: UNEXPECTED,
  },
  {
    what: "rejects from its abort listener when the timeout aborts it",
    check: ({ signal }) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    status: "fail",
    output: TIMED_OUT,
  },
  {
    what: "rejects with a hostile Proxy from its abort listener",
    check: ({ signal }) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(hostileProxy()))),
    status: "fail",
    output: TIMED_OUT,
  },
];

/** Settle after the timeout, or never: reported as timed out on time, and nothing happens when they finally settle. */
const LATE: Case[] = [
  { what: "resolves after its timeout", check: () => sleep(LATE_MS), status: "fail", output: TIMED_OUT },
  { what: "resolves with garbage after its timeout", check: () => sleep(LATE_MS).then(() => "garbage"), status: "fail", output: TIMED_OUT },
  { what: "rejects after its timeout", check: () => sleep(LATE_MS).then(() => { throw new Error("late rejection"); }), status: "fail", output: TIMED_OUT },
  { what: "rejects with a hostile Proxy after its timeout", check: () => sleep(LATE_MS).then(() => { throw hostileProxy(); }), status: "fail", output: TIMED_OUT },
  { what: "throws a ServiceUnavailable after its timeout", check: () => sleep(LATE_MS).then(() => { throw new ServiceUnavailable("late"); }), status: "fail", output: TIMED_OUT },
  { what: "never settles", check: () => new Promise(() => {}), status: "fail", output: TIMED_OUT },
  { what: "ignores its signal and keeps a timer of its own", check: () => new Promise((resolve) => setTimeout(resolve, LATE_MS)), status: "fail", output: TIMED_OUT },
];

/** One subset per case: the misbehaving check and a healthy sibling, which must be unaffected. */
const subsetOf = (index: number, late = false) => `${late ? "late" : "case"}-${index}`;
const subject = (entry: Case): Check => ({ name: "subject", check: entry.check as Check["check"] });
const config = quietConfig({
  subsets: {
    ...Object.fromEntries(CASES.map((entry, index) => [subsetOf(index), [subject(entry), passing("sibling")]])),
    ...Object.fromEntries(LATE.map((entry, index) => [subsetOf(index, true), [subject(entry), passing("sibling")]])),
  },
  cacheTtlMs: 0,
  timeoutMs: TIMEOUT_MS,
  logger,
});

interface JsonCheck {
  status: string;
  output?: string;
  critical: boolean;
}

/** Asserts a response carries the report of a subset with one misbehaving check, and returns the number of log lines it should have caused. */
async function assertReport(response: Response, entry: Case): Promise<number> {
  const text = await response.text();
  const context = `${entry.what} -> ${response.status} ${text.slice(0, 300)}`;
  assert.equal(response.headers.get("content-type"), "application/json", context);
  const body = JSON.parse(text) as { status: string; checks: Record<string, JsonCheck[]> };
  const [check] = body.checks.subject ?? [];
  assert.deepEqual([check?.status, check?.output ?? ""], [entry.status, entry.output], context);
  assert.equal(body.checks.sibling?.[0]?.status, "pass", context);
  assert.equal(body.status, entry.status, context);
  assert.equal(response.status, entry.status === "pass" ? 200 : 500, context);
  return entry.status === "pass" ? 0 : 1;
}

for (const adapter of ADAPTERS) {
  describe(`${adapter.name}: a misbehaving check`, () => {
    CASES.forEach((entry, index) => {
      it(entry.what, async () => {
        const before = logger.lines.length;
        const started = performance.now();
        const response = await adapter.serve(config, `/healthcheck/${subsetOf(index)}?format=json`);
        const expectedLines = await assertReport(response, entry);
        assert.ok(performance.now() - started < TIMEOUT_MS + 400, "answered within its timeout");
        assert.equal(logger.lines.length - before, expectedLines, "one log line per failed check, before the response");
        for (const line of logger.lines.slice(before)) assert.match(line.message, new RegExp(`^probekit: ${subsetOf(index)}/subject fail: unavailable|^probekit: ${subsetOf(index)}/subject fail: unexpected result`));
      });
    });

    it("settling after the timeout, or never: timed out on time, then no rejection, no exception, no log", async () => {
      const before = logger.lines.length;
      const started = performance.now();
      const responses = await Promise.all(LATE.map((_, index) => adapter.serve(config, `/healthcheck/${subsetOf(index, true)}?format=json`)));
      assert.ok(performance.now() - started < LATE_MS, "every answer came at the timeout, before the late settlements");
      for (const [index, response] of responses.entries()) await assertReport(response, LATE[index]!);
      const atResponse = logger.lines.length;
      assert.equal(atResponse - before, LATE.length, "one line per timed-out check, logged before the response");
      await sleep(LATE_MS * 2);
      assert.equal(logger.lines.length, atResponse, "nothing logged when the late checks settle");
      assert.deepEqual(faults.recorded, []);
    });
  });
}

describe("checks that mutate state other checks read", () => {
  const derived = (report: HealthReport) =>
    report.checks.some((check) => check.critical && check.status !== "pass") ? "fail" : report.checks.some((check) => check.status !== "pass") ? "warn" : "pass";

  it("sequential: one flips a shared flag the next reads; the report says so consistently, run after run", async () => {
    const shared = { healthy: true };
    const flipper: Check = { name: "flipper", check: () => { shared.healthy = !shared.healthy; } };
    const reader: Check = { name: "reader", check: () => { if (!shared.healthy) throw new ServiceUnavailable("saw unhealthy"); } };
    const sequential = quietConfig({ subsets: { s: [flipper, reader] }, cacheTtlMs: 0, sequential: true });
    for (let run = 0; run < 4; run++) {
      const report = await runHealthChecks(sequential, "s");
      const expected = run % 2 === 0 ? ["fail", "unavailable: saw unhealthy"] : ["pass", ""];
      assert.deepEqual([report.checks[1]!.status, report.checks[1]!.output], expected, `run ${run}`);
      assert.equal(report.checks[0]!.status, "pass");
      assert.equal(report.status, derived(report));
    }
  });

  it("parallel: a result object mutated after it was returned, and a name and critical flag changed mid-run, leave the report as it was", async () => {
    const result = { output: "v1", observedValue: 1, observedUnit: "widgets" };
    const producer: Check = { name: "producer", check: async () => result };
    const victim: Check = { name: "victim", critical: true, check: async () => { await sleep(30); throw new ServiceUnavailable("victim down"); } };
    const vandal: Check = {
      name: "vandal",
      async check() {
        await sleep(10);
        result.output = "v2";
        result.observedValue = 2;
        victim.critical = false;
        producer.name = "renamed";
        await sleep(40);
      },
    };
    const parallel = quietConfig({ subsets: { s: [producer, victim, vandal] }, cacheTtlMs: 0 });
    const report = await runHealthChecks(parallel, "s");
    assert.deepEqual(
      report.checks.map((check) => [check.name, check.status, check.critical, check.output, check.observedValue]),
      [
        ["producer", "pass", true, "v1", 1],
        ["victim", "fail", true, "unavailable: victim down", report.checks[1]!.durationMs],
        ["vandal", "pass", true, "", report.checks[2]!.durationMs],
      ],
    );
    assert.equal(report.status, "fail");
    assert.equal(report.status, derived(report));
    // The next run sees the mutations, and is consistent with them.
    const next = await runHealthChecks(parallel, "s");
    assert.deepEqual(next.checks.map((check) => [check.name, check.critical]), [["renamed", true], ["victim", false], ["vandal", true]]);
    assert.equal(next.status, "warn");
    assert.equal(next.status, derived(next));
  });

  it("a check that mutates what it returned after the response changes neither the served body nor the cached one", async () => {
    const result = { output: "before" };
    const mutating: Check = { name: "m", check: () => { setTimeout(() => { result.output = "after"; }, 5); return result; } };
    const cached = quietConfig({ subsets: { s: [mutating] }, cacheTtlMs: 60_000 });
    for (const adapter of ADAPTERS) {
      const first = await (await adapter.serve(cached, "/healthcheck/s?format=json")).json();
      await sleep(20);
      const second = await (await adapter.serve(cached, "/healthcheck/s?format=json")).json();
      assert.equal(first.checks.m[0].output, "before", adapter.name);
      assert.equal(second.checks.m[0].output, "before", `${adapter.name}: the cached report is a snapshot`);
    }
  });
});
