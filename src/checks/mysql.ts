/**
 * probekit/checks/mysql: can the app reach its MySQL or MariaDB database and run a
 * query, and has it applied every migration this build ships? Uses the app's own mysql2
 * pool or connection, or a URL, for which it keeps a pool of one connection, created on
 * the first run. Needs Node's TCP sockets (mysql2): Node, not the edge runtime.
 *
 * @example
 * import { mysqlHeartbeat, pendingMigrations } from "probekit/checks/mysql";
 * mysqlHeartbeat({ url: process.env.DATABASE_URL });
 * pendingMigrations({ tool: "drizzle", url: process.env.DATABASE_URL });
 */
import { builtinCheck, type Check } from "../core/check.js";
import type { CommonCheckOptions } from "../core/check.js";
import { ServiceReturnedUnexpectedResult } from "../core/errors.js";
import { migrationsCheck, type MigrationsOptions } from "../internal/migrations.js";
import { closeTarget, mysqlQuery, targetFrom, type MysqlConnectionOptions } from "../internal/mysql.js";
import { errorCode } from "../internal/safe-errors.js";

export type { MysqlConnection, MysqlPool, MysqlPoolConnection } from "../internal/mysql.js";
export type { MigrationTool } from "../internal/migrations.js";

export interface MysqlHeartbeatOptions extends CommonCheckOptions, MysqlConnectionOptions {
  /** @default "mysql" */
  name?: string;
}

const WHO = "probekit/checks/mysql";

/**
 * Passes when `select 1` answers 1; reports the query's round trip in ms. On the
 * runner's timeout the connection the query holds is destroyed (pool and url).
 *
 * @example
 * import { pool } from "@/db"; // mysql2/promise createPool(...)
 * mysqlHeartbeat({ pool });
 */
export function mysqlHeartbeat(options: MysqlHeartbeatOptions): Check {
  const target = targetFrom(options, WHO);
  return builtinCheck(
    options,
    { name: "mysql", componentType: "datastore" },
    async ({ signal, timeoutMs }) => {
      const started = performance.now();
      const rows = await mysqlQuery(target, "select 1 as ok", signal, timeoutMs);
      const roundTripMs = Math.round((performance.now() - started) * 100) / 100;
      const value = Array.isArray(rows) ? (rows[0] as { ok?: unknown } | undefined)?.ok : undefined;
      if (value !== 1 && value !== "1") throw new ServiceReturnedUnexpectedResult(`select 1 returned ${!Array.isArray(rows) || rows.length === 0 ? "no rows" : typeof value}`);
      return { observedValue: roundTripMs, observedUnit: "ms" };
    },
    () => closeTarget(target),
  );
}

export interface PendingMigrationsOptions extends MigrationsOptions, MysqlConnectionOptions {}

/**
 * probekit/checks/migrations's pendingMigrations on MySQL and MariaDB: drizzle, prisma,
 * kysely and knex (node-pg-migrate is PostgreSQL's). The tool's table is read in the
 * connection's database unless `schema` names another.
 *
 * @example
 * pendingMigrations({ tool: "prisma", url: process.env.DATABASE_URL });
 */
export function pendingMigrations(options: PendingMigrationsOptions): Check {
  return migrationsCheck(options, WHO, "mysql", () => {
    const target = targetFrom(options, WHO);
    return {
      dialect: "mysql",
      quote: (identifier) => `\`${identifier.replaceAll("`", "``")}\``,
      read: async (sql, signal, timeoutMs) => (await mysqlQuery(target, sql, signal, timeoutMs)) as Record<string, unknown>[],
      isMissingTable: (error) => errorCode(error) === "ER_NO_SUCH_TABLE",
      close: () => closeTarget(target),
    };
  });
}
