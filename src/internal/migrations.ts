/**
 * pendingMigrations's one body (internal: not a subpath export), for every database:
 * each migration tool's defaults, reading its folder the way the tool does, and the
 * comparison with the tool's table. The entries bring the database:
 * probekit/checks/migrations PostgreSQL (postgres.js, pg), probekit/checks/mysql MySQL
 * and MariaDB (mysql2) — so an app installs, and bundles, only its own driver.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable, ServiceWarning } from "../core/errors.js";

export type MigrationTool = "drizzle" | "prisma" | "node-pg-migrate" | "kysely" | "knex";

/** What every database's pendingMigrations takes besides its connection. */
export interface MigrationsOptions extends CommonCheckOptions {
  tool: MigrationTool;
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
   * The table's schema (PostgreSQL) or database (MySQL).
   * @default PostgreSQL: "drizzle" (drizzle), "public" (node-pg-migrate), the URL's `?schema=` (prisma, with `url`), the search_path (the others); MySQL: the connection's database
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

export type Row = Record<string, unknown>;

/** How one database is read: its quoting, the table's rows, and its "no such table". */
export interface MigrationsSource {
  dialect: "postgresql" | "mysql";
  quote(identifier: string): string;
  read(sql: string, signal: AbortSignal, timeoutMs: number): Promise<readonly Row[]>;
  isMissingTable(error: unknown): boolean;
  close(): Promise<void>;
}

interface ToolDefaults {
  dir: string;
  table: string;
  /** Per dialect; undefined: the connection's own (search_path, current database). */
  schema: Partial<Record<MigrationsSource["dialect"], string>>;
  extensions?: readonly string[];
  dialects: readonly MigrationsSource["dialect"][];
}

// Each tool's defaults, from its own source (drizzle-orm 0.45 migrators, prisma-engines
// schema connectors, node-pg-migrate 9 runner, kysely 0.28 Migrator, knex 3 migrator).
const TOOLS: Record<MigrationTool, ToolDefaults> = {
  drizzle: { dir: "drizzle", table: "__drizzle_migrations", schema: { postgresql: "drizzle" }, dialects: ["postgresql", "mysql"] },
  prisma: { dir: "prisma/migrations", table: "_prisma_migrations", schema: {}, dialects: ["postgresql", "mysql"] },
  "node-pg-migrate": { dir: "migrations", table: "pgmigrations", schema: { postgresql: "public" }, extensions: [".js", ".ts", ".cjs", ".mjs", ".cts", ".mts", ".sql"], dialects: ["postgresql"] },
  kysely: { dir: "migrations", table: "kysely_migration", schema: {}, extensions: [".js", ".ts", ".mjs", ".mts", ".cjs", ".cts"], dialects: ["postgresql", "mysql"] },
  knex: { dir: "migrations", table: "knex_migrations", schema: {}, extensions: [".co", ".coffee", ".eg", ".iced", ".js", ".cjs", ".litcoffee", ".ls", ".ts"], dialects: ["postgresql", "mysql"] },
};

/** Checks the tool (a mistake throws when the config is defined), then builds the check on `source`. */
export function migrationsCheck(options: MigrationsOptions, who: string, dialect: MigrationsSource["dialect"], source: () => MigrationsSource): Check {
  const defaults = TOOLS[options.tool];
  const tools = Object.keys(TOOLS).filter((tool) => TOOLS[tool as MigrationTool].dialects.includes(dialect));
  if (defaults === undefined || !defaults.dialects.includes(dialect)) throw new TypeError(`${who}: tool must be one of ${tools.join(", ")}, got ${JSON.stringify(options.tool)}`);
  const database = source();
  const shownDir = options.migrationsDir === undefined ? defaults.dir : String(options.migrationsDir instanceof URL ? fileURLToPath(options.migrationsDir) : options.migrationsDir);
  const table = options.table ?? defaults.table;
  const schema = options.schema ?? defaults.schema[dialect];
  const extensions = new Set(options.extensions ?? defaults.extensions ?? []);
  const maxListed = options.maxListed ?? 5;
  const qualified = schema === undefined ? database.quote(table) : `${database.quote(schema)}.${database.quote(table)}`;

  return builtinCheck(options, { name: "migrations", componentType: "datastore" }, async ({ signal, timeoutMs }) => {
    // The folder is read on every run, so a missing one is reported the moment it matters, never as "0 pending".
    const dir = resolve(shownDir);
    const folder = await stat(dir).catch(() => undefined);
    if (folder === undefined || !folder.isDirectory()) {
      throw new ServiceUnavailable(`migrations folder not found: ${shownDir} (is it included in the deployment?)`);
    }
    let rows: readonly Row[];
    try {
      rows = await database.read(`select * from ${qualified}`, signal, timeoutMs);
    } catch (error) {
      if (database.isMissingTable(error)) throw new ServiceUnavailable(`database is not ready: no ${table} table yet`, { cause: error });
      throw error;
    }
    const state = await compare(options.tool, dialect, dir, rows, extensions);
    if (state.failed.length > 0) {
      throw new ServiceUnavailable(`${plural(state.failed.length, "migration")} failed and block${state.failed.length === 1 ? "s" : ""} the rest: ${list(state.failed, maxListed)}`);
    }
    if (state.pending.length > 0) throw new ServiceUnavailable(`${plural(state.pending.length, "migration")} to apply: ${list(state.pending, maxListed)}`);
    if (state.unknown.length > 0) {
      throw new ServiceWarning(`the database has ${plural(state.unknown.length, "migration")} this app does not know (a newer deploy?): ${list(state.unknown, maxListed)}`);
    }
    return { observedValue: 0, observedUnit: "pending", output: `up to date (${plural(state.applied, "migration")})` };
  }, () => database.close());
}

interface Comparison {
  applied: number;
  pending: string[];
  failed: string[];
  unknown: string[];
}

async function compare(tool: MigrationTool, dialect: MigrationsSource["dialect"], dir: string, rows: readonly Row[], extensions: ReadonlySet<string>): Promise<Comparison> {
  switch (tool) {
    case "drizzle":
      return compareDrizzle(dir, rows, dialect);
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
async function compareDrizzle(dir: string, rows: readonly Row[], dialect: MigrationsSource["dialect"]): Promise<Comparison> {
  const journal = await readFile(join(dir, "meta", "_journal.json"), "utf8").catch(() => undefined);
  // ORDER BY created_at DESC puts NULL first in PostgreSQL (the migrator then reads 0), last in MySQL.
  const stamped = rows.filter((row) => row.created_at != null);
  const newest = rows.length === 0 ? undefined : dialect === "postgresql" && stamped.length < rows.length ? 0 : stamped.length === 0 ? 0 : Math.max(...stamped.map((row) => Number(row.created_at)));
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

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function list(names: readonly string[], max: number): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown}, … (+${names.length - max} more)` : shown;
}
