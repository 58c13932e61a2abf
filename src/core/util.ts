/**
 * Small helpers shared by the config, the runner and the CLI. Kept apart from
 * config.ts so that running checks never loads zod.
 */

/** Brands what `defineHealthConfig` returns; `Symbol.for`, so two copies of probekit agree. */
export const HEALTH_CONFIG: unique symbol = Symbol.for("probekit.health-config") as never;

/** True when `value` came from `defineHealthConfig` (of this or any other copy of probekit). */
export function isHealthConfig(value: unknown): value is import("./config.js").HealthConfig {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[HEALTH_CONFIG] === true;
}

/** A path a handler is served at: starts with /, no spaces, query or fragment (livenessPath, metricsPath). */
export const SERVED_PATH = /^\/[^\s?#]*$/;

/** setTimeout overflows above 2^31-1 ms and fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * The timeout a check runs with: its own when usable (a whole number of ms a timer can
 * hold), else the config's. A config loaded without the option schema (a cached CLI
 * bundle under --skip-checks) can carry NaN, 0 or a string here.
 */
export function checkTimeoutMs(own: unknown, defaultMs: number): number {
  return typeof own === "number" && Number.isInteger(own) && own > 0 && own <= MAX_TIMER_MS ? own : defaultMs;
}

let isoAt = Number.NaN;
let iso = "";
/**
 * The current time in ISO 8601, as `new Date().toISOString()` gives it, made once per
 * millisecond: every run stamps its report, and a Date's toISOString costs more than
 * a run of three cheap checks (~0.6 µs, and ~0.5 ms the first time in a process,
 * which a cold start pays).
 */
export function isoNow(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    iso = isoTime(now);
  }
  return iso;
}

const DAY_MS = 86_400_000;
const LAST_4_DIGIT_YEAR_MS = 253_402_300_800_000; // 10000-01-01T00:00:00.000Z
const pad2 = (value: number) => (value < 10 ? "0" : "") + value;

/**
 * `new Date(ms).toISOString()` for the years 1970–9999, from the calendar arithmetic
 * of H. Hinnant's `civil_from_days` (https://howardhinnant.github.io/date_algorithms.html);
 * any other time is left to Date.
 */
export function isoTime(ms: number): string {
  if (!(Number.isInteger(ms) && ms >= 0 && ms < LAST_4_DIGIT_YEAR_MS)) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const shifted = days + 719_468; // days from 0000-03-01
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${year}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}

/** A short, safe description of any value for diagnostics. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object without a name and a check() function";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === "undefined" ? "undefined" : `a ${typeof value}`;
}

/** The text of anything thrown, with its chain of causes, without ever throwing itself. */
export function errorText(error: unknown, depth = 0): string {
  try {
    if (error instanceof Error) {
      const text = error.message ? `${error.name}: ${error.message}` : error.name;
      const code = (error as { code?: unknown }).code;
      const withCode = typeof code === "string" && !text.includes(code) ? `${text} [${code}]` : text;
      // fetch hides ECONNREFUSED behind "fetch failed"; drivers wrap too.
      return error.cause !== undefined && depth < 4 ? `${withCode} <- ${errorText(error.cause, depth + 1)}` : withCode;
    }
    if (typeof error === "string") return error;
    if (typeof error === "object" && error !== null) {
      const json = JSON.stringify(error);
      if (json !== undefined && json !== "{}") return json;
    }
    return String(error);
  } catch {
    return `a thrown ${typeof error} that cannot be printed`;
  }
}

/**
 * The timeout a check hands its driver (connect timeout, request signal): below
 * its own, so the driver's failure says what timed out before the runner's does.
 */
export function driverTimeoutMs(checkTimeoutMs: number): number {
  return Math.max(100, Math.round(checkTimeoutMs * 0.8));
}

/**
 * A connection URL's query arguments, parsed once, handed to `edit` to read and to take
 * out what the driver would misread (another tool's arguments): the URL as `edit` left
 * it, as given when `edit` changed nothing, and what `edit` returned. A URL with no
 * query, or no URL at all (the driver then says what is wrong with it), is not edited.
 */
export function editSearchParams<T>(url: string, edit: (params: URLSearchParams) => T): { url: string; read: T | undefined } {
  if (!url.includes("?") || !URL.canParse(url)) return { url, read: undefined };
  const parsed = new URL(url);
  const before = parsed.searchParams.toString();
  const read = edit(parsed.searchParams);
  return { url: parsed.searchParams.toString() === before ? url : parsed.toString(), read };
}

/** A duration as people read it: `4.2 ms`, `310 ms`, `3.00 s`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** What {@link withDeadline} resolves with when the deadline came first. */
export const LATE: unique symbol = Symbol("probekit.late");

/**
 * The one timer race: settles as `work` does, or resolves with {@link LATE} once `ms`
 * have passed first (then calls `onLate`, after the race is settled, so whatever
 * `onLate` sets off in `work` can never win it). The timer is cleared either way, and
 * made only if `work` is still pending a microtask later: an async check that did its
 * work before its first await (a read of /proc, a cached answer) needs none.
 */
export function withDeadline<T>(work: PromiseLike<T>, ms: number, onLate?: () => void): Promise<T | typeof LATE> {
  return new Promise<T | typeof LATE>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const settle = () => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
    };
    work.then(
      (value) => {
        if (settled) return;
        settle();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settle();
        reject(error);
      },
    );
    // A settled native promise runs its reactions before this microtask.
    queueMicrotask(() => {
      if (settled) return;
      timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        resolve(LATE);
        onLate?.();
      }, ms);
    });
  });
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts; leaves no listener behind. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * An environment variable, read when called (never at import). `process` may not
 * exist (Workers) or may be filled in later; an empty value counts as unset.
 */
export function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.[name] || undefined;
}

/**
 * Checks a list of subset names given to a metrics route, a refresh or an OpenTelemetry
 * registration when it is created: a typo must fail then, not serve nothing forever.
 */
export function subsetList(config: import("./config.js").HealthConfig, subsets: unknown, who: string): readonly string[] {
  if (!isHealthConfig(config)) throw new TypeError(`${who}: expected the config from defineHealthConfig, got ${describe(config)}`);
  const known = Object.keys(config.subsets);
  if (!Array.isArray(subsets) || subsets.length === 0) {
    throw new TypeError(`${who}: name the subsets to serve, e.g. { subsets: [${known.map((name) => JSON.stringify(name)).join(", ")}] }`);
  }
  const seen = new Set<string>();
  for (const subset of subsets) {
    if (typeof subset !== "string" || !Object.hasOwn(config.subsets, subset)) {
      throw new TypeError(`${who}: unknown subset ${typeof subset === "string" ? JSON.stringify(subset.slice(0, 64)) : describe(subset)}; known subsets: ${known.join(", ")}`);
    }
    if (seen.has(subset)) throw new TypeError(`${who}: subset ${JSON.stringify(subset)} is listed twice`);
    seen.add(subset);
  }
  return Object.freeze([...seen]);
}
