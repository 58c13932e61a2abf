/**
 * probekit/checks/neon: can the app reach its Postgres over Neon's serverless driver —
 * the WebSocket path that works on the Vercel Edge runtime and Cloudflare Workers as
 * well as Node? Uses the app's Neon `Pool` or `Client` (or a `@vercel/postgres` pool,
 * which wraps Neon's), or a URL, for which it makes a Neon `Pool` per run (a WebSocket
 * opened in one request must not serve the next on Workers). Edge-safe.
 *
 * @example
 * import { neonHeartbeat } from "probekit/checks/neon";
 * neonHeartbeat({ url: process.env.DATABASE_URL });
 */
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceReturnedUnexpectedResult, ServiceUnavailable, type HealthCheckError } from "../core/errors.js";
import { driverTimeoutMs } from "../core/util.js";
import { loadPeer } from "../internal/peer.js";
import { safePostgresError } from "../internal/postgres-errors.js";
import { guarded } from "../internal/safe-errors.js";

/** The part of a Neon (or pg, or @vercel/postgres) `Pool`/`Client` the check uses. */
export interface NeonQueryable {
  query(text: string): PromiseLike<{ rows: readonly Record<string, unknown>[] }>;
}

/** A Neon `Pool` as the check makes one for a URL. */
interface OwnedPool {
  connect(): Promise<PoolClient>;
  end(): Promise<void>;
  on(event: "error", listener: (error: unknown) => void): unknown;
}

/** A client checked out of that pool: `release(true)` ends it (pg-pool removes a client released with an error). */
interface PoolClient extends NeonQueryable {
  release(destroy?: boolean): void;
}

type PoolConstructor = new (config: Record<string, unknown>) => OwnedPool;

export interface NeonHeartbeatOptions extends CommonCheckOptions {
  /** The app's Neon `Pool` or `Client`, or a `@vercel/postgres` pool (`createPool()`, `db`). */
  pool?: NeonQueryable;
  /** A connection URL (`postgres://…`): a Neon `Pool` is made for each run and ended after it (`@neondatabase/serverless` must be installed). */
  url?: string;
  /** @default "postgres" */
  name?: string;
}

const WHO = "probekit/checks/neon";
const HEARTBEAT = "select 1 as ok";

/**
 * Passes when `select 1` answers 1 over Neon's WebSocket driver; reports the round trip
 * (connection included, for a URL) in ms.
 *
 * @example
 * import { Pool } from "@neondatabase/serverless";
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL });
 * neonHeartbeat({ pool });
 */
export function neonHeartbeat(options: NeonHeartbeatOptions): Check {
  const { pool } = options;
  if (pool !== undefined && options.url !== undefined) throw new TypeError(`${WHO}: pass only one of pool or url`);
  if (pool !== undefined && typeof pool.query !== "function") throw new TypeError(`${WHO}: pool must be a Neon Pool or Client (with query())`);
  const url = options.url ?? "";
  return builtinCheck(options, { name: "postgres", componentType: "datastore" }, async ({ signal, timeoutMs }) => {
    const started = performance.now();
    const rows = await guarded(signal, () => (pool !== undefined ? pool.query(HEARTBEAT) : onFreshPool(url, signal, timeoutMs)), safeNeonError).then((result) => result.rows);
    const roundTripMs = Math.round((performance.now() - started) * 100) / 100;
    const value = rows[0]?.ok;
    if (value !== 1 && value !== "1") throw new ServiceReturnedUnexpectedResult(`select 1 returned ${rows.length === 0 ? "no rows" : typeof value}`);
    return { observedValue: roundTripMs, observedUnit: "ms" };
  });
}

/**
 * A pool of one for this run, ended on every path and at once on abort: on Workers a
 * socket cannot outlive the request that opened it, and elsewhere nothing is left open.
 */
async function onFreshPool(url: string, signal: AbortSignal, timeoutMs: number) {
  // An unset DATABASE_URL is a deploy mistake the probe reports, not a crash at import.
  if (url === "") throw new ServiceUnavailable("no database URL configured");
  const Pool = await loadPeer(WHO, "@neondatabase/serverless", () => import("@neondatabase/serverless") as unknown as Promise<{ Pool: PoolConstructor }>, "Pool");
  const pool = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: driverTimeoutMs(timeoutMs), idleTimeoutMillis: 1000 });
  // An idle client's error (the server going away) is the run's failure, not an uncaught event.
  pool.on("error", () => {});
  let client: PoolClient | undefined;
  const end = () => {
    // pool.end() waits for the client in use; ended itself, it drops a query the server never
    // answers (pg destroys the socket under an active query), which would keep the WebSocket open.
    client?.release(true);
    client = undefined;
    void pool.end().catch(() => {});
  };
  signal.addEventListener("abort", end, { once: true });
  try {
    client = await pool.connect();
    // Aborted while connecting: end() ran before there was a client to end.
    if (signal.aborted) throw signal.reason;
    return await client.query(HEARTBEAT);
  } finally {
    signal.removeEventListener("abort", end);
    end();
  }
}

/**
 * Neon's driver is pg over a WebSocket: pg's codes and messages, plus the WebSocket's
 * own failure, which arrives as an event (an ErrorEvent on Node, with the socket's
 * message; a bare Event on the edge).
 */
function safeNeonError(error: unknown): HealthCheckError {
  if (!(error instanceof Error) && typeof (error as { type?: unknown } | null)?.type === "string") {
    const message = String((error as { message?: unknown }).message ?? "");
    const refused = /ECONNREFUSED/.test(message);
    return new ServiceUnavailable(refused ? "connection refused" : "WebSocket connection failed", { cause: new Error(`WebSocket ${String((error as { type: string }).type)}: ${message}`) });
  }
  return safePostgresError(error);
}
