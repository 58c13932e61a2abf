/**
 * pendingMigrations from probekit/checks/mysql against a real MariaDB, with migrations
 * applied by each tool's own migrator (drizzle-orm's mysql2 migrator, kysely's Migrator
 * on its MysqlDialect, knex with mysql2) or, for prisma, whose engine is a native binary
 * download, with `_prisma_migrations` created exactly as prisma-engines defines it for
 * MySQL. Before, after, a newer build (pending) and an older one (a warning).
 */
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path, { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { drizzle } from "drizzle-orm/mysql2";
import { migrate as drizzleMigrate } from "drizzle-orm/mysql2/migrator";
import knexFactory from "knex";
import { FileMigrationProvider, Kysely, Migrator, MysqlDialect } from "kysely";
import mysqlCallback from "mysql2";
import mysql from "mysql2/promise";
import { defineHealthConfig, runHealthChecks } from "../../src/index.ts";
import { pendingMigrations, type PendingMigrationsOptions } from "../../src/checks/mysql.ts";
import { migrationFolders } from "../helpers/migration-folders.ts";
import { startMariaDb, type MariaDbServer } from "../helpers/mariadb.ts";

let server: MariaDbServer;
let work: string;
before(async () => {
  server = await startMariaDb();
  work = await mkdtemp(join(tmpdir(), "probekit-mysql-migrations-"));
});
after(async () => {
  await server?.destroy();
  await rm(work, { recursive: true, force: true });
});

async function database(name: string): Promise<string> {
  await server.admin(`CREATE DATABASE ${name}`);
  return server.url(name);
}

async function check(options: PendingMigrationsOptions) {
  const built = pendingMigrations(options);
  try {
    const config = defineHealthConfig({ subsets: { s: [built] }, cacheTtlMs: 0, logger: false });
    return (await runHealthChecks(config, "s")).checks[0]!;
  } finally {
    await built.close?.();
  }
}

const { folder, variant } = migrationFolders(() => work);

describe("drizzle on MariaDB (drizzle-orm/mysql2's migrator, meta/_journal.json)", () => {
  it("before, after, newer, older — with a URL and with the app's pool", async () => {
    const journal = (entries: [string, number][]) =>
      JSON.stringify({ version: "5", dialect: "mysql", entries: entries.map(([tag, when], idx) => ({ idx, version: "5", when, tag, breakpoints: true })) });
    const url = await database("drizzle_app");
    const dir = await folder("drizzle", {
      "meta/_journal.json": journal([["0000_init", 1704067200000], ["0001_add_email", 1704153600000]]),
      "0000_init.sql": "CREATE TABLE `users` (`id` serial PRIMARY KEY, `name` text NOT NULL);\n",
      "0001_add_email.sql": "ALTER TABLE `users` ADD `email` text;\n",
    });
    assert.equal((await check({ tool: "drizzle", url, migrationsDir: dir })).output, "unavailable: database is not ready: no __drizzle_migrations table yet");
    const pool = mysql.createPool({ uri: url, connectionLimit: 1 });
    try {
      await drizzleMigrate(drizzle(pool), { migrationsFolder: dir });
      const result = await check({ tool: "drizzle", url, migrationsDir: dir });
      assert.equal(result.status, "pass", result.detail);
      assert.equal(result.output, "up to date (2 migrations)");
      assert.equal((await check({ tool: "drizzle", pool, migrationsDir: dir })).status, "pass");
    } finally {
      await pool.end();
    }
    const newer = await variant(dir, "drizzle-newer", {
      add: { "0002_posts.sql": "CREATE TABLE `posts` (`id` serial PRIMARY KEY);\n", "meta/_journal.json": journal([["0000_init", 1704067200000], ["0001_add_email", 1704153600000], ["0002_posts", 1704240000000]]) },
    });
    assert.equal((await check({ tool: "drizzle", url, migrationsDir: newer })).output, "unavailable: 1 migration to apply: 0002_posts");
    const older = await variant(dir, "drizzle-older", { add: { "meta/_journal.json": journal([["0000_init", 1704067200000]]) } });
    assert.equal((await check({ tool: "drizzle", url, migrationsDir: older })).status, "warn");
  });
});

describe("prisma on MariaDB (_prisma_migrations as prisma-engines creates it for MySQL)", () => {
  it("finished rows count, a rolled-back one is pending again, a failed one blocks; an older build warns", async () => {
    const url = await database("prisma_app");
    const dir = await folder("prisma", {
      "20240101000000_init/migration.sql": "CREATE TABLE `User` (`id` INTEGER NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`));\n",
      "20240102000000_add_email/migration.sql": "ALTER TABLE `User` ADD COLUMN `email` VARCHAR(191) NULL;\n",
      "migration_lock.toml": 'provider = "mysql"\n',
    });
    assert.equal((await check({ tool: "prisma", url, migrationsDir: dir })).output, "unavailable: database is not ready: no _prisma_migrations table yet");
    const connection = await mysql.createConnection(url);
    try {
      await connection.query(`CREATE TABLE _prisma_migrations (
        id                      VARCHAR(36) PRIMARY KEY NOT NULL,
        checksum                VARCHAR(64) NOT NULL,
        finished_at             DATETIME(3),
        migration_name          VARCHAR(255) NOT NULL,
        logs                    TEXT,
        rolled_back_at          DATETIME(3),
        started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
      ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      const insert = (name: string, finished: boolean) =>
        connection.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count) VALUES (UUID(), 'x', ?, ${finished ? "CURRENT_TIMESTAMP(3)" : "NULL"}, ${finished ? 1 : 0})`, [name]);
      await insert("20240101000000_init", true);
      assert.equal((await check({ tool: "prisma", url, migrationsDir: dir })).output, "unavailable: 1 migration to apply: 20240102000000_add_email");
      await insert("20240102000000_add_email", false);
      assert.equal((await check({ tool: "prisma", url, migrationsDir: dir })).output, "unavailable: 1 migration failed and blocks the rest: 20240102000000_add_email");
      await connection.query("UPDATE _prisma_migrations SET rolled_back_at = CURRENT_TIMESTAMP(3) WHERE migration_name = '20240102000000_add_email'");
      await insert("20240102000000_add_email", true);
      const result = await check({ tool: "prisma", url, migrationsDir: dir });
      assert.equal(result.status, "pass", result.detail);
      assert.equal(result.output, "up to date (2 migrations)");
      // The app's DATABASE_URL as Prisma reads it: its pool arguments are Prisma's, not mysql2's.
      const prismaUrl = `${url}?connection_limit=5&pool_timeout=10&socket_timeout=5`;
      assert.equal((await check({ tool: "prisma", url: prismaUrl, migrationsDir: dir })).output, "up to date (2 migrations)");
      const older = await variant(dir, "prisma-older", { remove: ["20240102000000_add_email"] });
      assert.match((await check({ tool: "prisma", connection, migrationsDir: older })).output, /^warning: .*: 20240102000000_add_email$/);
    } finally {
      await connection.end();
    }
  });
});

describe("kysely on MariaDB (its Migrator on MysqlDialect)", () => {
  it("before, after, newer, older", async () => {
    const url = await database("kysely_app");
    const dir = await folder("kysely", {
      "2024-01-01_init.mjs": `export async function up(db) { await db.schema.createTable("users").addColumn("id", "integer", (c) => c.primaryKey().autoIncrement()).execute(); }\n`,
      "2024-01-02_email.mjs": `export async function up(db) { await db.schema.alterTable("users").addColumn("email", "text").execute(); }\n`,
    });
    assert.equal((await check({ tool: "kysely", url, migrationsDir: dir })).output, "unavailable: database is not ready: no kysely_migration table yet");
    const db = new Kysely<unknown>({ dialect: new MysqlDialect({ pool: mysqlCallback.createPool({ uri: url, connectionLimit: 1 }) }) });
    const { error } = await new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: dir }) }).migrateToLatest();
    await db.destroy();
    assert.equal(error, undefined);
    const result = await check({ tool: "kysely", url, migrationsDir: dir });
    assert.equal(result.status, "pass", result.detail);
    const newer = await variant(dir, "kysely-newer", { add: { "2024-01-03_posts.mjs": "export async function up() {}\n" } });
    assert.equal((await check({ tool: "kysely", url, migrationsDir: newer })).output, "unavailable: 1 migration to apply: 2024-01-03_posts");
    const older = await variant(dir, "kysely-older", { remove: ["2024-01-02_email.mjs"] });
    assert.equal((await check({ tool: "kysely", url, migrationsDir: older })).status, "warn");
  });
});

describe("knex on MariaDB (knex.migrate.latest with mysql2)", () => {
  it("before, after, newer, older — and a table in another database through schema", async () => {
    const url = await database("knex_app");
    const dir = await folder("knex", {
      "20240101000000_init.cjs": `exports.up = (knex) => knex.schema.createTable("users", (t) => { t.increments("id"); });\nexports.down = (knex) => knex.schema.dropTable("users");\n`,
      "20240102000000_email.cjs": `exports.up = (knex) => knex.schema.alterTable("users", (t) => { t.text("email"); });\nexports.down = () => {};\n`,
    });
    assert.equal((await check({ tool: "knex", url, migrationsDir: dir })).output, "unavailable: database is not ready: no knex_migrations table yet");
    const knex = knexFactory({ client: "mysql2", connection: url });
    await knex.migrate.latest({ directory: dir });
    await knex.destroy();
    const result = await check({ tool: "knex", url, migrationsDir: dir });
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.output, "up to date (2 migrations)");
    const newer = await variant(dir, "knex-newer", { add: { "20240103000000_posts.cjs": "exports.up = () => {};\n" } });
    assert.equal((await check({ tool: "knex", url, migrationsDir: newer })).output, "unavailable: 1 migration to apply: 20240103000000_posts.cjs");
    const older = await variant(dir, "knex-older", { remove: ["20240102000000_email.cjs"] });
    assert.match((await check({ tool: "knex", url, migrationsDir: older })).output, /does not know \(a newer deploy\?\): 20240102000000_email\.cjs$/);
    // The same table read from a connection to another database.
    assert.equal((await check({ tool: "knex", url: server.url(), schema: "knex_app", migrationsDir: dir })).status, "pass");
  });
});

describe("pendingMigrations on MySQL: configuration mistakes", () => {
  it("node-pg-migrate is PostgreSQL's, and connections are one of pool, connection or url", () => {
    assert.throws(() => pendingMigrations({ tool: "node-pg-migrate", url: "mysql://x" }), /tool must be one of drizzle, prisma, kysely, knex/);
    assert.throws(() => pendingMigrations({ tool: "knex", url: "mysql://x", pool: mysql.createPool({ uri: "mysql://x@127.0.0.1/x" }) }), /only one of pool, connection or url/);
  });
});
