/**
 * Drizzle apps need no check of their own: `db.$client` is the driver's pool, which the
 * built-in checks take. Proven here for each Drizzle flavour the README names, against
 * real servers: node-postgres and postgres.js (postgresHeartbeat), Neon serverless
 * (neonHeartbeat, through the WebSocket proxy), mysql2 (mysqlHeartbeat, on MariaDB) —
 * healthy, and failing with a safe message when the database goes away.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { neonConfig, Pool as NeonPool } from "@neondatabase/serverless";
import { drizzle as drizzleMysql } from "drizzle-orm/mysql2";
import { drizzle as drizzleNeon } from "drizzle-orm/neon-serverless";
import { drizzle as drizzleNodePostgres } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import mysql from "mysql2/promise";
import pg from "pg";
import postgres from "postgres";
import ws from "ws";

import { mysqlHeartbeat } from "../../src/checks/mysql.ts";
import { neonHeartbeat } from "../../src/checks/neon.ts";
import { postgresHeartbeat } from "../../src/checks/postgres.ts";
import { startMariaDb, type MariaDbServer } from "../helpers/mariadb.ts";
import { neonTestConfig, startNeonProxy, type NeonProxy } from "../helpers/neon-proxy.ts";
import { startPostgres, type PostgresServer } from "../helpers/postgres.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let postgresServer: PostgresServer;
let mariadb: MariaDbServer;
let proxy: NeonProxy;
let url: string;

before(async () => {
  [postgresServer, mariadb, proxy] = await Promise.all([startPostgres(), startMariaDb(), startNeonProxy()]);
  url = await postgresServer.createDatabase("drizzle");
  Object.assign(neonConfig, neonTestConfig(proxy.port), { webSocketConstructor: ws });
});
after(async () => {
  await proxy?.stop();
  await mariadb?.destroy();
  await postgresServer?.destroy();
});

const run = runCheckOnce;

describe("Drizzle's db.$client through the built-in checks", () => {
  it("drizzle-orm/node-postgres: postgresHeartbeat({ client: db.$client })", async () => {
    const db = drizzleNodePostgres(new pg.Pool({ connectionString: url, max: 2 }));
    try {
      assert.equal((await run(postgresHeartbeat({ client: db.$client }))).status, "pass");
    } finally {
      await db.$client.end();
    }
  });

  it("drizzle-orm/postgres-js: postgresHeartbeat({ sql: db.$client })", async () => {
    const db = drizzlePostgresJs(postgres(url, { max: 2, onnotice: () => {} }));
    try {
      assert.equal((await run(postgresHeartbeat({ sql: db.$client }))).status, "pass");
    } finally {
      await db.$client.end();
    }
  });

  it("drizzle-orm/neon-serverless: neonHeartbeat({ pool: db.$client })", async () => {
    const db = drizzleNeon(new NeonPool({ connectionString: url, max: 1 }));
    try {
      assert.equal((await run(neonHeartbeat({ pool: db.$client }))).status, "pass");
    } finally {
      await db.$client.end();
    }
  });

  it("drizzle-orm/mysql2: mysqlHeartbeat({ pool: db.$client })", async () => {
    const db = drizzleMysql(mysql.createPool({ uri: mariadb.url(), connectionLimit: 2 }));
    try {
      assert.equal((await run(mysqlHeartbeat({ pool: db.$client }))).status, "pass");
    } finally {
      await db.$client.end();
    }
  });

  it("each fails with a safe message while its database is down", async () => {
    const nodePostgres = drizzleNodePostgres(new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 1000 }));
    const postgresJs = drizzlePostgresJs(postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 1 }));
    const neon = drizzleNeon(new NeonPool({ connectionString: url, max: 1, connectionTimeoutMillis: 1000 }));
    const mysql2 = drizzleMysql(mysql.createPool({ uri: mariadb.url(), connectionLimit: 1, connectTimeout: 1000 }));
    neon.$client.on("error", () => {});
    nodePostgres.$client.on("error", () => {});
    try {
      postgresServer.stop();
      await mariadb.stop();
      for (const check of [
        postgresHeartbeat({ client: nodePostgres.$client, name: "node-postgres" }),
        postgresHeartbeat({ sql: postgresJs.$client, name: "postgres-js" }),
        neonHeartbeat({ pool: neon.$client, name: "neon" }),
        mysqlHeartbeat({ pool: mysql2.$client, name: "mysql2" }),
      ]) {
        const result = await run(check, 2000);
        assert.equal(result.status, "fail", check.name);
        assert.match(result.output, /^unavailable: (connection refused|connection lost|connection timed out|timed out after 2000 ms)$/, `${check.name}: ${result.output}`);
      }
    } finally {
      postgresServer.start();
      await mariadb.start();
      await Promise.all([nodePostgres.$client.end(), postgresJs.$client.end(), neon.$client.end(), mysql2.$client.end()].map((ending) => ending.catch(() => {})));
    }
  });
});
