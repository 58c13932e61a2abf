/**
 * probekit/checks/postgres: can the app reach its PostgreSQL database and run a
 * query? Uses the app's own client (postgres.js `sql`, or anything with pg's
 * `query(text)`: a pg Pool or Client) or a URL, for which it keeps a pool of
 * one connection, created on the first run. Runs on Node, Bun and Deno; not on
 * the Vercel Edge runtime, which has no TCP sockets for postgres.js.
 *
 * @example
 * import { postgresHeartbeat } from "probekit/checks/postgres";
 * postgresHeartbeat({ url: process.env.DATABASE_URL });
 */
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { isHealthCheckError, ServiceReturnedUnexpectedResult, ServiceUnavailable, type HealthCheckError } from "../core/errors.js";
import { errorCode, isAbortOf, unavailable } from "../core/safe-errors.js";
import { driverTimeoutMs } from "../core/util.js";

/** The part of a postgres.js `sql` instance the check uses. */
export interface PostgresJsSql {
  unsafe(query: string): PromiseLike<readonly Record<string, unknown>[]> & { cancel?(): unknown };
}

/** The part of a pg `Pool` or `Client` (and of wrappers that expose one) the check uses. */
export interface PgQueryable {
  query(text: string): PromiseLike<{ rows: readonly Record<string, unknown>[] }>;
}

export interface PostgresHeartbeatOptions extends CommonCheckOptions {
  /** The app's postgres.js instance. */
  sql?: PostgresJsSql;
  /** The app's pg Pool or Client (or any `{ query(text) }` answering `{ rows }`). */
  client?: PgQueryable;
  /** A connection URL: the check then owns a one-connection postgres.js pool (`postgres` must be installed). */
  url?: string;
}

/** The one statement every check here sends. */
const HEARTBEAT = "select 1 as ok";

/**
 * Passes when `select 1` answers 1; reports the query's round trip in ms.
 *
 * @example
 * import sql from "@/db"; // postgres.js
 * postgresHeartbeat({ sql });
 * @example
 * postgresHeartbeat({ client: pool }); // pg
 */
export function postgresHeartbeat(options: PostgresHeartbeatOptions): Check {
  const connection = connectionFrom(options, "probekit/checks/postgres");
  return builtinCheck(options, { name: "postgres", componentType: "datastore" }, async ({ signal, timeoutMs }) => {
    const started = performance.now();
    const rows = await query(connection, HEARTBEAT, signal, timeoutMs);
    const roundTripMs = Math.round((performance.now() - started) * 100) / 100;
    const value = rows[0]?.ok;
    if (value !== 1 && value !== "1") throw new ServiceReturnedUnexpectedResult(`select 1 returned ${rows.length === 0 ? "no rows" : typeof value}`);
    return { observedValue: roundTripMs, observedUnit: "ms" };
  }, () => closeConnection(connection));
}

/** Ends the pool a check opened from a URL; the app's own clients are the app's to close. */
export async function closeConnection(connection: PostgresConnection): Promise<void> {
  if (connection.kind !== "url" || connection.pool === undefined) return;
  const pool = connection.pool;
  connection.pool = undefined;
  const sql = (await pool.catch(() => undefined)) as (PostgresJsSql & { end?(options?: { timeout?: number }): Promise<void> }) | undefined;
  await sql?.end?.({ timeout: 5 });
}

/** How a check reaches the database: the app's client, or a pool it owns. */
export type PostgresConnection = { kind: "postgres.js"; sql: PostgresJsSql } | { kind: "pg"; client: PgQueryable } | { kind: "url"; url: string; pool?: Promise<PostgresJsSql> };

/** Picks the one connection the options name; a programmer mistake throws when the config is defined. */
export function connectionFrom(options: { sql?: PostgresJsSql; client?: PgQueryable; url?: string }, who: string): PostgresConnection {
  // `url: process.env.DATABASE_URL` unset at build time is not a mistake here: it fails at run time.
  const clients = [options.sql, options.client].filter((value) => value !== undefined);
  if (clients.length > 1 || (clients.length === 1 && options.url !== undefined)) throw new TypeError(`${who}: pass only one of sql (postgres.js), client (pg) or url`);
  if (options.sql !== undefined) {
    if (typeof options.sql.unsafe !== "function") throw new TypeError(`${who}: sql must be a postgres.js instance (with unsafe())`);
    return { kind: "postgres.js", sql: options.sql };
  }
  if (options.client !== undefined) {
    if (typeof options.client.query !== "function") throw new TypeError(`${who}: client must have a query(text) method (a pg Pool or Client)`);
    return { kind: "pg", client: options.client };
  }
  // No URL (an unset env var) is a deploy mistake the probe reports when it runs, not a crash at import.
  return { kind: "url", url: options.url ?? "" };
}

/**
 * Runs one statement with safe errors: on abort (the runner's timeout) a
 * postgres.js query is cancelled on the server; a pg query cannot be.
 */
export async function query(connection: PostgresConnection, text: string, signal: AbortSignal, timeoutMs: number): Promise<readonly Record<string, unknown>[]> {
  try {
    return await send(connection, text, signal, timeoutMs);
  } catch (error) {
    // A pooled connection the server closed since the last run (a restart, a failover) is not an outage: retry once on a fresh one.
    if (signal.aborted || !STALE.has(errorCode(error) ?? "")) throw safeUnlessAbort(error, signal);
    try {
      return await send(connection, text, signal, timeoutMs);
    } catch (retryError) {
      throw safeUnlessAbort(retryError, signal);
    }
  }
}

const STALE = new Set(["57P01", "57P02", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "ECONNRESET", "EPIPE"]);

function safeUnlessAbort(error: unknown, signal: AbortSignal): unknown {
  return isAbortOf(error, signal) ? error : safePostgresError(error);
}

async function send(connection: PostgresConnection, text: string, signal: AbortSignal, timeoutMs: number): Promise<readonly Record<string, unknown>[]> {
  if (connection.kind === "pg") return (await connection.client.query(text)).rows;
  const sql = connection.kind === "postgres.js" ? connection.sql : await ownedPool(connection, timeoutMs);
  const pending = sql.unsafe(text);
  const cancel = () => void Promise.resolve(pending.cancel?.()).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    return await pending;
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

function ownedPool(connection: Extract<PostgresConnection, { kind: "url" }>, timeoutMs: number): Promise<PostgresJsSql> {
  if (connection.url === "") return Promise.reject(new ServiceUnavailable("no database URL configured"));
  connection.pool ??= import("postgres").then(
    ({ default: postgres }) =>
      postgres(connection.url, {
        max: 1,
        // Below the check's timeout, so a black-holed host fails as a connect timeout and frees the pool for the next run.
        connect_timeout: driverTimeoutMs(timeoutMs) / 1000,
        idle_timeout: 30,
        max_lifetime: 60 * 30,
        // No prepared statements: works behind PgBouncer in transaction mode.
        prepare: false,
        // postgres.js waits up to 20 s between reconnects after failures; probes are paced
        // and coalesced already, and a check must see a server the moment it is back.
        backoff: false,
        onnotice: () => {},
        connection: { application_name: "probekit" },
      }) as unknown as PostgresJsSql,
    (error: unknown) => {
      connection.pool = undefined;
      throw new ServiceUnavailable("cannot load the postgres driver", { cause: error });
    },
  );
  return connection.pool;
}

/** SQLSTATE classes and driver codes that have a safe name (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const POSTGRES_MESSAGES: Record<string, string> = {
  "28P01": "authentication failed",
  "28000": "authentication failed",
  "3D000": "database does not exist",
  "53300": "too many connections",
  "57P01": "database is shutting down",
  "57P02": "database is shutting down",
  "57P03": "database is starting up",
  "42P01": "table does not exist",
  "42501": "permission denied",
  CONNECT_TIMEOUT: "connection timed out",
  CONNECTION_CLOSED: "connection lost",
  CONNECTION_ENDED: "connection lost",
  CONNECTION_DESTROYED: "connection lost",
};

/** A ServiceUnavailable whose message names what failed without the driver's text (hosts, users, SQL). */
export function safePostgresError(error: unknown): HealthCheckError {
  if (isHealthCheckError(error)) return error;
  const code = errorCode(error);
  const known = code === undefined ? undefined : POSTGRES_MESSAGES[code];
  return known === undefined ? unavailable(error, "query failed") : new ServiceUnavailable(known, { cause: error });
}
