/**
 * `defineHealthConfig`: validates subsets and options once, when the module that
 * declares them is evaluated, and reports every problem with a diagnostic code
 * (E001–E007). It does no I/O and reads no environment, so `next build` can
 * evaluate route modules with no service up.
 */
import { loadZod } from "./lazy-zod.js";
import type { core, ZodMiniType } from "./zod.js";
import { isCheck, type Check, type SubsetEntry } from "./check.js";
import { HealthConfigError, type HealthConfigIssue } from "./errors.js";
import type { HealthStatus } from "./runner.js";
import { describe, errorText, HEALTH_CONFIG, isHealthConfig, MAX_TIMER_MS, SERVED_PATH } from "./util.js";

export { isHealthConfig };

/** Where failed checks are logged, with full detail. `console` fits. */
export interface HealthLogger {
  error(message: string, ...details: unknown[]): void;
  warn?(message: string, ...details: unknown[]): void;
}

/** Options shared by every subset of a config. All are optional. */
export interface HealthOptions {
  /**
   * A `ServiceWarning` fails the probe.
   * @default true
   */
  warningsAsErrors?: boolean;
  /**
   * Per-check timeout in milliseconds; a check's own `timeoutMs` wins.
   * @default 3000
   */
  timeoutMs?: number;
  /**
   * Run a subset's checks one after another instead of all at once.
   * @default false
   */
  sequential?: boolean;
  /**
   * How long a finished report is reused, in milliseconds (0: never). Concurrent
   * requests for one subset always share a single in-flight run.
   * @default 1000
   */
  cacheTtlMs?: number;
  /**
   * HTTP status of a failing subset (400–599).
   * @default 500
   */
  failureStatus?: number;
  /**
   * The path the liveness short-circuit answers.
   * @default "/healthcheck/liveness"
   */
  livenessPath?: string;
  /**
   * `Authorization: Bearer <token>` unlocks raw error detail in responses.
   * @default process.env.HEALTH_CHECK_TOKEN, read per request
   */
  token?: string;
  /**
   * Where failed checks are logged with full detail; `false` silences it.
   * @default console
   */
  logger?: HealthLogger | false;
  /**
   * Called, without being awaited, when a check's or a subset's status differs from
   * its previous run in this process (`from` is undefined on the first run). What it
   * throws or rejects with is logged, never raised into a run or a probe.
   *
   * @example
   * onStatusChange: (event) => console.info("probekit", JSON.stringify(event)),
   */
  onStatusChange?: (event: StatusChangeEvent) => unknown;
}

/** What `onStatusChange` receives. */
export interface StatusChangeEvent {
  subset: string;
  /** The check whose status changed; absent for the subset's own status. */
  check?: string;
  /** The previous status, or undefined on the first run in this process. */
  from: HealthStatus | undefined;
  to: HealthStatus;
  /** The safe public message (for a subset: what its failing checks say), never raw error text. */
  output: string;
  /** When the change was seen (ISO 8601). */
  at: string;
}

/** Named subsets: the only thing a probe can run. */
export type Subsets = Record<string, readonly SubsetEntry[]>;

/** What `defineHealthConfig` takes. */
export interface HealthConfigInput extends HealthOptions {
  subsets: Subsets;
}

/** Options with their defaults applied. */
export interface ResolvedHealthOptions {
  warningsAsErrors: boolean;
  timeoutMs: number;
  sequential: boolean;
  cacheTtlMs: number;
  failureStatus: number;
  livenessPath: string;
  token: string | undefined;
  logger: HealthLogger | false | undefined;
  onStatusChange: ((event: StatusChangeEvent) => unknown) | undefined;
}

/** A validated config, as `defineHealthConfig` returns it. */
export interface HealthConfig {
  readonly subsets: Readonly<Record<string, readonly SubsetEntry[]>>;
  readonly options: Readonly<ResolvedHealthOptions>;
  readonly [HEALTH_CONFIG]: true;
}

export const DEFAULT_OPTIONS = {
  warningsAsErrors: true,
  timeoutMs: 3000,
  sequential: false,
  cacheTtlMs: 1000,
  failureStatus: 500,
  livenessPath: "/healthcheck/liveness",
} as const;

/**
 * Each validated field has a fast test that every well-formed value passes (the
 * `…_ACCEPTS` tables) and a zod/mini schema, with our own messages, that explains a
 * value the test refuses (`fieldSchemas`). zod runs only when a test fails, so a
 * valid config costs a cold start no schema building or parsing (~3 ms).
 * test/unit/config-rules.test.ts holds each test to its schema's verdict.
 */
type Accepts = (value: unknown) => boolean;
const isFlag: Accepts = (value) => typeof value === "boolean";
const isText: Accepts = (value) => typeof value === "string";
const isMilliseconds =
  (least: 0 | 1): Accepts =>
  (value) =>
    Number.isInteger(value) && (value as number) >= least && (value as number) <= MAX_TIMER_MS;

/** The options of a config (a strict object: an unknown key is an error). */
export const OPTION_ACCEPTS: Readonly<Record<keyof HealthOptions, Accepts>> = {
  warningsAsErrors: isFlag,
  timeoutMs: isMilliseconds(1),
  sequential: isFlag,
  cacheTtlMs: isMilliseconds(0),
  failureStatus: (value) => Number.isInteger(value) && (value as number) >= 400 && (value as number) <= 599,
  livenessPath: (value) => typeof value === "string" && SERVED_PATH.test(value),
  token: isText,
  logger: (value) => value === false || typeof (value as HealthLogger | null)?.error === "function",
  onStatusChange: (value) => typeof value === "function",
};

/** The optional fields of a check (its other keys are its own). */
export const CHECK_FIELD_ACCEPTS: Readonly<Record<"critical" | "timeoutMs" | "componentType", Accepts>> = {
  critical: isFlag,
  timeoutMs: isMilliseconds(1),
  componentType: isText,
};

/** The zod/mini schemas of the same fields: built only to explain a refused value. */
export function fieldSchemas() {
  const z = loadZod();
  const flag = () => z.boolean("must be true or false");
  const text = () => z.string("must be a string");
  const milliseconds = (lowest: core.$ZodCheck<number>) =>
    z.int("must be a whole number of milliseconds").check(lowest, z.maximum(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms`));
  const options: Record<keyof HealthOptions, ZodMiniType> = {
    warningsAsErrors: flag(),
    timeoutMs: milliseconds(z.positive("must be greater than 0")),
    sequential: flag(),
    cacheTtlMs: milliseconds(z.nonnegative("must not be negative")),
    failureStatus: z.int("must be an HTTP status code").check(z.minimum(400, "must be 400–599"), z.maximum(599, "must be 400–599")),
    livenessPath: z.string("must be a string").check(z.regex(SERVED_PATH, "must be a path starting with / (no spaces, query or fragment)")),
    // An empty token (`process.env.HEALTH_CHECK_TOKEN` set but blank) counts as none.
    token: text(),
    logger: z.union(
      [z.literal(false), z.custom<HealthLogger>((value) => typeof (value as HealthLogger | null)?.error === "function")],
      "must be false or an object with an error() method",
    ),
    onStatusChange: z.custom<(event: StatusChangeEvent) => unknown>((value) => typeof value === "function", "must be a function"),
  };
  const checkFields: Record<keyof typeof CHECK_FIELD_ACCEPTS, ZodMiniType> = {
    critical: flag(),
    timeoutMs: milliseconds(z.positive("must be greater than 0")),
    componentType: text(),
  };
  return { options, checkFields };
}

interface FieldSet {
  accepts: Readonly<Record<string, Accepts>>;
  /** An unknown key is an error (options), or the object's own business (checks). */
  strict: boolean;
  schema?: ZodMiniType;
}
const OPTIONS: FieldSet = { accepts: OPTION_ACCEPTS, strict: true };
const CHECK_FIELDS: FieldSet = { accepts: CHECK_FIELD_ACCEPTS, strict: false };

function accepted({ accepts, strict }: FieldSet, value: object): boolean {
  for (const key of strict ? Object.keys(value) : Object.keys(accepts)) {
    if (!Object.hasOwn(accepts, key)) return false;
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined && !accepts[key]!(field)) return false;
  }
  return true;
}

/**
 * The CLI's compiled config (cli/load-config.ts) is bundled with
 * `globalThis.__PROBEKIT_NO_SCHEMAS__` defined as true: this folds to undefined and
 * zod is tree-shaken out, because loading it costs every exec probe ~6 ms. The
 * CLI runs the full diagnostics itself, unless --skip-checks.
 */
const buildSchema =
  (globalThis as { __PROBEKIT_NO_SCHEMAS__?: boolean }).__PROBEKIT_NO_SCHEMAS__ === true
    ? undefined
    : (set: FieldSet): ZodMiniType => {
        const z = loadZod();
        const { options, checkFields } = fieldSchemas();
        const shape = Object.fromEntries(Object.entries(set === OPTIONS ? options : checkFields).map(([key, schema]) => [key, z.optional(schema)]));
        return set.strict ? z.strictObject(shape) : z.object(shape);
      };

/** Subset names appear in URLs and CLI flags: keep them to one plain path segment. */
export const SUBSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Declares the health config shared by the route handlers and the CLI.
 * Throws a {@link HealthConfigError} listing every structural problem.
 *
 * @example
 * export default defineHealthConfig({
 *   subsets: {
 *     readiness: [postgresHeartbeat({ url: process.env.DATABASE_URL })],
 *     integrations: [postgresHeartbeat({ url: process.env.DATABASE_URL }), redisPing({ url: process.env.REDIS_URL })],
 *   },
 *   timeoutMs: 2000,
 * });
 */
export function defineHealthConfig(input: HealthConfigInput): HealthConfig {
  const issues = findConfigIssues(input, { callFactories: false });
  if (issues.length > 0) throw new HealthConfigError(issues);
  const { subsets, ...options } = input;
  const frozenSubsets: Record<string, readonly SubsetEntry[]> = {};
  for (const name of Object.keys(subsets)) frozenSubsets[name] = Object.freeze([...subsets[name]!]);
  // An option given as undefined (`token: process.env.UNSET`) keeps its default.
  const given = Object.fromEntries(Object.entries(options).filter(([key, value]) => value !== undefined && !(key === "token" && value === "")));
  return Object.freeze({
    subsets: Object.freeze(frozenSubsets),
    options: Object.freeze({ ...DEFAULT_OPTIONS, token: undefined, logger: undefined, onStatusChange: undefined, ...given }),
    [HEALTH_CONFIG]: true as const,
  });
}

/**
 * Every diagnostic for a config, without throwing. With `callFactories` (what
 * `probekit check` does) factories are called once to find E005 and the names
 * behind them.
 */
export function diagnoseHealthConfig(input: unknown, options: { callFactories?: boolean } = {}): HealthConfigIssue[] {
  return findConfigIssues(input, { callFactories: options.callFactories ?? true });
}

function findConfigIssues(input: unknown, { callFactories }: { callFactories: boolean }): HealthConfigIssue[] {
  if (typeof input !== "object" || input === null) {
    return [{ code: "E001", path: "config", message: `expected an object with subsets, got ${describe(input)}` }];
  }
  // A defined config is checked again as a whole: the CLI's compiled copy skips the schemas (see below).
  const { subsets, ...options } = isHealthConfig(input) ? { subsets: input.subsets, ...input.options } : (input as Record<string, unknown>);
  const issues: HealthConfigIssue[] = schemaIssues(OPTIONS, options, "E003", "");

  if (typeof subsets !== "object" || subsets === null || Array.isArray(subsets) || Object.keys(subsets).length === 0) {
    issues.unshift({ code: "E001", path: "subsets", message: "no subsets defined: name at least one, e.g. { readiness: [...] }" });
    return issues;
  }

  for (const [subset, entries] of Object.entries(subsets)) {
    const at = `subsets.${subset}`;
    if (!SUBSET_NAME.test(subset)) {
      issues.push({ code: "E007", path: at, message: `invalid subset name ${JSON.stringify(subset)}: use letters, digits, ".", "_" or "-" (at most 64, starting with a letter or digit)` });
    }
    if (!Array.isArray(entries)) {
      issues.push({ code: "E002", path: at, message: `expected an array of checks, got ${describe(entries)}` });
      continue;
    }
    const seen = new Map<string, number>();
    entries.forEach((entry: unknown, index: number) => {
      const where = `${at}[${index}]`;
      let check: unknown = entry;
      if (typeof entry === "function") {
        if (!callFactories) return;
        try {
          check = (entry as () => unknown)();
        } catch (error) {
          issues.push({ code: "E005", path: where, message: `factory threw: ${errorText(error)}` });
          return;
        }
        if (!isCheck(check)) {
          issues.push({ code: "E005", path: where, message: `factory returned ${describe(check)}, not a check` });
          return;
        }
      } else if (!isCheck(entry)) {
        issues.push({ code: "E004", path: where, message: `expected a check ({ name, check() }) or a factory, got ${describe(entry)}` });
        return;
      }
      issues.push(...schemaIssues(CHECK_FIELDS, check as Check, typeof entry === "function" ? "E005" : "E004", `${where}.`));
      const name = (check as Check).name;
      const first = seen.get(name);
      if (first !== undefined) {
        issues.push({ code: "E006", path: where, message: `duplicate check name ${JSON.stringify(name)} (also at ${at}[${first}]); give each check a distinct name` });
      } else {
        seen.set(name, index);
      }
    });
  }
  return issues;
}

/** The field part of the diagnostics: option values and the optional fields of checks. */
function schemaIssues(set: FieldSet, value: object, code: string, pathPrefix: string): HealthConfigIssue[] {
  if (buildSchema === undefined || accepted(set, value)) return [];
  set.schema ??= buildSchema(set);
  const result = set.schema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((problem) => ({
    code,
    path: problem.path.length > 0 ? pathPrefix + problem.path.join(".") : pathPrefix.replace(/\.$/, "") || "options",
    message: optionMessage(problem),
  }));
}

function optionMessage(problem: core.$ZodIssue): string {
  if (problem.code === "unrecognized_keys") return `unknown option${problem.keys.length > 1 ? "s" : ""} ${problem.keys.map((key) => JSON.stringify(key)).join(", ")}`;
  return problem.message;
}
