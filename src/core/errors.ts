/**
 * The errors a check throws to say how it failed. Their messages are written by
 * check authors and are safe to show in a public response; anything else a check
 * throws is treated as an unexpected error whose text stays private.
 */

const HEALTH_CHECK_ERROR = Symbol.for("probekit.health-check-error");

/** What kind of failure a {@link HealthCheckError} reports, as shown before its message. */
export type HealthCheckErrorKind = "unavailable" | "warning" | "unexpected result" | "error";

/**
 * Base class of the errors a check throws on purpose. Its message is public.
 *
 * @example
 * throw new HealthCheckError("queue is paused");
 */
export class HealthCheckError extends Error {
  /** The word that prefixes the message in reports (`unavailable: …`). */
  readonly kind: HealthCheckErrorKind = "error";

  /** Marks these errors across bundles and realms, where `instanceof` fails. */
  get [HEALTH_CHECK_ERROR](): true {
    return true;
  }

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HealthCheckError";
  }
}

/**
 * The service cannot be reached or cannot do its job.
 *
 * @example
 * throw new ServiceUnavailable("connection refused", { cause: err });
 */
export class ServiceUnavailable extends HealthCheckError {
  override readonly kind: HealthCheckErrorKind = "unavailable";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ServiceUnavailable";
  }
}

/**
 * The service works but is degraded. Fails the probe only while
 * `warningsAsErrors` is true (the default).
 *
 * @example
 * throw new ServiceWarning("disk 93% used (max 90%)");
 */
export class ServiceWarning extends HealthCheckError {
  override readonly kind: HealthCheckErrorKind = "warning";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ServiceWarning";
  }
}

/**
 * The service answered, but not what it should have.
 *
 * @example
 * throw new ServiceReturnedUnexpectedResult("select 1 returned 2");
 */
export class ServiceReturnedUnexpectedResult extends HealthCheckError {
  override readonly kind: HealthCheckErrorKind = "unexpected result";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ServiceReturnedUnexpectedResult";
  }
}

/** One problem found in a health config, with its diagnostic code. */
export interface HealthConfigIssue {
  /** `E001`…`E007` for errors, `W…` for warnings. */
  code: string;
  /** Where the problem is, e.g. `subsets.readiness[1]`. */
  path: string;
  message: string;
}

/**
 * Thrown by `defineHealthConfig` (and `createHealthRoute`) when the config is
 * broken. Lists every problem at once, each with its code.
 */
export class HealthConfigError extends Error {
  readonly issues: readonly HealthConfigIssue[];

  constructor(issues: readonly HealthConfigIssue[]) {
    const lines = issues.map((issue) => `  ${issue.code} ${issue.path}: ${issue.message}`);
    super(`probekit: invalid health config (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${lines.join("\n")}`);
    this.name = "HealthConfigError";
    this.issues = issues;
  }
}

/** True for a {@link HealthCheckError}, also one from another copy of probekit. */
export function isHealthCheckError(value: unknown): value is HealthCheckError {
  try {
    return value instanceof HealthCheckError || (typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[HEALTH_CHECK_ERROR] === true);
  } catch {
    // A Proxy whose traps throw is no HealthCheckError.
    return false;
  }
}

/** Thrown by `runHealthChecks` for a subset the config does not define. */
export class UnknownSubsetError extends Error {
  readonly subset: string;
  readonly known: readonly string[];

  constructor(subset: string, known: readonly string[]) {
    super(`probekit: unknown subset ${JSON.stringify(subset)}; known subsets: ${known.join(", ") || "(none)"}`);
    this.name = "UnknownSubsetError";
    this.subset = subset;
    this.known = known;
  }
}
