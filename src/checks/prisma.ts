/**
 * probekit/checks/prisma: can the app's PrismaClient reach its database? Runs
 * `SELECT 1` through the client the app already has (any database, driver adapter or
 * not, Accelerate included), and names Prisma's errors safely. Imports nothing of
 * Prisma: runs wherever the client does.
 *
 * @example
 * import { prismaHeartbeat } from "probekit/checks/prisma";
 * import { prisma } from "@/lib/prisma";
 * prismaHeartbeat({ prisma });
 */
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { isHealthCheckError, ServiceReturnedUnexpectedResult, ServiceUnavailable, type HealthCheckError } from "../core/errors.js";
import { PG_MESSAGES } from "../internal/postgres-errors.js";
import { guarded } from "../internal/safe-errors.js";

/** The part of a PrismaClient the check uses: `$queryRawUnsafe`, or else the `$queryRaw` tag. */
export type PrismaLike = { $queryRawUnsafe(query: string): PromiseLike<unknown> } | { $queryRaw(query: TemplateStringsArray): PromiseLike<unknown> };

export interface PrismaHeartbeatOptions extends CommonCheckOptions {
  /** The app's PrismaClient (or an extended one). */
  prisma: PrismaLike;
  /** @default "prisma" */
  name?: string;
}

const WHO = "probekit/checks/prisma";
const HEARTBEAT = "SELECT 1 AS ok";

/**
 * Passes when `SELECT 1` answers 1; reports the round trip in ms. Prisma cannot cancel
 * a query: a hung one is left to the client's own timeouts once the check's has passed.
 *
 * @example
 * prismaHeartbeat({ prisma, timeoutMs: 2000 });
 */
export function prismaHeartbeat(options: PrismaHeartbeatOptions): Check {
  const { prisma } = options;
  const unsafe = (prisma as { $queryRawUnsafe?: unknown } | undefined)?.$queryRawUnsafe;
  const tagged = (prisma as { $queryRaw?: unknown } | undefined)?.$queryRaw;
  if (typeof unsafe !== "function" && typeof tagged !== "function") throw new TypeError(`${WHO}: prisma must be a PrismaClient (with $queryRawUnsafe or $queryRaw)`);
  const query = (): PromiseLike<unknown> =>
    typeof unsafe === "function"
      ? (unsafe as (query: string) => PromiseLike<unknown>).call(prisma, HEARTBEAT)
      : (tagged as (query: TemplateStringsArray) => PromiseLike<unknown>).call(prisma, Object.assign([HEARTBEAT], { raw: [HEARTBEAT] }));
  return builtinCheck(options, { name: "prisma", componentType: "datastore" }, async ({ signal }) => {
    const started = performance.now();
    const rows = await guarded(signal, query, safePrismaError);
    const roundTripMs = Math.round((performance.now() - started) * 100) / 100;
    const value = Array.isArray(rows) ? (rows[0] as { ok?: unknown } | undefined)?.ok : undefined;
    if (value !== 1 && value !== 1n && value !== "1") throw new ServiceReturnedUnexpectedResult(`SELECT 1 returned ${!Array.isArray(rows) || rows.length === 0 ? "no rows" : typeof value}`);
    return { observedValue: roundTripMs, observedUnit: "ms" };
  });
}

/** Prisma's own codes (https://www.prisma.io/docs/orm/reference/error-reference). */
const PRISMA_CODES: Record<string, string> = {
  P1000: "authentication failed",
  P1001: "database not reachable",
  P1002: "connection timed out",
  P1003: "database does not exist",
  P1008: "operation timed out",
  P1010: "permission denied",
  P1011: "TLS handshake failed",
  P1017: "connection lost",
  P2024: "timed out waiting for a connection from the pool",
  P6000: "Accelerate failed",
  P6004: "Accelerate query timed out",
  P6008: "Accelerate could not reach the database",
};

/** A driver adapter's error kinds (@prisma/driver-adapter-utils). */
const ADAPTER_KINDS: Record<string, string> = {
  AuthenticationFailed: "authentication failed",
  DatabaseDoesNotExist: "database does not exist",
  DatabaseNotReachable: "database not reachable",
  DatabaseAccessDenied: "permission denied",
  TooManyConnections: "too many connections",
  ConnectionClosed: "connection lost",
  SocketTimeout: "connection timed out",
  TlsConnectionError: "TLS handshake failed",
  TableDoesNotExist: "table does not exist",
};

/** The databases' own codes, as adapters report them in `originalCode`. */
const DATABASE_CODES: Record<string, string> = {
  "28P01": "authentication failed",
  "28000": "authentication failed",
  "3D000": "database does not exist",
  "53300": "too many connections",
  "57P01": "database is shutting down",
  "57P03": "database is starting up",
  "1045": "authentication failed",
  "1044": "permission denied",
  "1049": "database does not exist",
  "1040": "too many connections",
  "1203": "too many connections",
  "1053": "database is shutting down",
  // The mariadb connector's own: the server closed the socket mid-query (a KILL, a restart, a proxy).
  "45009": "connection lost",
  // The mariadb connector's pool gave up retrieving a connection: its cause says why.
  "45028": "timed out waiting for a connection from the pool",
};

/** Node's socket codes, which Prisma copies onto its error when @prisma/adapter-mariadb passes a reset through. */
const SOCKET_CODES: Record<string, string> = {
  ECONNRESET: "connection lost",
  EPIPE: "connection lost",
};

/**
 * pg's failures that carry no code, which @prisma/adapter-pg rethrows as they are (its
 * convertDriverError keeps only socket, TLS and server errors) and Prisma passes on with
 * only a `clientVersion` added: pg's own fixed texts, as the Postgres checks name them,
 * never read on a PrismaClient…Error (whose messages carry the SQL). pg-pool's wait for
 * a client first: every connection stayed in use for connectionTimeoutMillis.
 */
const ADAPTER_PG_MESSAGES: readonly (readonly [RegExp, string])[] = [[/^timeout exceeded when trying to connect$/, "timed out waiting for a connection from the pool"], ...PG_MESSAGES];

/**
 * Prisma's messages carry the SQL, the database and the server's text: only codes are
 * read — the driver adapter's `kind` and the database's `originalCode` (with driver
 * adapters a failed raw query is a `P2010` holding them), then Prisma's own (`code` of
 * a known request error, `errorCode` of an initialization error) — and the few fixed
 * texts of pg's that @prisma/adapter-pg passes through.
 */
function safePrismaError(error: unknown): HealthCheckError {
  if (isHealthCheckError(error)) return error;
  const found = error as { code?: unknown; errorCode?: unknown; meta?: { driverAdapterError?: { cause?: AdapterCause } }; cause?: AdapterCause } | null;
  const adapter = found?.meta?.driverAdapterError?.cause ?? (found?.cause as AdapterCause | undefined);
  // The mariadb connector's pool timeout carries the last connection error's number in its cause text.
  const underlying = typeof adapter?.cause === "string" ? /\bno: (\d{4})\b/.exec(adapter.cause)?.[1] : undefined;
  const named =
    (typeof adapter?.kind === "string" ? ADAPTER_KINDS[adapter.kind] : undefined) ??
    (underlying !== undefined ? DATABASE_CODES[underlying] : undefined) ??
    (adapter?.originalCode !== undefined ? DATABASE_CODES[String(adapter.originalCode)] : undefined) ??
    PRISMA_CODES[String(found?.code ?? found?.errorCode ?? "")] ??
    SOCKET_CODES[String(found?.code ?? "")] ??
    (error instanceof Error && !error.name.startsWith("PrismaClient") && found?.code === undefined ? pgMessage(error.message) : undefined);
  return new ServiceUnavailable(named ?? "query failed", { cause: error });
}

function pgMessage(message: string): string | undefined {
  return ADAPTER_PG_MESSAGES.find(([pattern]) => pattern.test(message))?.[1];
}

interface AdapterCause {
  kind?: unknown;
  originalCode?: unknown;
  cause?: unknown;
}
