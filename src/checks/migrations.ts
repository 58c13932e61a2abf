/**
 * probekit/checks/migrations: has the database applied every migration this
 * build of the app ships? Compares the migration tool's own table with the
 * migration files on disk, the way the tool itself decides what is pending, for
 * drizzle, prisma, node-pg-migrate, kysely and knex (Node, Bun, Deno).
 *
 * On Next.js/Vercel the migrations folder must be traced into the deployment:
 * `outputFileTracingIncludes: { "/healthcheck/[subset]": ["./drizzle/**"] }`.
 *
 * @example
 * import { pendingMigrations } from "probekit/checks/migrations";
 * pendingMigrations({ tool: "drizzle", url: process.env.DATABASE_URL });
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable, ServiceWarning } from "../core/errors.js";
import { errorCode } from "../internal/safe-errors.js";
import { closeConnection, connectionFrom, query, type PgQueryable, type PostgresConnection, type PostgresJsSql } from "../internal/postgres.js";

export type MigrationTool = "drizzle" | "prisma" | "node-pg-migrate" | "kysely" | "knex";

export interface PendingMigrationsOptions extends CommonCheckOptions {
  tool: MigrationTool;
  /** The app's postgres.js instance. */
  sql?: PostgresJsSql;
  /** The app's pg Pool or Client. */
  client?: PgQueryable;
  /** A connection URL (the check then owns a one-connection postgres.js pool). */
  url?: string;
  /**
   * The migrations folder, relative to the working directory.
   * @default "drizzle" (drizzle), "prisma/migrations" (prisma), "migrations" (the others)
   */
  migrationsDir?: string | URL;
  /**
   * The tool's table.
   * @default "__drizzle_migrations", "_prisma_migrations", "pgmigrations", "kysely_migration", "knex_migrations"
   */
  table?: string;
  /**
   * The table's schema.
   * @default "drizzle" (drizzle), "public" (node-pg-migrate), the search_path (the others)
   */
  schema?: string;
  /**
   * File extensions that count as migrations, for node-pg-migrate, kysely and knex
   * (knex's `loadExtensions`).
   * @default each tool's own list
   */
  extensions?: readonly string[];
  /**
   * How many names a failure lists before `… (+N more)`.
   * @default 5
   */
  maxListed?: number;
}

interface ToolDefaults {
  dir: string;
  table: string;
  schema: string | undefined;
  extensions?: readonly string[];
}

// Each tool's defaults, from its own source (drizzle-orm 0.45 migrator, prisma-engines
// schema connector, node-pg-migrate 9 runner, kysely 0.28 Migrator, knex 3 migrator).
const TOOLS: Record<MigrationTool, ToolDefaults> = {
  drizzle: { dir: "drizzle", table: "__drizzle_migrations", schema: "drizzle" },
  prisma: { dir: "prisma/migrations", table: "_prisma_migrations", schema: undefined },
  "node-pg-migrate": { dir: "migrations", table: "pgmigrations", schema: "public", extensions: [".js", ".ts", ".cjs", ".mjs", ".cts", ".mts", ".sql"] },
  kysely: { dir: "migrations", table: "kysely_migration", schema: undefined, extensions: [".js", ".ts", ".mjs", ".mts", ".cjs", ".cts"] },
  knex: { dir: "migrations", table: "knex_migrations", schema: undefined, extensions: [".co", ".coffee", ".eg", ".iced", ".js", ".cjs", ".litcoffee", ".ls", ".ts"] },
};

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
  const who = "probekit/checks/migrations";
  const defaults = TOOLS[options.tool];
  if (defaults === undefined) throw new TypeError(`${who}: tool must be one of ${Object.keys(TOOLS).join(", ")}, got ${JSON.stringify(options.tool)}`);
  const connection = connectionFrom(options, who);
  const shownDir = options.migrationsDir === undefined ? defaults.dir : String(options.migrationsDir instanceof URL ? fileURLToPath(options.migrationsDir) : options.migrationsDir);
  const table = options.table ?? defaults.table;
  const schema = options.schema ?? defaults.schema;
  const extensions = new Set(options.extensions ?? defaults.extensions ?? []);
  const maxListed = options.maxListed ?? 5;
  const qualified = schema === undefined ? quoteIdent(table) : `${quoteIdent(schema)}.${quoteIdent(table)}`;

  return builtinCheck(options, { name: "migrations", componentType: "datastore" }, async ({ signal, timeoutMs }) => {
    // The folder is read on every run, so a missing one is reported the moment it matters, never as "0 pending".
    const dir = resolve(shownDir);
    const folder = await stat(dir).catch(() => undefined);
    if (folder === undefined || !folder.isDirectory()) {
      throw new ServiceUnavailable(`migrations folder not found: ${shownDir} (is it included in the deployment?)`);
    }
    const rows = await readTable(connection, qualified, table, signal, timeoutMs);
    const state = await compare(options.tool, dir, rows, extensions);
    if (state.failed.length > 0) {
      throw new ServiceUnavailable(`${plural(state.failed.length, "migration")} failed and block${state.failed.length === 1 ? "s" : ""} the rest: ${list(state.failed, maxListed)}`);
    }
    if (state.pending.length > 0) throw new ServiceUnavailable(`${plural(state.pending.length, "migration")} to apply: ${list(state.pending, maxListed)}`);
    if (state.unknown.length > 0) {
      throw new ServiceWarning(`the database has ${plural(state.unknown.length, "migration")} this app does not know (a newer deploy?): ${list(state.unknown, maxListed)}`);
    }
    return { observedValue: 0, observedUnit: "pending", output: `up to date (${plural(state.applied, "migration")})` };
  }, () => closeConnection(connection));
}

type Row = Record<string, unknown>;

async function readTable(connection: PostgresConnection, qualified: string, table: string, signal: AbortSignal, timeoutMs: number): Promise<readonly Row[]> {
  try {
    return await query(connection, `select * from ${qualified}`, signal, timeoutMs);
  } catch (error) {
    if (errorCode(error) === "42P01") throw new ServiceUnavailable(`database is not ready: no ${table} table yet`, { cause: error });
    throw error;
  }
}

interface Comparison {
  applied: number;
  pending: string[];
  failed: string[];
  unknown: string[];
}

async function compare(tool: MigrationTool, dir: string, rows: readonly Row[], extensions: ReadonlySet<string>): Promise<Comparison> {
  switch (tool) {
    case "drizzle":
      return compareDrizzle(dir, rows);
    case "prisma":
      return comparePrisma(dir, rows);
    case "node-pg-migrate":
      // Every file but dotfiles; the name drops the last extension.
      return compareNames(await files(dir, (file) => !file.startsWith(".") && extensions.has(extname(file))).then(withoutExtension), names(rows));
    case "kysely":
      return compareNames(await files(dir, (file) => extensions.has(extname(file)) && !/\.d\.[cm]?ts$/.test(file)).then(withoutExtension), names(rows));
    case "knex":
      // knex stores the file name with its extension.
      return compareNames(await files(dir, (file) => extensions.has(extname(file))), names(rows));
  }
}

function compareNames(local: readonly string[], applied: readonly string[]): Comparison {
  const inDatabase = new Set(applied);
  const onDisk = new Set(local);
  return {
    applied: applied.length,
    pending: local.filter((name) => !inDatabase.has(name)),
    failed: [],
    unknown: applied.filter((name) => !onDisk.has(name)),
  };
}

/**
 * drizzle-orm 0.x: `meta/_journal.json` lists the migrations; one is applied when
 * the newest row's `created_at` is at least its `when` (the migrator compares
 * timestamps, not hashes). drizzle-kit 1.x: a folder per migration, matched by
 * `name` (or by its UTC timestamp prefix on a table not yet upgraded).
 */
async function compareDrizzle(dir: string, rows: readonly Row[]): Promise<Comparison> {
  const journal = await readFile(join(dir, "meta", "_journal.json"), "utf8").catch(() => undefined);
  // ORDER BY created_at DESC puts NULL first in PostgreSQL: the migrator then reads 0.
  const newest = rows.length === 0 ? undefined : rows.some((row) => row.created_at == null) ? 0 : Math.max(...rows.map((row) => Number(row.created_at)));
  if (journal !== undefined) {
    const entries = (JSON.parse(journal) as { entries?: { tag: string; when: number }[] }).entries ?? [];
    const latestLocal = Math.max(0, ...entries.map((entry) => entry.when));
    return {
      applied: rows.length,
      pending: entries.filter((entry) => newest === undefined || newest < entry.when).map((entry) => entry.tag),
      failed: [],
      unknown: rows.filter((row) => Number(row.created_at) > latestLocal).map((row) => `applied at ${new Date(Number(row.created_at)).toISOString()}`),
    };
  }
  const folders = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  const local: string[] = [];
  for (const folder of folders.sort((a, b) => a.localeCompare(b))) {
    if ((await stat(join(dir, folder, "migration.sql")).catch(() => undefined))?.isFile()) local.push(folder);
  }
  if (rows.length === 0 || "name" in rows[0]!) return compareNames(local, rows.map((row) => String(row.name)));
  const folderMillis = (name: string) => Date.UTC(+name.slice(0, 4), +name.slice(4, 6) - 1, +name.slice(6, 8), +name.slice(8, 10), +name.slice(10, 12), +name.slice(12, 14));
  return { applied: rows.length, pending: local.filter((name) => newest === undefined || Math.floor(newest / 1000) * 1000 < folderMillis(name)), failed: [], unknown: [] };
}

/**
 * Prisma: every folder holding a migration.sql is a migration. A row counts as
 * applied when finished and not rolled back; a row neither finished nor rolled
 * back is a failed migration, which blocks `prisma migrate deploy` (P3009).
 */
async function comparePrisma(dir: string, rows: readonly Row[]): Promise<Comparison> {
  const local: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && (await stat(join(dir, entry.name, "migration.sql")).catch(() => undefined))?.isFile()) local.push(entry.name);
  }
  local.sort((a, b) => a.localeCompare(b));
  const live = rows.filter((row) => row.rolled_back_at == null);
  const applied = live.filter((row) => row.finished_at != null).map((row) => String(row.migration_name));
  const failed = [...new Set(live.filter((row) => row.finished_at == null).map((row) => String(row.migration_name)))];
  const comparison = compareNames(local, [...new Set(applied)]);
  return { ...comparison, pending: comparison.pending.filter((name) => !failed.includes(name)), failed };
}

async function files(dir: string, keep: (file: string) => boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && keep(entry.name)).map((entry) => entry.name).sort();
}

function withoutExtension(names: string[]): string[] {
  return names.map((name) => basename(name, extname(name)));
}

function names(rows: readonly Row[]): string[] {
  return rows.map((row) => String(row.name));
}

function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function list(names: readonly string[], max: number): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown}, … (+${names.length - max} more)` : shown;
}
