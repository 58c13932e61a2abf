/**
 * prismaHeartbeat with real Prisma 7 clients (the prisma-client generator) on driver
 * adapters: @prisma/adapter-pg on a real PostgreSQL and @prisma/adapter-mariadb on a
 * real MariaDB — healthy, wrong password, missing database, refused, the server stopped
 * — with safe public messages (Prisma's own carry the SQL, the database and the user).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineHealthConfig, handleHealthRequest } from "../../src/index.ts";
import { prismaHeartbeat, type PrismaLike } from "../../src/checks/prisma.ts";
import { startMariaDb, type MariaDbServer, MARIADB_PASSWORD, MARIADB_USER } from "../helpers/mariadb.ts";
import { freePort } from "../helpers/net.ts";
import { startPostgres, type PostgresServer } from "../helpers/postgres.ts";
import { generatePrismaClient } from "../helpers/prisma.ts";
import { runCheckOnce } from "../helpers/checks.ts";

type Client = PrismaLike & { $disconnect(): Promise<void> };
type ClientClass = new (options: { adapter: unknown }) => Client;

let postgresServer: PostgresServer;
let mariadb: MariaDbServer;
let url: string;
let PostgresClient: ClientClass;
let MysqlClient: ClientClass;
const clients: Client[] = [];

before(async () => {
  const [pgPath, mysqlPath] = [generatePrismaClient("postgresql"), generatePrismaClient("mysql")];
  [postgresServer, mariadb, { PrismaClient: PostgresClient }, { PrismaClient: MysqlClient }] = await Promise.all([startPostgres(), startMariaDb(), import(pgPath), import(mysqlPath)]);
  url = await postgresServer.createDatabase("prisma");
  await postgresServer.admin(`create role prisma_app login password 'prisma-app-password'`);
});
after(async () => {
  await Promise.all(clients.map((client) => client.$disconnect().catch(() => {})));
  await mariadb?.destroy();
  await postgresServer?.destroy();
});

function pgClient(connectionString: string): Client {
  const client = new PostgresClient({ adapter: new PrismaPg({ connectionString, connectionTimeoutMillis: 1000 }) });
  clients.push(client);
  return client;
}

function mariadbClient(password: string, database = "probekit"): Client {
  // The connector's pool retries a failing connect until acquireTimeout: below the check's, so its reason is seen.
  const client = new MysqlClient({ adapter: new PrismaMariaDb({ host: "127.0.0.1", port: mariadb.port, user: MARIADB_USER, password, database, connectTimeout: 1000, acquireTimeout: 1000 }) });
  clients.push(client);
  return client;
}

const run = runCheckOnce;

describe("prismaHeartbeat with @prisma/adapter-pg on PostgreSQL", () => {
  it("passes, reporting the round trip", async () => {
    const result = await run(prismaHeartbeat({ prisma: pgClient(url) }));
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.name, "prisma");
    assert.equal(result.componentType, "datastore");
    assert.equal(result.observedUnit, "ms");
  });

  it("wrong password, missing database, refused: named, and the public body has nothing of Prisma's text", async () => {
    const bad = prismaHeartbeat({ prisma: pgClient(postgresServer.url("prisma", "prisma_app", "wrong-password")) });
    assert.equal((await run(bad)).output, "unavailable: authentication failed");
    const config = defineHealthConfig({ subsets: { readiness: [bad] }, logger: false });
    const body = await (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
    for (const secret of ["prisma_app", "wrong-password", "127.0.0.1", String(postgresServer.port), "SELECT", "queryRawUnsafe", "28P01"]) {
      assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
    }
    assert.equal((await run(prismaHeartbeat({ prisma: pgClient(postgresServer.url("no_such_db")) }))).output, "unavailable: database does not exist");
    const refused = await run(prismaHeartbeat({ prisma: pgClient(`postgres://postgres:x@127.0.0.1:${await freePort()}/x`) }));
    assert.equal(refused.output, "unavailable: database not reachable");
  });

  it("fails while the server is stopped and passes once it is back, with the same client", async () => {
    const check = prismaHeartbeat({ prisma: pgClient(url) });
    assert.equal((await run(check)).status, "pass");
    postgresServer.stop();
    try {
      const down = await run(check, 2000);
      assert.equal(down.status, "fail");
      assert.match(down.output, /^unavailable: (database not reachable|connection lost|database is shutting down|connection timed out|timed out after 2000 ms)$/);
    } finally {
      postgresServer.start();
    }
    assert.equal((await run(check)).status, "pass");
  });
});

describe("prismaHeartbeat with @prisma/adapter-mariadb on MariaDB", () => {
  it("passes; wrong password and missing database are named", async () => {
    assert.equal((await run(prismaHeartbeat({ prisma: mariadbClient(MARIADB_PASSWORD) }))).status, "pass");
    assert.equal((await run(prismaHeartbeat({ prisma: mariadbClient("wrong-password") }))).output, "unavailable: authentication failed");
    assert.equal((await run(prismaHeartbeat({ prisma: mariadbClient(MARIADB_PASSWORD, "no_such_db") }))).output, "unavailable: database does not exist");
  });
});

describe("prismaHeartbeat: the client's shape", () => {
  it("takes $queryRaw alone (a tag), rejects what is not a client, and judges the answer", async () => {
    const tagged: string[] = [];
    const onlyTag = { $queryRaw: async (strings: TemplateStringsArray) => (tagged.push(strings.raw.join("")), [{ ok: 1n }]) };
    assert.equal((await run(prismaHeartbeat({ prisma: onlyTag }))).status, "pass");
    assert.deepEqual(tagged, ["SELECT 1 AS ok"]);
    assert.throws(() => prismaHeartbeat({ prisma: {} as never }), /prisma must be a PrismaClient/);
    assert.equal((await run(prismaHeartbeat({ prisma: { $queryRawUnsafe: async () => [] } }))).output, "unexpected result: SELECT 1 returned no rows");
    const raw = await run(prismaHeartbeat({ prisma: { $queryRawUnsafe: async () => { throw Object.assign(new Error("Invalid `prisma.$queryRawUnsafe()` invocation: secret SQL"), { code: "P1001" }); } } }));
    assert.equal(raw.output, "unavailable: database not reachable");
  });
});
