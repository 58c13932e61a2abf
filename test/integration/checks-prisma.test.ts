/**
 * prismaHeartbeat with real Prisma 7 clients (the prisma-client generator) on driver
 * adapters: @prisma/adapter-pg on a real PostgreSQL and @prisma/adapter-mariadb on a
 * real MariaDB — healthy, wrong password, missing database, refused, the server stopped,
 * the connection cut or killed in the middle of the heartbeat's query, the pool used up
 * — with safe public messages (Prisma's own carry the SQL, the database and the user).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineHealthConfig, handleHealthRequest } from "../../src/index.ts";
import { prismaHeartbeat, type PrismaLike } from "../../src/checks/prisma.ts";
import { startMariaDb, type MariaDbServer, MARIADB_PASSWORD, MARIADB_USER } from "../helpers/mariadb.ts";
import { blackHole, freePort, tcpRelay, type TcpRelay } from "../helpers/net.ts";
import { PASSWORD, startPostgres, SUPERUSER, type PostgresServer } from "../helpers/postgres.ts";
import { generatePrismaClient } from "../helpers/prisma.ts";
import { runCheckOnce } from "../helpers/checks.ts";

type Client = PrismaLike & { $disconnect(): Promise<void>; $queryRawUnsafe(query: string): Promise<unknown>; $transaction(run: (tx: Client) => Promise<void>, options: { timeout: number }): Promise<void> };
type ClientClass = new (options: { adapter: unknown }) => Client;

let postgresServer: PostgresServer;
let mariadb: MariaDbServer;
let url: string;
let PostgresClient: ClientClass;
let MysqlClient: ClientClass;
const clients: Client[] = [];
const proxies: TcpRelay[] = [];

before(async () => {
  const [pgPath, mysqlPath] = [generatePrismaClient("postgresql"), generatePrismaClient("mysql")];
  [postgresServer, mariadb, { PrismaClient: PostgresClient }, { PrismaClient: MysqlClient }] = await Promise.all([startPostgres(), startMariaDb(), import(pgPath), import(mysqlPath)]);
  url = await postgresServer.createDatabase("prisma");
  await postgresServer.admin(`create role prisma_app login password 'prisma-app-password'`);
});
after(async () => {
  await Promise.all(clients.map((client) => client.$disconnect().catch(() => {})));
  for (const proxy of proxies) proxy.close();
  await mariadb?.destroy();
  await postgresServer?.destroy();
});

function pgClient(connectionString: string): Client {
  const client = new PostgresClient({ adapter: new PrismaPg({ connectionString, connectionTimeoutMillis: 1000 }) });
  clients.push(client);
  return client;
}

function mariadbClient(password: string, database = "probekit", options: { port?: number; connectionLimit?: number; minDelayValidation?: number } = {}): Client {
  // The connector's pool retries a failing connect until acquireTimeout: below the check's, so its reason is seen.
  const client = new MysqlClient({ adapter: new PrismaMariaDb({ host: "127.0.0.1", port: mariadb.port, user: MARIADB_USER, password, database, connectTimeout: 1000, acquireTimeout: 1000, ...options }) });
  clients.push(client);
  return client;
}

async function proxyTo(port: number): Promise<TcpRelay> {
  const proxy = await tcpRelay(port);
  proxies.push(proxy);
  return proxy;
}

/**
 * Runs the check through the public handler: its public output, after asserting the
 * body names none of the connection's secrets, the SQL, nor Prisma's or the driver's text.
 */
async function publicOutput(check: ReturnType<typeof prismaHeartbeat>, secrets: readonly string[]): Promise<string | undefined> {
  const config = defineHealthConfig({ subsets: { readiness: [check] }, cacheTtlMs: 0, logger: false });
  const response = await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config);
  const body = await response.text();
  assert.equal(response.status, 500, body);
  for (const secret of [...secrets, "127.0.0.1", "SELECT", "queryRawUnsafe", "Raw query failed", "Invalid", "P2010"]) {
    assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
  }
  return (JSON.parse(body) as { checks: Record<string, { output?: string }[]> }).checks.prisma?.[0]?.output;
}

/** Holds the client's only connection in an interactive transaction until the returned function is called. */
async function holdOnlyConnection(client: Client): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let begun!: () => void;
  const inTransaction = new Promise<void>((resolve) => (begun = resolve));
  const transaction = client.$transaction(async (tx) => {
    await tx.$queryRawUnsafe("SELECT 1");
    begun();
    await released;
  }, { timeout: 30_000 });
  await inTransaction;
  return async () => {
    release();
    await transaction;
  };
}

const run = runCheckOnce;

/**
 * A check that passes on a warm connection through `proxy`, whose next query the proxy
 * holds back while `kill` has the server end the session: its public output is
 * `expected`, and the next run passes on a new connection.
 */
async function assertKilledMidQuery(check: ReturnType<typeof prismaHeartbeat>, proxy: TcpRelay, kill: () => Promise<void>, secrets: readonly string[], expected: string): Promise<void> {
  assert.equal((await run(check)).status, "pass");
  const swallowed = proxy.cutNext("swallow");
  const output = publicOutput(check, secrets);
  await swallowed;
  await kill();
  assert.equal(await output, expected);
  assert.equal((await run(check)).status, "pass");
}

/**
 * A check that passes on a warm connection through `proxy`, whose next query the proxy
 * cuts (`how`): its public output is `expected`, and the next run passes on a new connection.
 */
async function assertCutMidQuery(check: ReturnType<typeof prismaHeartbeat>, proxy: TcpRelay, how: "reset" | "close", secrets: readonly string[], expected: string): Promise<void> {
  assert.equal((await run(check)).status, "pass");
  const cut = proxy.cutNext(how);
  assert.equal(await publicOutput(check, secrets), expected);
  await cut;
  assert.equal((await run(check)).status, "pass");
}

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

describe("prismaHeartbeat with @prisma/adapter-pg: the connection fails under the heartbeat's query", () => {
  // With driver adapters a failed raw query is a P2010 holding the adapter's error; what pg
  // gives without a code the adapter passes through as it is.
  const secrets = () => [SUPERUSER, PASSWORD, String(postgresServer.port), "Connection terminated", "terminating connection", "timeout exceeded", "57P01"];
  let proxy: TcpRelay;
  const viaProxy = (options: { applicationName?: string; connectionTimeoutMillis?: number } = {}) => {
    const client = new PostgresClient({
      adapter: new PrismaPg({ connectionString: `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${proxy.port}/prisma`, application_name: options.applicationName, max: 1, connectionTimeoutMillis: options.connectionTimeoutMillis ?? 1000 }),
    });
    clients.push(client);
    return client;
  };
  before(async () => {
    proxy = await proxyTo(postgresServer.port);
  });

  it("reset mid-query (ECONNRESET, the adapter's ConnectionClosed): 'connection lost'; the next run passes on a new connection", async () => {
    await assertCutMidQuery(prismaHeartbeat({ prisma: viaProxy() }), proxy, "reset", secrets(), "unavailable: connection lost");
  });

  it("closed by the far end mid-query (pg's 'Connection terminated unexpectedly', passed through): 'connection lost'", async () => {
    await assertCutMidQuery(prismaHeartbeat({ prisma: viaProxy() }), proxy, "close", secrets(), "unavailable: connection lost");
  });

  it("the backend terminated mid-query: the database's own code behind the P2010, 57P01, reads 'database is shutting down'", async () => {
    // The query never reaches the server, which ends the session (FATAL 57P01) while the client waits for its answer.
    const terminate = async () => {
      const [{ terminated }] = (await postgresServer.admin(`select count(pg_terminate_backend(pid))::int as terminated from pg_stat_activity where application_name = 'prisma_victim'`)) as [{ terminated: number }];
      assert.equal(terminated, 1);
    };
    await assertKilledMidQuery(prismaHeartbeat({ prisma: viaProxy({ applicationName: "prisma_victim" }) }), proxy, terminate, secrets(), "unavailable: database is shutting down");
  });

  it("every pooled connection in use past pg's connectionTimeoutMillis: 'timed out waiting for a connection from the pool'", async () => {
    const pooled = new PostgresClient({ adapter: new PrismaPg({ connectionString: url, max: 1, connectionTimeoutMillis: 300 }) });
    clients.push(pooled);
    const release = await holdOnlyConnection(pooled);
    try {
      assert.equal(await publicOutput(prismaHeartbeat({ prisma: pooled }), secrets()), "unavailable: timed out waiting for a connection from the pool");
    } finally {
      await release();
    }
    assert.equal((await run(prismaHeartbeat({ prisma: pooled }))).status, "pass");
  });

  it("a server that accepts and never answers, past connectionTimeoutMillis: 'connection timed out'", async () => {
    const hole = await blackHole();
    try {
      const silent = new PostgresClient({ adapter: new PrismaPg({ connectionString: `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${hole.port}/prisma`, connectionTimeoutMillis: 300 }) });
      clients.push(silent);
      assert.equal(await publicOutput(prismaHeartbeat({ prisma: silent }), [SUPERUSER, PASSWORD, String(hole.port), "connection timeout"]), "unavailable: connection timed out");
    } finally {
      hole.close();
    }
  });
});

describe("prismaHeartbeat with @prisma/adapter-mariadb on MariaDB", () => {
  it("passes; wrong password and missing database are named", async () => {
    assert.equal((await run(prismaHeartbeat({ prisma: mariadbClient(MARIADB_PASSWORD) }))).status, "pass");
    assert.equal((await run(prismaHeartbeat({ prisma: mariadbClient("wrong-password") }))).output, "unavailable: authentication failed");
    assert.equal((await run(prismaHeartbeat({ prisma: mariadbClient(MARIADB_PASSWORD, "no_such_db") }))).output, "unavailable: database does not exist");
  });

  describe("the connection fails under the heartbeat's query", () => {
    const secrets = () => [MARIADB_USER, MARIADB_PASSWORD, String(mariadb.port), "socket has unexpectedly", "ECONNRESET", "45009"];
    let proxy: TcpRelay;
    // No validation ping on a connection used in the last minute: the cut lands on the heartbeat's query itself.
    const viaProxy = () => mariadbClient(MARIADB_PASSWORD, "probekit", { port: proxy.port, connectionLimit: 1, minDelayValidation: 60_000 });
    before(async () => {
      proxy = await proxyTo(mariadb.port);
    });

    it("reset mid-query (Prisma's error carries ECONNRESET): 'connection lost'; the next run passes", async () => {
      await assertCutMidQuery(prismaHeartbeat({ prisma: viaProxy() }), proxy, "reset", secrets(), "unavailable: connection lost");
    });

    it("closed by the far end mid-query (the connector's 45009 behind the P2010): 'connection lost'", async () => {
      await assertCutMidQuery(prismaHeartbeat({ prisma: viaProxy() }), proxy, "close", secrets(), "unavailable: connection lost");
    });

    it("KILL CONNECTION while the query is on its way: 'connection lost'", async () => {
      // A proxy of its own: its one connection to the server is the client's.
      proxy = await proxyTo(mariadb.port);
      const kill = async () => {
        const hosts = proxy.upstreamPorts().map((port) => `'127.0.0.1:${port}'`);
        assert.equal(hosts.length, 1);
        const ids = (await mariadb.admin(`select id from information_schema.processlist where host in (${hosts.join(", ")})`)) as { id: number }[];
        assert.equal(ids.length, 1, JSON.stringify(ids));
        await mariadb.admin(`KILL CONNECTION ${ids[0]!.id}`);
      };
      await assertKilledMidQuery(prismaHeartbeat({ prisma: viaProxy() }), proxy, kill, secrets(), "unavailable: connection lost");
    });
  });

  it("every pooled connection in use past acquireTimeout (the connector's 45028 behind the P2010): 'timed out waiting for a connection from the pool'", async () => {
    const client = mariadbClient(MARIADB_PASSWORD, "probekit", { connectionLimit: 1 });
    const release = await holdOnlyConnection(client);
    try {
      const output = await publicOutput(prismaHeartbeat({ prisma: client }), [MARIADB_USER, MARIADB_PASSWORD, String(mariadb.port), "pool timeout", "45028", "active=1"]);
      assert.equal(output, "unavailable: timed out waiting for a connection from the pool");
    } finally {
      await release();
    }
    assert.equal((await run(prismaHeartbeat({ prisma: client }))).status, "pass");
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
