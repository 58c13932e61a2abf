/**
 * The runner: runs one subset's checks with a timeout each, turns every outcome
 * (resolve, throw, reject, hang, garbage) into data, and shares one in-flight run
 * between concurrent callers, reusing a finished report for `cacheTtlMs`.
 */
import { isCheck, type Check, type CheckContext, type CheckResult, type SubsetEntry } from "./check.js";
import type { HealthConfig, HealthLogger, StatusChangeEvent } from "./config.js";
import { isHealthCheckError, ServiceReturnedUnexpectedResult, ServiceUnavailable, UnknownSubsetError, type HealthCheckError } from "./errors.js";
import { stopHealthRefreshes } from "./refresh-registry.js";
import { abortable, checkTimeoutMs, errorText, isoNow, LATE, withDeadline } from "./util.js";

/** Status of one check or of a whole subset, as in draft-inadarei-api-health-check. */
export type HealthStatus = "pass" | "warn" | "fail";

/** The outcome of one check in one run. */
export interface CheckReport {
  name: string;
  status: HealthStatus;
  critical: boolean;
  componentType: string | undefined;
  /** Safe to show anyone: author-written messages, or `unavailable: unexpected error`. */
  output: string;
  /** Full detail (raw error text and cause), for logs, the CLI and authorized requests. */
  detail: string;
  /** What was thrown, if anything. */
  error: unknown;
  /** The check's own measurement, or its duration in ms. */
  observedValue: number | string | boolean;
  observedUnit: string;
  durationMs: number;
  /** The timeout the check ran under, in ms (its own, else the config's). */
  timeoutMs: number;
  /** When the check started (ISO 8601). */
  time: string;
}

/** The outcome of running one subset. */
export interface HealthReport {
  subset: string;
  /** `fail` fails the probe; `warn` is a pass with something to look at. */
  status: HealthStatus;
  /** Checks in the order the subset lists them. */
  checks: CheckReport[];
  /** When the run started (ISO 8601). */
  time: string;
  durationMs: number;
}

export interface RunOptions {
  /** Stops waiting for the report (the shared run itself goes on, bounded by its timeouts). */
  signal?: AbortSignal;
}

/** How many times a check has run in this process, by outcome. */
export type RunCounts = Record<HealthStatus, number>;

interface CheckHistory extends RunCounts {
  last: HealthStatus | undefined;
}

interface SubsetState {
  running: Promise<HealthReport> | undefined;
  report: HealthReport | undefined;
  expiresAt: number;
  /** When `report` was finished (Date.now()). */
  finishedAt: number;
  /**
   * Check name → runs so far by status (runs, not answers: a cached answer counts
   * nothing) and the status of its previous run, for onStatusChange.
   */
  runs: Map<string, CheckHistory>;
  /** The subset's status after the previous run. */
  lastStatus: HealthStatus | undefined;
  /** Intervals of the background refreshes running this subset (startHealthRefresh). */
  refreshIntervals: number[];
  /** The subset's plan, when it is the same every run: checks only (no factory), names unique. */
  plan: PlannedCheck[] | undefined;
}

/**
 * Per config, per subset: kept on `globalThis` under a registry symbol (as the drain
 * flag is), so every copy of probekit a bundler made (a route module, instrumentation.ts)
 * shares one cache, one set of counters and one refresh for the same config object.
 */
const STATES = Symbol.for("probekit.runner-states.v1");
const states: WeakMap<HealthConfig, Map<string, SubsetState>> = ((globalThis as { [STATES]?: WeakMap<HealthConfig, Map<string, SubsetState>> })[STATES] ??= new WeakMap());

/**
 * Runs the named subset and resolves with its report; never rejects because of a
 * check. Rejects with {@link UnknownSubsetError} for a subset the config lacks.
 *
 * @example
 * const report = await runHealthChecks(config, "readiness");
 * if (report.status === "fail") process.exitCode = 1;
 */
export function runHealthChecks(config: HealthConfig, subset: string, options: RunOptions = {}): Promise<HealthReport> {
  if (!Object.hasOwn(config.subsets, subset)) {
    return Promise.reject(new UnknownSubsetError(subset, Object.keys(config.subsets)));
  }
  if (options.signal?.aborted) return Promise.reject(options.signal.reason);
  const state = subsetState(config, subset);
  if (servable(state, Date.now())) return Promise.resolve(state.report!);
  const running = startRun(config, subset, state);
  return options.signal ? abortable(running, options.signal) : running;
}

/**
 * The run in flight for the subset, or a new one, whatever the cache holds: what a
 * background refresh and a stale answer's follow-up call.
 */
export function refreshSubset(config: HealthConfig, subset: string): Promise<HealthReport> {
  return startRun(config, subset, subsetState(config, subset));
}

function startRun(config: HealthConfig, subset: string, state: SubsetState): Promise<HealthReport> {
  if (state.running === undefined) {
    state.running = executeSubset(config, subset, state).then(
      (report) => {
        state.running = undefined;
        state.report = report;
        state.finishedAt = Date.now();
        state.expiresAt = state.finishedAt + config.options.cacheTtlMs;
        recordRun(config, state, report);
        return report;
      },
      (error: unknown) => {
        state.running = undefined;
        throw error;
      },
    );
  }
  return state.running;
}

/**
 * A report may be answered without a run while the cache holds it, or, while a
 * background refresh runs the subset, for two of its intervals — two of its runs
 * when a run takes longer than the interval, since the next report comes an interval
 * plus a run after this one. Past that the refresh is stuck, and the probe runs the
 * checks as it would without one.
 */
function servable(state: SubsetState, now: number): boolean {
  if (state.report === undefined) return false;
  if (now < state.expiresAt) return true;
  if (state.refreshIntervals.length === 0) return false;
  const interval = Math.max(Math.min(...state.refreshIntervals), state.report.durationMs);
  return now - state.finishedAt < 2 * interval;
}

/** The subset's report while it may be answered without a run (the adapters' hot path). */
export function freshReport(config: HealthConfig, subset: string): HealthReport | undefined {
  const state = states.get(config)?.get(subset);
  return state !== undefined && servable(state, Date.now()) ? state.report : undefined;
}

/** The subset's latest report if it finished less than `maxAgeMs` ago, fresh or not. */
export function latestReport(config: HealthConfig, subset: string, maxAgeMs: number): HealthReport | undefined {
  const state = states.get(config)?.get(subset);
  return state?.report !== undefined && Date.now() - state.finishedAt < maxAgeMs ? state.report : undefined;
}

/**
 * The latest report of each subset that has one, however old: what a scrape or a
 * collection answers during the drain, when nothing may run.
 */
export function latestReports(config: HealthConfig, subsets: readonly string[]): HealthReport[] {
  return subsets.map((subset) => latestReport(config, subset, Number.POSITIVE_INFINITY)).filter((report) => report !== undefined);
}

/** Runs per check of the subset since the process started (an empty map before the first run). */
export function runCounts(config: HealthConfig, subset: string): ReadonlyMap<string, Readonly<RunCounts>> {
  return states.get(config)?.get(subset)?.runs ?? NO_RUNS;
}

const NO_RUNS: ReadonlyMap<string, CheckHistory> = new Map();

/** Registers a background refresh's interval for the subset; the returned function removes it. */
export function addRefreshInterval(config: HealthConfig, subset: string, intervalMs: number): () => void {
  const intervals = subsetState(config, subset).refreshIntervals;
  intervals.push(intervalMs);
  return () => {
    const at = intervals.indexOf(intervalMs);
    if (at !== -1) intervals.splice(at, 1);
  };
}

function subsetState(config: HealthConfig, subset: string): SubsetState {
  let bySubset = states.get(config);
  if (bySubset === undefined) states.set(config, (bySubset = new Map()));
  let state = bySubset.get(subset);
  if (state === undefined) {
    state = { running: undefined, report: undefined, expiresAt: 0, finishedAt: 0, runs: new Map(), lastStatus: undefined, refreshIntervals: [], plan: undefined };
    bySubset.set(subset, state);
  }
  return state;
}

/** Counts the run, and tells `onStatusChange` what changed since the previous one. */
function recordRun(config: HealthConfig, state: SubsetState, report: HealthReport): void {
  const listener = config.options.onStatusChange;
  let events: StatusChangeEvent[] | undefined;
  // Stamped only when something changed (most runs change nothing), once for all the run's events.
  let changedAt: string | undefined;
  const at = () => (changedAt ??= isoNow());
  for (const check of report.checks) {
    let history = state.runs.get(check.name);
    if (history === undefined) state.runs.set(check.name, (history = { pass: 0, warn: 0, fail: 0, last: undefined }));
    history[check.status]++;
    const from = history.last;
    if (from === check.status) continue;
    history.last = check.status;
    if (listener !== undefined) (events ??= []).push({ subset: report.subset, check: check.name, from, to: check.status, output: check.output, at: at() });
  }
  const from = state.lastStatus;
  if (from !== report.status) {
    state.lastStatus = report.status;
    if (listener !== undefined) (events ??= []).push({ subset: report.subset, from, to: report.status, output: subsetOutput(report), at: at() });
  }
  // A check that is gone (a factory that names its check afresh each run) takes its history along.
  if (state.runs.size > report.checks.length) forgetOthers(state, report);
  if (events !== undefined) for (const event of events) notify(listener!, event, config.options.logger);
}

function forgetOthers(state: SubsetState, report: HealthReport): void {
  const current = new Set(report.checks.map((check) => check.name));
  for (const name of state.runs.keys()) if (!current.has(name)) state.runs.delete(name);
}

/** A subset's public message: what its failing or warning checks say. */
function subsetOutput(report: HealthReport): string {
  return report.checks
    .filter((check) => check.status !== "pass")
    .map((check) => `${check.name}: ${check.output}`)
    .join("; ");
}

/** Calls a listener without awaiting it; what it throws or rejects with is logged, never raised. */
function notify(listener: (event: StatusChangeEvent) => unknown, event: StatusChangeEvent, logger: HealthLogger | false | undefined): void {
  const report = (error: unknown) => {
    if (logger === false) return;
    try {
      (logger ?? console).error(`probekit: onStatusChange failed for ${event.subset}${event.check === undefined ? "" : `/${event.check}`}: ${errorText(error)}`, error);
    } catch {
      // A broken logger must not break the run either.
    }
  };
  try {
    const returned = listener(event);
    if (isThenable(returned)) returned.then(undefined, report);
  } catch (error) {
    report(error);
  }
}

async function executeSubset(config: HealthConfig, subset: string, state: SubsetState): Promise<HealthReport> {
  // Checks start after the caller has registered this run: a check that probes its own
  // subset joins the run instead of starting another, recursively.
  await undefined;
  const time = isoNow();
  const started = performance.now();
  const planned = state.plan ?? planFor(config, subset, state);
  const defaults = config.options;
  let checks: CheckReport[];
  if (defaults.sequential) {
    checks = [];
    for (const item of planned) checks.push(await runPlanned(item, defaults.timeoutMs, isoNow()));
  } else {
    // Started together: one timestamp for all. Synchronous checks are done already;
    // only a subset with a pending check waits.
    const outcomes = planned.map((item) => runPlanned(item, defaults.timeoutMs, time));
    checks = outcomes.some((outcome) => outcome instanceof Promise) ? await Promise.all(outcomes) : (outcomes as CheckReport[]);
  }
  const report: HealthReport = {
    subset,
    status: overallStatus(checks, defaults.warningsAsErrors),
    checks,
    time,
    durationMs: elapsed(started),
  };
  logFailures(report, defaults.logger);
  return report;
}

type PlannedCheck = { check: Check; fromFactory: boolean } | { failure: CheckReport };

/**
 * The subset's plan for this run. A config's subsets are frozen, so a plan of checks
 * alone (no factory to call, no duplicate to report) is kept for every later run.
 */
function planFor(config: HealthConfig, subset: string, state: SubsetState): PlannedCheck[] {
  const entries = config.subsets[subset]!;
  const planned = planChecks(entries, config.options.timeoutMs);
  if (Object.isFrozen(entries) && planned.every((item) => "check" in item && !item.fromFactory)) state.plan = planned;
  return planned;
}

/** Calls factories and rejects duplicate names before anything runs. */
function planChecks(entries: readonly SubsetEntry[], timeoutMs: number): PlannedCheck[] {
  const names = new Set<string>();
  // A stand-in name (a broken factory's) never takes the name of a check listed later.
  // Only made when a stand-in is needed: most runs need none.
  let listed: Set<string> | undefined;
  const uniqueName = (name: string, index: number) => {
    listed ??= new Set(entries.filter((entry) => typeof entry !== "function").map((entry) => (entry as Check).name));
    let unique = names.has(name) || listed.has(name) ? `${name} (${index})` : name;
    while (names.has(unique) || listed.has(unique)) unique = `${unique} (${index})`;
    names.add(unique);
    return unique;
  };
  return entries.map((entry, index): PlannedCheck => {
    let check: unknown = entry;
    if (typeof entry === "function") {
      const fallbackName = entry.name || `entry ${index}`;
      try {
        check = entry();
      } catch (error) {
        return { failure: configFailure(uniqueName(fallbackName, index), `E005 factory threw: ${errorText(error)}`, error, timeoutMs) };
      }
      if (!isCheck(check)) return { failure: configFailure(uniqueName(fallbackName, index), "E005 factory did not return a check", undefined, timeoutMs) };
    }
    const { name } = check as Check;
    if (names.has(name)) {
      return { failure: configFailure(uniqueName(name, index), `E006 duplicate check name ${JSON.stringify(name)}`, undefined, timeoutMs) };
    }
    names.add(name);
    return { check: check as Check, fromFactory: typeof entry === "function" };
  });
}

// Stand-in names are unique within the run: reports, the metrics' series and the status
// events are keyed by name, so one must not collide with a real check's.
function configFailure(name: string, detail: string, error: unknown, timeoutMs: number): CheckReport {
  return {
    name,
    status: "fail",
    critical: true,
    componentType: undefined,
    output: "unavailable: unexpected error",
    detail: `unavailable: invalid check: ${detail}`,
    error,
    observedValue: 0,
    observedUnit: "ms",
    durationMs: 0,
    timeoutMs,
    time: isoNow(),
  };
}

function runPlanned(item: PlannedCheck, defaultTimeoutMs: number, time: string): CheckReport | Promise<CheckReport> {
  if ("failure" in item) return item.failure;
  const outcome = runCheck(item.check, defaultTimeoutMs, time);
  if (!item.fromFactory || typeof item.check.close !== "function") return outcome;
  // A check made afresh for this run is used once: release what it opened (without delaying the report).
  const close = () => void Promise.resolve().then(() => item.check.close!()).catch(() => {});
  if (!(outcome instanceof Promise)) {
    close();
    return outcome;
  }
  return outcome.finally(close);
}

/**
 * Runs one check. A check that answers synchronously is done at once, with no
 * timer (it cannot overrun a timeout it has already returned within); one that
 * returns a promise races its timeout.
 */
function runCheck(check: Check, defaultTimeoutMs: number, time: string): CheckReport | Promise<CheckReport> {
  const started = performance.now();
  // A factory's check is not validated up front: a nonsense timeout falls back to the default.
  const timeoutMs = checkTimeoutMs(check.timeoutMs, defaultTimeoutMs);
  const context = new RunContext(timeoutMs);
  const base = { name: check.name, critical: check.critical !== false, componentType: check.componentType, timeoutMs, time };
  let returned: unknown;
  try {
    returned = check.check(context);
    if (!isThenable(returned)) return passedReport(base, returned, started);
  } catch (error) {
    // A synchronous throw, or a returned value whose `then` cannot even be read.
    return failedReport(base, error, started);
  }

  // What the check spent before returning its promise counts against its timeout.
  const remainingMs = Math.max(0, timeoutMs - elapsed(started));
  // The race is settled before the abort, so the check's own reaction to it never wins.
  return withDeadline(returned as PromiseLike<unknown>, remainingMs, () => context.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError"))).then(
    (result) => (result === LATE ? failedReport(base, new ServiceUnavailable(`timed out after ${timeoutMs} ms`), started) : passedReport(base, result, started)),
    (error: unknown) => failedReport(base, error, started),
  );
}

/**
 * What a check is handed. The signal is made when the check first reads it: most
 * checks never do, and an AbortController per check per run is a measurable share
 * of a cheap probe. A class, not an object literal with a getter: V8 builds a
 * literal's accessor afresh each time (~0.5 µs, more than the run of a no-op check).
 * The getter is the prototype's: `const { signal } = context` reads it, a spread
 * copy of the context does not carry it.
 */
class RunContext implements CheckContext {
  #controller: AbortController | undefined;
  #reason: DOMException | undefined;

  constructor(readonly timeoutMs: number) {}

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: DOMException): void {
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

type ReportBase = Pick<CheckReport, "name" | "critical" | "componentType" | "timeoutMs" | "time">;

// Reports are built field by field in one order: object spreads here cost more than a no-op check.
function passedReport(base: ReportBase, result: unknown, started: number): CheckReport {
  try {
    const durationMs = elapsed(started);
    const { status, output, detail } = passedResult(result);
    const { observedValue, observedUnit } = measurement(result, durationMs);
    return checkReport(base, status, output, detail, undefined, observedValue, observedUnit, durationMs);
  } catch (error) {
    return failedReport(base, error, started);
  }
}

function failedReport(base: ReportBase, error: unknown, started: number): CheckReport {
  const durationMs = elapsed(started);
  const { status, output, detail } = failedResult(error);
  return checkReport(base, status, output, detail, error, durationMs, "ms", durationMs);
}

function checkReport(
  base: ReportBase,
  status: HealthStatus,
  output: string,
  detail: string,
  error: unknown,
  observedValue: CheckReport["observedValue"],
  observedUnit: string,
  durationMs: number,
): CheckReport {
  return {
    name: base.name,
    status,
    critical: base.critical,
    componentType: base.componentType,
    output,
    detail,
    error,
    observedValue,
    observedUnit,
    durationMs,
    timeoutMs: base.timeoutMs,
    time: base.time,
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** A check resolves with nothing, `true` or a {@link CheckResult}; anything else is a bug in the check. */
function passedResult(result: unknown): Pick<CheckReport, "status" | "output" | "detail"> {
  if (result === undefined || result === null || result === true) return { status: "pass", output: "", detail: "" };
  if (typeof result === "object" && !Array.isArray(result)) {
    const output = (result as CheckResult).output;
    const text = typeof output === "string" ? output : "";
    return { status: "pass", output: text, detail: text };
  }
  const what = result === false ? "false" : Array.isArray(result) ? "an array" : `a ${typeof result}`;
  throw new ServiceReturnedUnexpectedResult(`check returned ${what}`);
}

function measurement(result: unknown, durationMs: number): Pick<CheckReport, "observedValue" | "observedUnit"> {
  const { observedValue, observedUnit } = (result ?? {}) as CheckResult;
  const valid =
    (typeof observedValue === "number" && Number.isFinite(observedValue)) || typeof observedValue === "string" || typeof observedValue === "boolean";
  if (!valid) return { observedValue: durationMs, observedUnit: "ms" };
  return { observedValue, observedUnit: typeof observedUnit === "string" ? observedUnit : "" };
}

function failedResult(error: unknown): Pick<CheckReport, "status" | "output" | "detail"> {
  const unexpected = () => ({ status: "fail" as const, output: "unavailable: unexpected error", detail: `unavailable: unexpected error: ${errorText(error)}` });
  if (!isHealthCheckError(error)) return unexpected();
  // A thrown value can have getters that throw: reading it must not lose the report.
  let kind: HealthCheckError["kind"];
  let output: string;
  try {
    kind = error.kind;
    output = `${kind}: ${String(error.message)}`;
  } catch {
    return unexpected();
  }
  let cause: string;
  try {
    cause = error.cause === undefined ? "" : ` (cause: ${errorText(error.cause)})`;
  } catch {
    cause = " (cause: unreadable)";
  }
  return { status: kind === "warning" ? "warn" : "fail", output, detail: output + cause };
}

function overallStatus(checks: readonly CheckReport[], warningsAsErrors: boolean): HealthStatus {
  let status: HealthStatus = "pass";
  for (const check of checks) {
    if (check.status === "pass") continue;
    if (check.critical && (check.status === "fail" || warningsAsErrors)) return "fail";
    status = "warn";
  }
  return status;
}

function logFailures(report: HealthReport, logger: HealthLogger | false | undefined): void {
  if (logger === false) return;
  const sink = logger ?? console;
  for (const check of report.checks) {
    if (check.status === "pass") continue;
    const message = `probekit: ${report.subset}/${check.name} ${check.status}${check.critical ? "" : " (non-critical)"}: ${check.detail}`;
    try {
      if (check.status === "warn" && sink.warn) sink.warn(message);
      else if (check.error === undefined) sink.error(message);
      else sink.error(message, check.error);
    } catch {
      // A broken logger must not break the probe.
    }
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}


/**
 * Closes every check of the config that owns something (a pool or client it opened
 * from a URL), once each, so a shutting-down process ends cleanly. Failures are
 * ignored: there is nothing left to report them to.
 *
 * @example
 * process.on("SIGTERM", async () => { await closeHealthChecks(config); process.exit(0); });
 */
export async function closeHealthChecks(config: HealthConfig): Promise<void> {
  stopHealthRefreshes(config);
  const checks = new Set<Check>();
  for (const entries of Object.values(config.subsets)) {
    for (const entry of entries) if (typeof entry !== "function" && typeof entry.close === "function") checks.add(entry);
  }
  await Promise.all([...checks].map((check) => Promise.resolve().then(() => check.close!()).catch(() => {})));
}
