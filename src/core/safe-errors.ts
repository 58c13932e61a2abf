/**
 * Turns a network or driver error into a message that is safe to show publicly:
 * the error's code says what happened, while its text (hosts, ports, users, SQL)
 * stays in the cause for logs and authorized detail. Reads codes only, so it is
 * edge-safe.
 */
import { ServiceUnavailable } from "./errors.js";

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
  CERT_HAS_EXPIRED: "TLS certificate rejected",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS certificate rejected",
  SELF_SIGNED_CERT_IN_CHAIN: "TLS certificate rejected",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS certificate rejected",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS certificate rejected",
};

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
  return new ServiceUnavailable((code && MESSAGES[code]) ?? fallback, { cause: error });
}

/** True when `error` is the abort of `signal` (the runner's timeout): let it through, the runner reports it. */
export function isAbortOf(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted && (error === signal.reason || (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")));
}
