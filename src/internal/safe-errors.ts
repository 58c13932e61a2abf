/**
 * Turns a network or driver error into a message that is safe to show publicly (part
 * of the check kit, see ./README.md):
 * the error's code says what happened, while its text (hosts, ports, users, SQL)
 * stays in the cause for logs and authorized detail. Reads codes only, so it is
 * edge-safe.
 */
import { isHealthCheckError, ServiceUnavailable, type HealthCheckError } from "../core/errors.js";

const MESSAGES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection reset",
  ...Object.fromEntries(
    [
      // OpenSSL's certificate verification failures, as Node names them (an untrusted or missing issuer, dates,
      // signatures, a wrong name): all but the CRL ones, which a client checks only when given a CRL.
      "CERT_HAS_EXPIRED",
      "CERT_NOT_YET_VALID",
      "ERROR_IN_CERT_NOT_BEFORE_FIELD",
      "ERROR_IN_CERT_NOT_AFTER_FIELD",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "UNABLE_TO_GET_ISSUER_CERT",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
      "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
      "CERT_SIGNATURE_FAILURE",
      "CERT_UNTRUSTED",
      "CERT_REJECTED",
      "CERT_REVOKED",
      "CERT_CHAIN_TOO_LONG",
      "INVALID_CA",
      "INVALID_PURPOSE",
      "PATH_LENGTH_EXCEEDED",
      "HOSTNAME_MISMATCH",
      "ERR_TLS_CERT_ALTNAME_INVALID",
    ].map((code) => [code, "TLS certificate rejected"]),
  ),
};

/**
 * Cloudflare workerd's network failures carry no code, only these messages
 * (workerd's src/workerd/io, src/workerd/api/sockets.c++).
 */
const WORKERD_MESSAGES: readonly (readonly [RegExp, string])[] = [
  [/proxy request failed, cannot connect to the specified address|connect\(\) failed: Connection refused/i, "connection refused"],
  [/^Network connection lost\.?$/i, "connection lost"],
  [/^Stream was cancelled\.?$|socket (has been )?closed/i, "connection lost"],
  [/connection timed out|Connect timeout/i, "connection timed out"],
  [/DNS lookup failed/i, "host not found"],
  [/Cannot perform I\/O on behalf of a different request/, "connection reused across requests (Workers forbid it)"],
];

/** The code of an error or of any error in its `cause` chain. */
export function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current !== null && typeof current === "object" && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A `ServiceUnavailable` with a safe message for a failed connection, keeping the
 * original as its cause. `fallback` names the failure when the code is unknown.
 */
export function unavailable(error: unknown, fallback: string): ServiceUnavailable {
  const code = errorCode(error);
  return new ServiceUnavailable((code && MESSAGES[code]) ?? workerdMessage(error) ?? fallback, { cause: error });
}

/** The safe name of a workerd network failure, read from the error or its causes. */
function workerdMessage(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++, current = current.cause) {
    for (const [pattern, safe] of WORKERD_MESSAGES) if (pattern.test(current.message)) return safe;
  }
  return undefined;
}

/** What a check's driver errors are named by: codes (SQLSTATE, errno, the driver's own) and message patterns. */
export interface SafeNames {
  /** Error code (of the error or any cause) → safe message. */
  codes?: Readonly<Record<string, string>>;
  /** Tried in order on the error's message when no code is known. */
  patterns?: readonly (readonly [RegExp, string])[];
  /** The message when nothing matches (after the network codes every check shares). */
  fallback: string;
}

/**
 * The one translator of driver errors into safe messages: a HealthCheckError passes
 * as it is; then the check's own codes, its message patterns, the network codes every
 * check shares, and the fallback. The original stays the cause, for logs and
 * authorized detail.
 */
export function safeError(error: unknown, names: SafeNames): HealthCheckError {
  if (isHealthCheckError(error)) return error;
  const code = errorCode(error);
  const known = code === undefined ? undefined : names.codes?.[code];
  if (known !== undefined) return new ServiceUnavailable(known, { cause: error });
  if (names.patterns !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    for (const [pattern, safe] of names.patterns) if (pattern.test(message)) return new ServiceUnavailable(safe, { cause: error });
  }
  return unavailable(error, names.fallback);
}

/**
 * The one guard around a driver call: the runner's abort (its timeout) passes through
 * for the runner to report; anything else becomes the check's safe message.
 */
export async function guarded<T>(signal: AbortSignal, operation: () => PromiseLike<T> | T, translate: (error: unknown) => unknown): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw isAbortOf(error, signal) ? error : translate(error);
  }
}

/**
 * Runs `attempt`, and once more when it fails with one of `stale`'s codes: a pooled
 * connection the server closed since the last run (a restart, a failover) is not an
 * outage. Never after the runner's abort. `beforeRetry` may drop what the first
 * attempt used (a pool the check owns), so the retry starts on a new connection.
 */
export async function retriedIfStale<T>(signal: AbortSignal, stale: ReadonlySet<string>, attempt: () => Promise<T>, beforeRetry?: () => void): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (signal.aborted || !stale.has(errorCode(error) ?? "")) throw error;
    beforeRetry?.();
    return await attempt();
  }
}

/** True when `error` is the abort of `signal` (the runner's timeout): let it through, the runner reports it. */
export function isAbortOf(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted && (error === signal.reason || (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")));
}
