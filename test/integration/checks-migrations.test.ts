/**
 * pendingMigrations against a real PostgreSQL, with migrations applied by each
 * tool's own migrator (drizzle-orm, node-pg-migrate, kysely, knex) or, for
 * prisma, whose engine is a native binary download, with `_prisma_migrations`
 * created exactly as prisma-engines defines it.
 */
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path, { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate as drizzleMigrate } from "drizzle-orm/postgres-js/migrator";
import { drizzle as drizzleV1 } from "drizzle-orm-v1/postgres-js";
import { migrate as drizzleV1Migrate } from "drizzle-orm-v1/postgres-js/migrator";
import knexFactory from "knex";
import { FileMigrationProvider, Kysely, Migrator, PostgresDialect } from "kysely";
import { runner as pgMigrate } from "node-pg-migrate";
import pg from "pg";
import postgres from "postgres";
import { closeHealthChecks, defineHealthConfig, runHealthChecks } from "../../src/index.ts";
import { pendingMigrations, type PendingMigrationsOptions } from "../../src/checks/migrations.ts";
import { migrationFolders } from "../helpers/migration-folders.ts";
import { startPostgres, type PostgresServer } from "../helpers/postgres.ts";

let server: PostgresServer;
let work: string;
before(async () => {
  server = await startPostgres();
  work = await mkdtemp(join(tmpdir(), "probekit-migrations-"));
});
after(async () => {
  await server?.destroy();
  await rm(work, { recursive: true, force: true });
});

/** Runs the check once and closes what it owns: each owned pool holds a connection of the server's 30. */
async function check(options: PendingMigrationsOptions) {
  const config = defineHealthConfig({ subsets: { s: [pendingMigrations(options)] }, cacheTtlMs: 0, logger: false });
  try {
    return (await runHealthChecks(config, "s")).checks[0]!;
  } finally {
    await closeHealthChecks(config);
  }
}

const { folder, variant } = migrationFolders(() => work);

describe("drizzle (drizzle-orm's migrator, meta/_journal.json)", () => {
  const journal = (entries: [string, number][]) =>
    JSON.stringify({ version: "7", dialect: "postgresql", entries: entries.map(([tag, when], idx) => ({ idx, version: "7", when, tag, breakpoints: true })) });
  const applied: [string, number][] = [["0000_init", 1704067200000], ["0001_add_email", 1704153600000]];
  let url: string;
  let dir: string;

  before(async () => {
    url = await server.createDatabase("drizzle_app");
    dir = await folder("drizzle", {
      "meta/_journal.json": journal(applied),
      "0000_init.sql": `CREATE TABLE "users" ("id" serial PRIMARY KEY, "name" text NOT NULL);\n--> statement-breakpoint\nCREATE INDEX "users_name_idx" ON "users" ("name");\n`,
      "0001_add_email.sql": `ALTER TABLE "users" ADD COLUMN "email" text;\n`,
    });
  });

  it("before the first migration: 'database is not ready'", async () => {
    const result = await check({ tool: "drizzle", url, migrationsDir: dir });
    assert.equal(result.output, "unavailable: database is not ready: no __drizzle_migrations table yet");
  });

  it("after drizzle migrates: up to date", async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await drizzleMigrate(drizzle(sql), { migrationsFolder: dir });
    await sql.end();
    const result = await check({ tool: "drizzle", url, migrationsDir: dir });
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.output, "up to date (2 migrations)");
  });

  it("a newer build with a migration to apply fails, naming it", async () => {
    const newer = await variant(dir, "drizzle-newer", {
      add: { "meta/_journal.json": journal([...applied, ["0002_add_posts", 1704240000000]]), "0002_add_posts.sql": `CREATE TABLE "posts" ("id" serial PRIMARY KEY);\n` },
    });
    const result = await check({ tool: "drizzle", url, migrationsDir: newer });
    assert.equal(result.output, "unavailable: 1 migration to apply: 0002_add_posts");
  });

  it("an older build than the database warns (a newer deploy is rolling out)", async () => {
    const older = await variant(dir, "drizzle-older", { remove: ["0001_add_email.sql"], add: { "meta/_journal.json": journal(applied.slice(0, 1)) } });
    const result = await check({ tool: "drizzle", url, migrationsDir: older });
    assert.equal(result.status, "warn");
    assert.match(result.output, /^warning: the database has 1 migration this app does not know \(a newer deploy\?\): applied at 2024-01-02T00:00:00\.000Z$/);
  });

  it("works through the app's own postgres.js or pg client too", async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      assert.equal((await check({ tool: "drizzle", sql, migrationsDir: dir })).status, "pass");
      assert.equal((await check({ tool: "drizzle", client: pool, migrationsDir: dir })).status, "pass");
    } finally {
      await Promise.all([sql.end(), pool.end()]);
    }
  });
});

describe("drizzle 1.x (drizzle-orm 1.0 rc's migrator: a folder per migration, matched by name)", () => {
  it("before, after, newer, older", async () => {
    const url = await server.createDatabase("drizzle_v1_app");
    const dir = await folder("drizzle-v1", {
      "20240101000000_init/migration.sql": `CREATE TABLE "users" ("id" serial PRIMARY KEY);\n`,
      "20240101000000_init/snapshot.json": "{}",
      "20240102000000_email/migration.sql": `ALTER TABLE "users" ADD COLUMN "email" text;\n`,
    });
    assert.match((await check({ tool: "drizzle", url, migrationsDir: dir })).output, /database is not ready/);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await drizzleV1Migrate(drizzleV1({ client: sql }), { migrationsFolder: dir });
    await sql.end();
    const result = await check({ tool: "drizzle", url, migrationsDir: dir });
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.output, "up to date (2 migrations)");
    const newer = await variant(dir, "drizzle-v1-newer", { add: { "20240103000000_posts/migration.sql": "SELECT 1;\n" } });
    assert.equal((await check({ tool: "drizzle", url, migrationsDir: newer })).output, "unavailable: 1 migration to apply: 20240103000000_posts");
    const older = await variant(dir, "drizzle-v1-older", { remove: ["20240102000000_email"] });
    assert.match((await check({ tool: "drizzle", url, migrationsDir: older })).output, /^warning: .*: 20240102000000_email$/);
  });
});

describe("prisma (_prisma_migrations as prisma-engines creates it)", () => {
  let url: string;
  let dir: string;
  const migration = "-- a migration\nSELECT 1;\n";

  before(async () => {
    url = await server.createDatabase("prisma_app");
    dir = await folder("prisma/migrations", {
      "migration_lock.toml": `provider = "postgresql"\n`,
      "20240101000000_init/migration.sql": migration,
      "20240102000000_add_email/migration.sql": migration,
      "20240103000000_add_posts/migration.sql": migration,
    });
  });

  /** Runs SQL in the prisma app's database. */
  const exec = async (statement: string) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(statement);
    } finally {
      await sql.end();
    }
  };
  /** A row as prisma-engines writes it: finished on success, rolled back by `migrate resolve --rolled-back`. */
  const insert = (name: string, finished: boolean, rolledBack: boolean) =>
    exec(`INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, rolled_back_at, applied_steps_count)
          VALUES (gen_random_uuid()::text, repeat('a', 64), '${name}', ${finished ? "now()" : "NULL"}, ${rolledBack ? "now()" : "NULL"}, ${finished ? 1 : 0})`);

  it("before prisma migrate deploy: 'database is not ready'", async () => {
    const result = await check({ tool: "prisma", url, migrationsDir: dir });
    assert.equal(result.output, "unavailable: database is not ready: no _prisma_migrations table yet");
  });

  it("counts finished rows as applied; a rolled-back one is pending again; a failed one blocks", async () => {
    // schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs: create_migrations_table
    await exec(`CREATE TABLE _prisma_migrations (
      id                      VARCHAR(36) PRIMARY KEY NOT NULL,
      checksum                VARCHAR(64) NOT NULL,
      finished_at             TIMESTAMPTZ,
      migration_name          VARCHAR(255) NOT NULL,
      logs                    TEXT,
      rolled_back_at          TIMESTAMPTZ,
      started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
      applied_steps_count     INTEGER NOT NULL DEFAULT 0
    )`);
    await insert("20240101000000_init", true, false);
    await insert("20240102000000_add_email", true, false);
    assert.equal((await check({ tool: "prisma", url, migrationsDir: dir })).output, "unavailable: 1 migration to apply: 20240103000000_add_posts");

    // A failed attempt (neither finished nor rolled back) blocks `migrate deploy` (P3009).
    await insert("20240103000000_add_posts", false, false);
    assert.equal((await check({ tool: "prisma", url, migrationsDir: dir })).output, "unavailable: 1 migration failed and blocks the rest: 20240103000000_add_posts");

    // `prisma migrate resolve --rolled-back` then a successful retry.
    await exec(`UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '20240103000000_add_posts'`);
    assert.equal((await check({ tool: "prisma", url, migrationsDir: dir })).output, "unavailable: 1 migration to apply: 20240103000000_add_posts");
    await insert("20240103000000_add_posts", true, false);
    const result = await check({ tool: "prisma", url, migrationsDir: dir });
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.output, "up to date (3 migrations)");
  });

  it("an older build warns about migrations it does not know", async () => {
    const older = await variant(dir, "prisma-older", { remove: ["20240103000000_add_posts"] });
    const result = await check({ tool: "prisma", url, migrationsDir: older });
    assert.equal(result.status, "warn");
    assert.match(result.output, /does not know \(a newer deploy\?\): 20240103000000_add_posts$/);
  });
});

describe("node-pg-migrate (its runner)", () => {
  let url: string;
  let dir: string;
  before(async () => {
    url = await server.createDatabase("pgm_app");
    dir = await folder("pgm", {
      "1704067200000_init.js": `export const up = (pgm) => { pgm.createTable("users", { id: "id", name: { type: "text", notNull: true } }); };\nexport const down = (pgm) => { pgm.dropTable("users"); };\n`,
      "1704153600000_add-email.js": `export const up = (pgm) => { pgm.addColumn("users", { email: { type: "text" } }); };\n`,
      ".eslintrc.json": "{}",
    });
  });

  it("before, after, newer, older", async () => {
    assert.equal((await check({ tool: "node-pg-migrate", url, migrationsDir: dir })).output, "unavailable: database is not ready: no pgmigrations table yet");
    await pgMigrate({ databaseUrl: url, dir, direction: "up", migrationsTable: "pgmigrations", log: () => {} });
    const result = await check({ tool: "node-pg-migrate", url, migrationsDir: dir });
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.output, "up to date (2 migrations)");
    const newer = await variant(dir, "pgm-newer", { add: { "1704240000000_posts.js": "export const up = () => {};\n", "1704326400000_tags.js": "export const up = () => {};\n" } });
    assert.equal((await check({ tool: "node-pg-migrate", url, migrationsDir: newer })).output, "unavailable: 2 migrations to apply: 1704240000000_posts, 1704326400000_tags");
    const older = await variant(dir, "pgm-older", { remove: ["1704153600000_add-email.js"] });
    assert.match((await check({ tool: "node-pg-migrate", url, migrationsDir: older })).output, /^warning: .*: 1704153600000_add-email$/);
  });

  it("a custom table and schema", async () => {
    const other = await server.createDatabase("pgm_custom");
    const sql = postgres(other, { max: 1, onnotice: () => {} });
    await sql.unsafe(`create schema ops`);
    await sql.end();
    await pgMigrate({ databaseUrl: other, dir, direction: "up", migrationsTable: "schema_history", migrationsSchema: "ops", log: () => {} });
    assert.equal((await check({ tool: "node-pg-migrate", url: other, migrationsDir: dir, table: "schema_history", schema: "ops" })).status, "pass");
    assert.match((await check({ tool: "node-pg-migrate", url: other, migrationsDir: dir })).output, /database is not ready/);
  });
});

describe("kysely (its Migrator with FileMigrationProvider)", () => {
  it("before, after, newer, older", async () => {
    const url = await server.createDatabase("kysely_app");
    const dir = await folder("kysely", {
      "2024-01-01_init.mjs": `export async function up(db) { await db.schema.createTable("users").addColumn("id", "serial", (c) => c.primaryKey()).execute(); }\n`,
      "2024-01-02_email.mjs": `export async function up(db) { await db.schema.alterTable("users").addColumn("email", "text").execute(); }\n`,
      "types.d.ts": "export {};\n",
    });
    assert.equal((await check({ tool: "kysely", url, migrationsDir: dir })).output, "unavailable: database is not ready: no kysely_migration table yet");
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
    const { error } = await new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: dir }) }).migrateToLatest();
    await db.destroy();
    assert.equal(error, undefined);
    const result = await check({ tool: "kysely", url, migrationsDir: dir });
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.output, "up to date (2 migrations)");
    const newer = await variant(dir, "kysely-newer", { add: { "2024-01-03_posts.ts": "export async function up() {}\n" } });
    assert.equal((await check({ tool: "kysely", url, migrationsDir: newer })).output, "unavailable: 1 migration to apply: 2024-01-03_posts");
    const older = await variant(dir, "kysely-older", { remove: ["2024-01-02_email.mjs"] });
    assert.equal((await check({ tool: "kysely", url, migrationsDir: older })).status, "warn");
  });
});

describe("knex (knex.migrate.latest)", () => {
  it("before, after, newer, older — names keep their extension", async () => {
    const url = await server.createDatabase("knex_app");
    const dir = await folder("knex", {
      "20240101000000_init.cjs": `exports.up = (knex) => knex.schema.createTable("users", (t) => { t.increments("id"); });\nexports.down = (knex) => knex.schema.dropTable("users");\n`,
      "20240102000000_email.cjs": `exports.up = (knex) => knex.schema.alterTable("users", (t) => { t.text("email"); });\nexports.down = () => {};\n`,
      "README.md": "not a migration",
    });
    assert.equal((await check({ tool: "knex", url, migrationsDir: dir })).output, "unavailable: database is not ready: no knex_migrations table yet");
    const knex = knexFactory({ client: "pg", connection: url });
    await knex.migrate.latest({ directory: dir });
    await knex.destroy();
    const result = await check({ tool: "knex", url, migrationsDir: dir });
    assert.equal(result.status, "pass", result.detail);
    const newer = await variant(dir, "knex-newer", { add: { "20240103000000_posts.cjs": "exports.up = () => {};\n" } });
    assert.equal((await check({ tool: "knex", url, migrationsDir: newer })).output, "unavailable: 1 migration to apply: 20240103000000_posts.cjs");
    const older = await variant(dir, "knex-older", { remove: ["20240102000000_email.cjs"] });
    assert.match((await check({ tool: "knex", url, migrationsDir: older })).output, /does not know \(a newer deploy\?\): 20240102000000_email\.cjs$/);
  });

  it("extensions: only files with the listed extensions are migrations, as knex's loadExtensions decides", async () => {
    const url = await server.createDatabase("knex_extensions");
    const dir = await folder("knex-extensions", {
      "20240101000000_init.js": `exports.up = (knex) => knex.schema.createTable("users", (t) => { t.increments("id"); });\nexports.down = (knex) => knex.schema.dropTable("users");\n`,
      "20240102000000_email.cjs": `exports.up = (knex) => knex.schema.alterTable("users", (t) => { t.text("email"); });\nexports.down = () => {};\n`,
      "20240103000000_draft.ts": "export const up = () => {};\n",
      "NOTES.md": "not a migration",
    });
    const extensions = [".js", ".cjs"];
    const knex = knexFactory({ client: "pg", connection: url });
    await knex.migrate.latest({ directory: dir, loadExtensions: extensions });
    await knex.destroy();
    const result = await check({ tool: "knex", url, migrationsDir: dir, extensions });
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.output, "up to date (2 migrations)");
    // knex's own default list has .ts: without the app's list the draft counts.
    assert.equal((await check({ tool: "knex", url, migrationsDir: dir })).output, "unavailable: 1 migration to apply: 20240103000000_draft.ts");
  });

  it("lists 5 pending names by default (maxListed), then how many more", async () => {
    const url = await server.createDatabase("knex_seven_pending");
    const migration = "exports.up = () => {};\nexports.down = () => {};\n";
    const dir = await folder("knex-one-applied", { "0001_m.cjs": migration });
    const knex = knexFactory({ client: "pg", connection: url });
    await knex.migrate.latest({ directory: dir });
    await knex.destroy();
    const newer = await variant(dir, "knex-seven-pending", { add: Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`000${i + 2}_m.cjs`, migration])) });
    const result = await check({ tool: "knex", url, migrationsDir: newer });
    assert.equal(result.output, "unavailable: 7 migrations to apply: 0002_m.cjs, 0003_m.cjs, 0004_m.cjs, 0005_m.cjs, 0006_m.cjs, … (+2 more)");
  });
});

describe("a custom table and schema, as each tool's migrator writes them", () => {
  // Each tool is run with its own options for a table `schema_history` in a schema `ops`; the
  // check with the same `table` and `schema` sees exactly what was applied, and without
  // them looks for the default table, which is not there.
  const table = "schema_history";
  const schema = "ops";
  /**
   * The check with the tool's `table` and `schema` passes on `dir` (2 migrations) and names
   * the one `newer` adds; without them it looks for `defaultTable`, which is not there.
   */
  const assertCustomTable = async (tool: "drizzle" | "kysely" | "knex", url: string, dir: string, newer: string, pending: string, defaultTable: string) => {
    assert.equal((await check({ tool, url, migrationsDir: dir, table, schema })).output, "up to date (2 migrations)");
    assert.equal((await check({ tool, url, migrationsDir: newer, table, schema })).output, `unavailable: 1 migration to apply: ${pending}`);
    assert.equal((await check({ tool, url, migrationsDir: dir })).output, `unavailable: database is not ready: no ${defaultTable} table yet`);
  };
  const createSchema = async (url: string, name = schema) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(`create schema ${name}`);
    await sql.end();
  };

  it("drizzle: migrationsTable / migrationsSchema (migrations.table / migrations.schema in drizzle.config.ts)", async () => {
    const url = await server.createDatabase("drizzle_custom");
    const journal = (tags: [string, number][]) => JSON.stringify({ version: "7", dialect: "postgresql", entries: tags.map(([tag, when], idx) => ({ idx, version: "7", when, tag, breakpoints: true })) });
    const applied: [string, number][] = [["0000_init", 1704067200000], ["0001_email", 1704153600000]];
    const dir = await folder("drizzle-custom", {
      "meta/_journal.json": journal(applied),
      "0000_init.sql": `CREATE TABLE "users" ("id" serial PRIMARY KEY);\n`,
      "0001_email.sql": `ALTER TABLE "users" ADD COLUMN "email" text;\n`,
    });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await drizzleMigrate(drizzle(sql), { migrationsFolder: dir, migrationsTable: table, migrationsSchema: schema });
    await sql.end();
    await assertCustomTable("drizzle", url, dir, await variant(dir, "drizzle-custom-newer", { add: { "meta/_journal.json": journal([...applied, ["0002_posts", 1704240000000]]), "0002_posts.sql": "SELECT 1;\n" } }), "0002_posts", "__drizzle_migrations");
  });

  it("drizzle 1.x: migrationsTable / migrationsSchema", async () => {
    const url = await server.createDatabase("drizzle_v1_custom");
    const dir = await folder("drizzle-v1-custom", {
      "20240101000000_init/migration.sql": `CREATE TABLE "users" ("id" serial PRIMARY KEY);\n`,
      "20240102000000_email/migration.sql": `ALTER TABLE "users" ADD COLUMN "email" text;\n`,
    });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await drizzleV1Migrate(drizzleV1({ client: sql }), { migrationsFolder: dir, migrationsTable: table, migrationsSchema: schema });
    await sql.end();
    await assertCustomTable("drizzle", url, dir, await variant(dir, "drizzle-v1-custom-newer", { add: { "20240103000000_posts/migration.sql": "SELECT 1;\n" } }), "20240103000000_posts", "__drizzle_migrations");
  });

  it("kysely: migrationTableName / migrationTableSchema", async () => {
    const url = await server.createDatabase("kysely_custom");
    const dir = await folder("kysely-custom", {
      "2024-01-01_init.mjs": `export async function up(db) { await db.schema.createTable("users").addColumn("id", "serial", (c) => c.primaryKey()).execute(); }\n`,
      "2024-01-02_email.mjs": `export async function up(db) { await db.schema.alterTable("users").addColumn("email", "text").execute(); }\n`,
    });
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
    const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: dir }), migrationTableName: table, migrationTableSchema: schema });
    const { error } = await migrator.migrateToLatest();
    await db.destroy();
    assert.equal(error, undefined);
    await assertCustomTable("kysely", url, dir, await variant(dir, "kysely-custom-newer", { add: { "2024-01-03_posts.mjs": "export async function up() {}\n" } }), "2024-01-03_posts", "kysely_migration");
  });

  it("knex: tableName / schemaName", async () => {
    const url = await server.createDatabase("knex_custom");
    await createSchema(url);
    const dir = await folder("knex-custom", {
      "20240101000000_init.cjs": `exports.up = (knex) => knex.schema.createTable("users", (t) => { t.increments("id"); });\nexports.down = () => {};\n`,
      "20240102000000_email.cjs": `exports.up = (knex) => knex.schema.alterTable("users", (t) => { t.text("email"); });\nexports.down = () => {};\n`,
    });
    const knex = knexFactory({ client: "pg", connection: url });
    await knex.migrate.latest({ directory: dir, tableName: table, schemaName: schema });
    await knex.destroy();
    await assertCustomTable("knex", url, dir, await variant(dir, "knex-custom-newer", { add: { "20240103000000_posts.cjs": "exports.up = () => {};\n" } }), "20240103000000_posts.cjs", "knex_migrations");
  });

  it("prisma: _prisma_migrations in the schema the URL names (?schema=), whatever else of Prisma's the URL carries", async () => {
    const url = await server.createDatabase("prisma_custom");
    await createSchema(url, "app");
    const dir = await folder("prisma-custom/migrations", {
      "migration_lock.toml": `provider = "postgresql"\n`,
      "20240101000000_init/migration.sql": "SELECT 1;\n",
      "20240102000000_email/migration.sql": "SELECT 1;\n",
    });
    // prisma-engines creates the table in the URL's schema (schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs).
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(`CREATE TABLE app._prisma_migrations (
      id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL,
      logs TEXT, rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)`);
    await sql.unsafe(`INSERT INTO app._prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count)
      VALUES (gen_random_uuid()::text, repeat('a', 64), '20240101000000_init', now(), 1), (gen_random_uuid()::text, repeat('a', 64), '20240102000000_email', now(), 1)`);
    await sql.end();
    const prismaUrl = `${url}?schema=app`;
    assert.equal((await check({ tool: "prisma", url: prismaUrl, migrationsDir: dir })).output, "up to date (2 migrations)");
    assert.equal((await check({ tool: "prisma", url: `${url}?connection_limit=5&schema=app&pool_timeout=10&pgbouncer=true`, migrationsDir: dir })).output, "up to date (2 migrations)");
    const newer = await variant(dir, "prisma-custom-newer", { add: { "20240103000000_posts/migration.sql": "SELECT 1;\n" } });
    assert.equal((await check({ tool: "prisma", url: prismaUrl, migrationsDir: newer })).output, "unavailable: 1 migration to apply: 20240103000000_posts");
    // The same through the app's own client, which names the schema with `schema`.
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      assert.equal((await check({ tool: "prisma", client: pool, migrationsDir: dir, schema: "app" })).output, "up to date (2 migrations)");
    } finally {
      await pool.end();
    }
    // Without ?schema= prisma migrate uses public, where there is no table.
    assert.equal((await check({ tool: "prisma", url, migrationsDir: dir })).output, "unavailable: database is not ready: no _prisma_migrations table yet");
  });
});

describe("pendingMigrations: configuration mistakes", () => {
  it("a missing migrations folder is a clear failure, not '0 pending'", async () => {
    const url = await server.createDatabase("missing_folder");
    const result = await check({ tool: "drizzle", url, migrationsDir: join(work, "not-traced-into-the-deployment") });
    assert.equal(result.status, "fail");
    assert.match(result.output, /^unavailable: migrations folder not found: .*not-traced-into-the-deployment \(is it included in the deployment\?\)$/);
  });

  it("the default folder is relative to the working directory", async () => {
    const result = await check({ tool: "knex", url: server.url("postgres") });
    assert.equal(result.output, "unavailable: migrations folder not found: migrations (is it included in the deployment?)");
  });

  it("an unknown tool or missing connection throws when the config is defined", () => {
    assert.throws(() => pendingMigrations({ tool: "flyway" as never, url: "postgres://x" }), /tool must be one of drizzle, prisma, node-pg-migrate, kysely, knex/);
    assert.throws(() => pendingMigrations({ tool: "knex", url: "postgres://x", sql: {} as never }), /only one of sql/);
  });

  it("lists at most maxListed names", async () => {
    const url = await server.createDatabase("many");
    const many = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`2024010${i}_m.cjs`, "exports.up = () => {};\n"]));
    const dir = await folder("knex-many", many);
    const knex = knexFactory({ client: "pg", connection: url });
    await knex.migrate.forceFreeMigrationsLock().catch(() => {});
    await knex.schema.createTable("knex_migrations", (t) => { t.increments("id"); t.string("name"); t.integer("batch"); t.timestamp("migration_time"); });
    await knex.destroy();
    const result = await check({ tool: "knex", url, migrationsDir: dir, maxListed: 3 });
    assert.equal(result.output, "unavailable: 8 migrations to apply: 20240100_m.cjs, 20240101_m.cjs, 20240102_m.cjs, … (+5 more)");
  });
});
