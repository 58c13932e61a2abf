/**
 * MySQL and MariaDB plumbing shared by probekit/checks/mysql's checks (internal: not a
 * subpath export): which connection the options name, one statement whose pooled
 * connection is destroyed when the run is aborted, one retry on a stale pooled
 * connection, the pool a check owns for a URL, and mysql2's codes named safely.
 */
import { ServiceUnavailable, type HealthCheckError } from "../core/errors.js";
import { driverTimeoutMs, editSearchParams } from "../core/util.js";
import { ownedClient, type OwnedClient } from "./owned-client.js";
import { loadPeer } from "./peer.js";
import { errorCode, guarded, retriedIfStale, safeError } from "./safe-errors.js";

/** What a mysql2 (promise API) `query()` answers: rows, then fields. */
type QueryResult = readonly [unknown, unknown?];

/** The part of a mysql2/promise pool connection the check uses. */
export interface MysqlPoolConnection {
  query(sql: string): Promise<QueryResult>;
  release(): void;
  destroy(): void;
}

/** The part of a mysql2/promise `Pool` the check uses (a callback-API pool is turned into one with its `promise()`). */
export interface MysqlPool {
  getConnection(): Promise<MysqlPoolConnection>;
}

/** The part of a mysql2/promise `Connection` the check uses. */
export interface MysqlConnection {
  query(sql: string): Promise<QueryResult>;
}

/** How a check reaches the database: the app's pool or connection (mysql2), or a URL. */
export interface MysqlConnectionOptions {
  /** The app's mysql2 pool (`mysql2/promise` createPool, or a callback pool: its `promise()` is used). Preferred: a query hung past the timeout has its connection destroyed. */
  pool?: MysqlPool | { promise(): MysqlPool };
  /** The app's single mysql2 connection. A query hung past the timeout is left to the connection (the check does not close what the app owns). */
  connection?: MysqlConnection | { promise(): MysqlConnection };
  /** `mysql://user:password@host:port/database`: the check then owns a one-connection mysql2 pool (`mysql2` must be installed). Never shown in a report. */
  url?: string;
}

export type MysqlTarget = { kind: "pool"; pool: MysqlPool } | { kind: "connection"; connection: MysqlConnection } | { kind: "url"; pool: OwnedClient<MysqlPool & { end(): Promise<void> }, number> };

/** Picks the one connection the options name; a programmer mistake throws when the config is defined. */
export function targetFrom(options: MysqlConnectionOptions, who: string): MysqlTarget {
  const given = [options.pool, options.connection, options.url].filter((value) => value !== undefined);
  if (given.length > 1) throw new TypeError(`${who}: pass only one of pool, connection or url`);
  if (options.pool !== undefined) {
    const pool = promiseApi(options.pool);
    if (typeof (pool as Partial<MysqlPool>).getConnection !== "function") throw new TypeError(`${who}: pool must be a mysql2 pool (with getConnection())`);
    return { kind: "pool", pool };
  }
  if (options.connection !== undefined) {
    const connection = promiseApi(options.connection);
    if (typeof (connection as Partial<MysqlConnection>).query !== "function") throw new TypeError(`${who}: connection must be a mysql2 connection (with query())`);
    return { kind: "connection", connection };
  }
  // An unset DATABASE_URL is a deploy mistake the probe reports when it runs, not a crash at import.
  return { kind: "url", pool: ownedPool(options.url ?? "", who) };
}

/** mysql2's callback-API pools and connections carry their promise wrapper behind `promise()`. */
function promiseApi<T>(client: T | { promise(): T }): T {
  const wrapped = client as { promise?: unknown; getConnection?: unknown; query?: unknown };
  return typeof wrapped.promise === "function" ? (wrapped.promise as () => T).call(client) : (client as T);
}

/** Runs one statement and answers its rows, with safe errors (the runner's abort passes through). */
export function mysqlQuery(target: MysqlTarget, sql: string, signal: AbortSignal, timeoutMs: number): Promise<unknown> {
  return guarded(signal, () => send(target, sql, signal, timeoutMs), safeMysqlError);
}

async function send(target: MysqlTarget, sql: string, signal: AbortSignal, timeoutMs: number): Promise<unknown> {
  if (target.kind === "connection") return (await target.connection.query(sql))[0];
  const pool = target.kind === "pool" ? target.pool : await target.pool.get(timeoutMs);
  return retriedIfStale(signal, STALE, () => onPooledConnection(pool, sql, signal));
}

/** Ends the pool a check opened from a URL; the app's own pools are the app's to close. */
export async function closeTarget(target: MysqlTarget): Promise<void> {
  if (target.kind === "url") await target.pool.close();
}

const STALE = new Set(["PROTOCOL_CONNECTION_LOST", "ECONNRESET", "EPIPE", "ER_SERVER_SHUTDOWN"]);

/** One query on a connection of the pool; a query still running when `signal` aborts has its connection destroyed, not returned to the pool. */
async function onPooledConnection(pool: MysqlPool, sql: string, signal: AbortSignal): Promise<unknown> {
  const connection = await pool.getConnection();
  if (signal.aborted) {
    connection.release();
    throw signal.reason;
  }
  let destroyed = false;
  const destroy = () => {
    destroyed = true;
    connection.destroy();
  };
  signal.addEventListener("abort", destroy, { once: true });
  try {
    return (await connection.query(sql))[0];
  } catch (error) {
    // A connection that failed mid-query is not handed to the next run.
    if (!destroyed) destroy();
    throw error;
  } finally {
    signal.removeEventListener("abort", destroy);
    if (!destroyed) connection.release();
  }
}

/**
 * Arguments of Prisma's MySQL URLs that are not mysql2's: mysql2 ignores each, writing a
 * warning to stderr on every connection (an error in its next major). Two are followed
 * as Prisma follows them (fromPrisma): `socket` and `sslaccept`.
 * https://www.prisma.io/docs/orm/overview/databases/mysql#arguments
 */
const PRISMA_ONLY_ARGUMENTS = ["connection_limit", "connect_timeout", "pool_timeout", "socket_timeout", "socket", "sslcert", "sslidentity", "sslpassword", "sslaccept", "max_connection_lifetime", "max_idle_connection_lifetime"];

/**
 * Takes PRISMA_ONLY_ARGUMENTS out of a URL's arguments and answers mysql2's options for
 * what they ask: `socket` is mysql2's `socketPath`; `sslaccept` turns TLS on
 * (PlanetScale's Prisma URLs carry `sslaccept=strict`, and it refuses a connection without
 * TLS), verifying the server's certificate (`strict`) or not (`accept_invalid_certs`), as
 * Prisma does.
 */
function fromPrisma(params: URLSearchParams): Record<string, unknown> {
  const socket = params.get("socket");
  const accept = params.get("sslaccept");
  for (const name of PRISMA_ONLY_ARGUMENTS) params.delete(name);
  return {
    ...(socket === null ? {} : { socketPath: socket }),
    ...(accept === null ? {} : { ssl: { rejectUnauthorized: accept !== "accept_invalid_certs" } }),
  };
}

/** A one-connection mysql2 pool for a URL, made on the first run. */
function ownedPool(url: string, who: string): OwnedClient<MysqlPool & { end(): Promise<void> }, number> {
  const { url: mysqlUrl, read: prismaOptions = {} } = editSearchParams(url, fromPrisma);
  return ownedClient({
    async create(timeoutMs: number) {
      if (url === "") throw new ServiceUnavailable("no database URL configured");
      const createPool = await loadPeer(who, "mysql2", () => import("mysql2/promise"), "createPool");
      return (createPool as (config: Record<string, unknown>) => MysqlPool & { end(): Promise<void> })({
        uri: mysqlUrl,
        ...prismaOptions,
        // The one connection is kept between probes (mysql2 closes a pool's idle connections
        // only above maxIdle, and then within a second): close() (closeHealthChecks, the drain) ends it.
        connectionLimit: 1,
        maxIdle: 1,
        // Below the check's timeout, so a black-holed host fails as a connect timeout.
        connectTimeout: driverTimeoutMs(timeoutMs),
        enableKeepAlive: true,
        connectAttributes: { program_name: "probekit" },
      });
    },
    close: (pool) => pool.end(),
    closeDeadlineMs: 2000,
  });
}

/** mysql2's codes (https://mariadb.com/kb/en/mariadb-error-code-reference/) that have a safe name. */
const MYSQL_CODES: Record<string, string> = {
  ER_ACCESS_DENIED_ERROR: "authentication failed",
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: "authentication failed",
  ER_NOT_SUPPORTED_AUTH_MODE: "authentication failed",
  ER_DBACCESS_DENIED_ERROR: "permission denied",
  ER_HOST_NOT_PRIVILEGED: "permission denied",
  ER_SPECIFIC_ACCESS_DENIED_ERROR: "permission denied",
  ER_TABLEACCESS_DENIED_ERROR: "permission denied",
  ER_BAD_DB_ERROR: "database does not exist",
  ER_CON_COUNT_ERROR: "too many connections",
  ER_TOO_MANY_USER_CONNECTIONS: "too many connections",
  ER_USER_LIMIT_REACHED: "too many connections",
  ER_HOST_IS_BLOCKED: "host is blocked by the server",
  ER_SERVER_SHUTDOWN: "database is shutting down",
  ER_NO_SUCH_TABLE: "table does not exist",
  PROTOCOL_CONNECTION_LOST: "connection lost",
  PROTOCOL_SEQUENCE_TIMEOUT: "query timed out",
  HANDSHAKE_NO_SSL_SUPPORT: "TLS handshake failed",
  HANDSHAKE_SSL_ERROR: "TLS handshake failed",
};

/**
 * Node's words for a certificate its TLS refused (OpenSSL's verify errors, and the name
 * check): mysql2 replaces such an error's code (UNABLE_TO_VERIFY_LEAF_SIGNATURE, …) with
 * its own HANDSHAKE_SSL_ERROR and keeps the message.
 */
const CERTIFICATE_REFUSED = /certificate|altnames/i;

/** A ServiceUnavailable whose message names what failed without the driver's text (hosts, users, SQL). */
export function safeMysqlError(error: unknown): HealthCheckError {
  if (errorCode(error) === "HANDSHAKE_SSL_ERROR" && error instanceof Error && CERTIFICATE_REFUSED.test(error.message)) {
    return new ServiceUnavailable("TLS certificate rejected", { cause: error });
  }
  return safeError(error, { codes: MYSQL_CODES, fallback: "query failed" });
}
