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
import { ServiceReturnedUnexpectedResult } from "../core/errors.js";
import { closeConnection, connectionFrom, query, type PgQueryable, type PostgresJsSql } from "../internal/postgres.js";

export type { PgQueryable, PostgresJsSql } from "../internal/postgres.js";

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
