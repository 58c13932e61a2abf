/**
 * PostgreSQL's errors named safely (internal: not a subpath export), apart from the
 * postgres.js plumbing so the edge-safe Neon check can use them: SQLSTATE codes, the
 * drivers' own codes, and the messages pg (and Neon's driver, built on it) gives
 * without a code.
 */
import type { HealthCheckError } from "../core/errors.js";
import { safeError } from "./safe-errors.js";

/** SQLSTATE classes and driver codes that have a safe name (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const POSTGRES_CODES: Record<string, string> = {
  "28P01": "authentication failed",
  "28000": "authentication failed",
  "3D000": "database does not exist",
  "53300": "too many connections",
  "57P01": "database is shutting down",
  "57P02": "database is shutting down",
  "57P03": "database is starting up",
  "42P01": "table does not exist",
  "42501": "permission denied",
  // At connect: `unrecognized configuration parameter`, a URL argument the driver sent on
  // as a setting (libpq's sslcert, sslkey, …, which postgres.js does not know), or `options`.
  "42704": "the server refused a setting the URL carries",
  CONNECT_TIMEOUT: "connection timed out",
  CONNECTION_CLOSED: "connection lost",
  CONNECTION_ENDED: "connection lost",
  CONNECTION_DESTROYED: "connection lost",
};

/** pg's failures that carry no code (also read by probekit/checks/prisma, for what @prisma/adapter-pg passes through). */
export const PG_MESSAGES: readonly (readonly [RegExp, string])[] = [
  [/Connection terminated unexpectedly|Connection terminated$/, "connection lost"],
  [/timeout exceeded when trying to connect|Connection terminated due to connection timeout/, "connection timed out"],
];

/** A ServiceUnavailable whose message names what failed without the driver's text (hosts, users, SQL). */
export function safePostgresError(error: unknown): HealthCheckError {
  return safeError(error, { codes: POSTGRES_CODES, patterns: PG_MESSAGES, fallback: "query failed" });
}
