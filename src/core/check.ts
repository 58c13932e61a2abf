/**
 * The check model: a check is a plain object with a name and a `check` function
 * that resolves when the service is healthy and throws when it is not. Results
 * belong to the runner, never to the check, so one check object serves any number
 * of concurrent runs.
 */

/** What the runner hands to every check. */
export interface CheckContext {
  /**
   * Aborts when the check's timeout elapses: pass it to fetch, drivers, timers. Made
   * when first read (a getter): destructure it or read it from the context; a spread
   * copy of the context does not carry it.
   */
  signal: AbortSignal;
  /** The check's timeout in milliseconds (its own `timeoutMs`, else the config's), e.g. to set a driver's connect timeout below it. */
  timeoutMs: number;
}

/** What a healthy check may report about itself. */
export interface CheckResult {
  /** A measurement of the check's own (for example a round-trip time). Defaults to the check's duration. */
  observedValue?: number | string | boolean;
  /** Unit of `observedValue` (`"ms"`, `"percent"`, …). */
  observedUnit?: string;
  /** A short public message shown next to a passing check. */
  output?: string;
}

/** One health check. Build it with {@link defineCheck} or write the object by hand. */
export interface Check {
  /** Unique within a subset; the key of the check in every report. */
  name: string;
  /**
   * A failure of a non-critical check shows in the report but never fails the probe.
   * @default true
   */
  critical?: boolean;
  /** Overrides the config's `timeoutMs` for this check. */
  timeoutMs?: number;
  /** The draft-inadarei-api-health-check `componentType` (`"datastore"`, `"system"`, …). */
  componentType?: string;
  /** Resolves when healthy; throws a `HealthCheckError` (or anything) when not. */
  check(context: CheckContext): CheckResult | void | Promise<CheckResult | void>;
  /** Releases what the check owns (a pool it opened); called by `closeHealthChecks` on shutdown. */
  close?(): void | Promise<void>;
}

/** Options every built-in check takes besides its own. */
export interface CommonCheckOptions {
  /** The check's name in reports; each built-in has a sensible default. */
  name?: string;
  /**
   * A failure shows in the report but never fails the probe when false.
   * @default true
   */
  critical?: boolean;
  /** Overrides the config's `timeoutMs` for this check. */
  timeoutMs?: number;
}

/** The check a built-in returns: its common options applied over its defaults. */
export function builtinCheck(options: CommonCheckOptions, defaults: { name: string; componentType: string }, check: Check["check"], close?: Check["close"]): Check {
  const built: Check = { name: options.name ?? defaults.name, critical: options.critical, timeoutMs: options.timeoutMs, componentType: defaults.componentType, check };
  if (close !== undefined) built.close = close;
  return built;
}

/** A factory is called afresh on every run, so a check that keeps state starts clean each time. */
export type CheckFactory = () => Check;

/** What a subset lists: checks, or factories of checks. */
export type SubsetEntry = Check | CheckFactory;

/**
 * Builds a check. It only returns the object it is given, typed; it exists so
 * editors can check and complete the fields.
 *
 * @example
 * const api = defineCheck({
 *   name: "payments-api",
 *   timeoutMs: 2000,
 *   async check({ signal }) {
 *     const res = await fetch("https://payments.internal/health", { signal });
 *     if (!res.ok) throw new ServiceUnavailable(`status ${res.status}`);
 *   },
 * });
 */
export function defineCheck<T extends Check>(check: T): T {
  return check;
}

/** True when `value` has the shape of a {@link Check}. */
export function isCheck(value: unknown): value is Check {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<Check>;
  return typeof candidate.name === "string" && candidate.name.trim() !== "" && typeof candidate.check === "function";
}
