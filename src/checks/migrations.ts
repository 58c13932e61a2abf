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
  const schema = options.schema ?? (options.tool === "prisma" ? prismaSchema(options.url) : undefined);
  return migrationsCheck({ ...options, schema }, WHO, "postgresql", () => {
    const connection = connectionFrom(options, WHO);
    return {
      dialect: "postgresql",
      quote: (identifier) => `"${identifier.replaceAll('"', '""')}"`,
      read: (sql, signal, timeoutMs) => query(connection, sql, signal, timeoutMs),
      isMissingTable: (error) => errorCode(error) === "42P01",
      close: () => closeConnection(connection),
    };
  });
}

/**
 * A Prisma URL names the schema of `_prisma_migrations` in `?schema=` (prisma migrate
 * creates the table there). The pool a URL gets connects without Prisma's arguments
 * (src/internal/postgres.ts).
 * https://www.prisma.io/docs/orm/overview/databases/postgresql#arguments
 */
function prismaSchema(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  return new URL(url).searchParams.get("schema") ?? undefined;
}
