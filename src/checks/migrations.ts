/**
 * probekit/checks/migrations: has the PostgreSQL database applied every migration this
 * build of the app ships? Compares the migration tool's own table with the migration
 * files on disk, the way the tool itself decides what is pending, for drizzle, prisma,
 * node-pg-migrate, kysely and knex (Node, Bun, Deno). MySQL and MariaDB: the same
 * `pendingMigrations` from probekit/checks/mysql.
 *
 * On Next.js/Vercel the migrations folder must be traced into the deployment:
 * `outputFileTracingIncludes: { "/healthcheck/[subset]": ["./drizzle/**"] }`.
 *
 * @example
 * import { pendingMigrations } from "probekit/checks/migrations";
 * pendingMigrations({ tool: "drizzle", url: process.env.DATABASE_URL });
 */
import type { Check } from "../core/check.js";
import { migrationsCheck, type MigrationsOptions } from "../internal/migrations.js";
import { closeConnection, connectionFrom, query, type PgQueryable, type PostgresJsSql } from "../internal/postgres.js";
import { errorCode } from "../internal/safe-errors.js";

export type { MigrationTool } from "../internal/migrations.js";

export interface PendingMigrationsOptions extends MigrationsOptions {
  /** The app's postgres.js instance. */
  sql?: PostgresJsSql;
  /** The app's pg Pool or Client. */
  client?: PgQueryable;
  /** A connection URL (the check then owns a one-connection postgres.js pool). */
  url?: string;
}

const WHO = "probekit/checks/migrations";

/**
 * Fails with `N migrations to apply: a, b, …` while the database is behind the
 * app, with `database is not ready` before the tool's table exists, and warns
 * when the database has applied migrations this build does not know (a newer
 * deploy is rolling out).
 *
 * @example
 * pendingMigrations({ tool: "prisma", client: pool });
 * @example
 * pendingMigrations({ tool: "knex", url: process.env.DATABASE_URL, migrationsDir: "db/migrations", schema: "app" });
 */
export function pendingMigrations(options: PendingMigrationsOptions): Check {
  const prismaUrl = options.tool === "prisma" ? fromPrismaUrl(options.url) : undefined;
  return migrationsCheck({ ...options, schema: options.schema ?? prismaUrl?.schema }, WHO, "postgresql", () => {
    const connection = connectionFrom({ ...options, url: prismaUrl?.url ?? options.url }, WHO);
    return {
      dialect: "postgresql",
      quote: (identifier) => `"${identifier.replaceAll('"', '""')}"`,
      read: (sql, signal, timeoutMs) => query(connection, sql, signal, timeoutMs),
      isMissingTable: (error) => errorCode(error) === "42P01",
      close: () => closeConnection(connection),
    };
  });
}

/** Arguments of Prisma's PostgreSQL URLs that are not PostgreSQL's: sent on, the server would refuse the connection. */
const PRISMA_ONLY_ARGUMENTS = ["schema", "connection_limit", "pool_timeout", "pgbouncer", "statement_cache_size", "socket_timeout"];

/**
 * A Prisma URL names the schema of `_prisma_migrations` in `?schema=` (prisma migrate
 * creates the table there): the table's schema, and a URL postgres.js can connect with.
 * https://www.prisma.io/docs/orm/overview/databases/postgresql#arguments
 */
function fromPrismaUrl(url: string | undefined): { url: string; schema?: string } | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (!PRISMA_ONLY_ARGUMENTS.some((name) => parsed.searchParams.has(name))) return undefined;
  const schema = parsed.searchParams.get("schema") ?? undefined;
  for (const name of PRISMA_ONLY_ARGUMENTS) parsed.searchParams.delete(name);
  return { url: parsed.toString(), schema };
}
