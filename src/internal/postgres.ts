/**
 * PostgreSQL plumbing shared by probekit/checks/postgres and probekit/checks/migrations
 * (internal: not a subpath export): which connection the options name, one statement
 * with cancel-on-abort and one retry on a stale pooled connection, the pool a check owns
 * for a URL, and SQLSTATE codes named safely.
 */
import { ServiceUnavailable } from "../core/errors.js";
import { driverTimeoutMs, editSearchParams } from "../core/util.js";
import { ownedClient, type OwnedClient } from "./owned-client.js";
import { loadPeer } from "./peer.js";
import { safePostgresError } from "./postgres-errors.js";
import { guarded, retriedIfStale } from "./safe-errors.js";

/** The part of a postgres.js `sql` instance the checks use. */
export interface PostgresJsSql {
  unsafe(query: string): PromiseLike<readonly Record<string, unknown>[]> & { cancel?(): unknown };
}

/** The part of a pg `Pool` or `Client` (and of wrappers that expose one) the checks use. */
export interface PgQueryable {
  query(text: string): PromiseLike<{ rows: readonly Record<string, unknown>[] }>;
}

/** Ends the pool a check opened from a URL; the app's own clients are the app's to close. */
export async function closeConnection(connection: PostgresConnection): Promise<void> {
  if (connection.kind === "url") await connection.pool.close();
}

/** How a check reaches the database: the app's client, or a pool it owns. */
export type PostgresConnection =
  | { kind: "postgres.js"; sql: PostgresJsSql }
  | { kind: "pg"; client: PgQueryable }
  | { kind: "url"; pool: OwnedClient<PostgresJsSql, number>; fresh(timeoutMs: number): Promise<PostgresJsSql> };

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
  const create = createPool(options.url ?? "", who);
  return { kind: "url", pool: ownedClient({ create, close: endPool, closeDeadlineMs: 6000 }), fresh: create };
}

/**
 * Runs one statement with safe errors: on abort (the runner's timeout) a
 * postgres.js query is cancelled on the server; a pg query cannot be.
 */
export function query(connection: PostgresConnection, text: string, signal: AbortSignal, timeoutMs: number): Promise<readonly Record<string, unknown>[]> {
  return guarded(signal, () => retriedIfStale(signal, STALE, () => send(connection, text, signal, timeoutMs), () => dropOwnedPool(connection)), safePostgresError);
}

/**
 * A pool the check owns is retried on a new one: after `read ECONNRESET` postgres.js
 * 3.4 keeps the failed query on the connection, and the next query on it waits forever
 * (porsager/postgres#1130). The old pool is ended in the background, bounded by its deadline.
 */
function dropOwnedPool(connection: PostgresConnection): void {
  if (connection.kind === "url") void connection.pool.close();
}

const STALE = new Set(["57P01", "57P02", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "ECONNRESET", "EPIPE"]);

/**
 * On Cloudflare Workers a socket opened while serving one request cannot be used by
 * the next ("Cannot perform I/O on behalf of a different request"): there a URL gets a
 * connection for the run, ended after it, instead of the pool kept between runs.
 */
const PER_REQUEST_SOCKETS = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === "Cloudflare-Workers";

async function send(connection: PostgresConnection, text: string, signal: AbortSignal, timeoutMs: number): Promise<readonly Record<string, unknown>[]> {
  if (connection.kind === "pg") return (await connection.client.query(text)).rows;
  if (connection.kind === "url" && PER_REQUEST_SOCKETS) {
    const sql = await connection.fresh(timeoutMs);
    try {
      return await run(sql, text, signal);
    } finally {
      void Promise.resolve(endPool(sql, 0)).catch(() => {});
    }
  }
  return run(connection.kind === "postgres.js" ? connection.sql : await connection.pool.get(timeoutMs), text, signal);
}

async function run(sql: PostgresJsSql, text: string, signal: AbortSignal): Promise<readonly Record<string, unknown>[]> {
  const pending = sql.unsafe(text);
  const cancel = () => void Promise.resolve(pending.cancel?.()).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    return await pending;
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

/**
 * URL arguments postgres.js does not know and must not get: it sends a URL's unknown
 * arguments to the server as settings, and the server refuses the connection
 * (`unrecognized configuration parameter "schema"`). Prisma's own (a Prisma app's
 * DATABASE_URL: `prisma init` writes `?schema=public`), and libpq's `channel_binding`
 * (in the connection strings Neon hands out), which postgres.js cannot do: see forPostgresJs.
 * https://www.prisma.io/docs/orm/overview/databases/postgresql#arguments
 */
const NOT_FOR_POSTGRES_JS = ["schema", "connection_limit", "pool_timeout", "pgbouncer", "statement_cache_size", "socket_timeout", "max_connection_lifetime", "max_idle_connection_lifetime", "channel_binding"];

/**
 * Edits a URL's arguments into what the check's postgres.js pool connects with, and
 * answers the roots of an `sslrootcert` file, if any.
 *
 * NOT_FOR_POSTGRES_JS are taken out. A `channel_binding=require` asks that the server be
 * authenticated, so that no one in between can relay the login; postgres.js cannot bind
 * the channel, so the server is authenticated by its certificate instead
 * (`sslmode=verify-full`, which stops the same attack): a server whose certificate the
 * process does not trust fails as `TLS certificate rejected` rather than connecting
 * unauthenticated. `prefer` and `disable` ask for nothing and are dropped.
 *
 * libpq's `sslrootcert=<file>` (the CA bundles RDS, Supabase and DigitalOcean hand out),
 * which postgres.js does not read and would send on as a setting, is taken out too, and
 * its certificates are to check the server's as libpq checks them: the chain and the host
 * name with `sslmode=verify-full`, the chain alone with `verify-ca` or `require`, not at
 * all with `prefer` or `allow`. `sslrootcert=system` is postgres.js's own.
 */
function forPostgresJs(params: URLSearchParams): { file: string; checkHost: boolean } | undefined {
  if (params.get("channel_binding") === "require") params.set("sslmode", "verify-full");
  for (const name of NOT_FOR_POSTGRES_JS) params.delete(name);
  const file = params.get("sslrootcert");
  if (file === null || file === "system") return undefined;
  params.delete("sslrootcert");
  const mode = params.get("sslmode");
  return mode === "verify-full" || mode === "verify-ca" || mode === "require" ? { file, checkHost: mode === "verify-full" } : undefined;
}

/** postgres.js's `ssl` for the roots of an `sslrootcert` file, read when the pool is made (Node, Bun and Deno: files). */
async function rootsTls(roots: { file: string; checkHost: boolean }): Promise<Record<string, unknown>> {
  let ca: string;
  try {
    ca = await (await import("node:fs/promises")).readFile(roots.file, "utf8");
  } catch (error) {
    throw new ServiceUnavailable("the URL's sslrootcert file cannot be read", { cause: error });
  }
  return { ca, rejectUnauthorized: true, ...(roots.checkHost ? {} : { checkServerIdentity: () => undefined }) };
}

/** Makes the one-connection postgres.js pool a URL gets (on the first run, or per run on Workers). */
function createPool(url: string, who: string): (timeoutMs: number) => Promise<PostgresJsSql> {
  const { url: postgresUrl, read: roots } = editSearchParams(url, forPostgresJs);
  return async (timeoutMs) => {
    if (url === "") throw new ServiceUnavailable("no database URL configured");
    const postgres = await loadPeer(who, "postgres", () => import("postgres"), "default");
    return postgres(postgresUrl, {
      ...(roots === undefined ? {} : { ssl: await rootsTls(roots) }),
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
    }) as unknown as PostgresJsSql;
  };
}

function endPool(sql: PostgresJsSql, timeoutS = 5): unknown {
  return (sql as PostgresJsSql & { end?(options?: { timeout?: number }): Promise<void> }).end?.({ timeout: timeoutS });
}

export { safePostgresError } from "./postgres-errors.js";
