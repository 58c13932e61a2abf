/**
 * mysqlHeartbeat against a real MariaDB server (Debian's mariadb-server): healthy
 * through a URL, the app's promise and callback pools and a single connection;
 * broken every way the check names — wrong password, missing database, refused,
 * black-holed, too many connections, paused mid-run, restarted — with safe public
 * messages; and 200 concurrent probes sharing one query.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import mysqlCallback from "mysql2";
import mysql from "mysql2/promise";
import { closeHealthChecks, defineHealthConfig, handleHealthRequest, runHealthChecks } from "../../src/index.ts";
import { mysqlHeartbeat } from "../../src/checks/mysql.ts";
import { makePki, runCheckTrusting } from "../helpers/certificates.ts";
import { runScript } from "../helpers/child-process.ts";
import { blackHole, freePort } from "../helpers/net.ts";
import { startMariaDb, type MariaDbServer } from "../helpers/mariadb.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let server: MariaDbServer;

before(async () => {
  server = await startMariaDb();
  await server.admin(`CREATE USER 'app'@'%' IDENTIFIED BY 'app-password'`);
  await server.admin(`GRANT ALL ON probekit.* TO 'app'@'%'`);
  await server.admin(`CREATE USER 'limited'@'%' IDENTIFIED BY 'limited-password' WITH MAX_USER_CONNECTIONS 1`);
  await server.admin(`GRANT ALL ON probekit.* TO 'limited'@'%'`);
  await server.admin(`CREATE USER 'paused'@'%' IDENTIFIED BY 'paused-password'`);
  await server.admin(`GRANT ALL ON probekit.* TO 'paused'@'%'`);
});
after(() => server?.destroy());

const run = runCheckOnce;

async function connectionsOf(user: string): Promise<number> {
  const rows = (await server.admin(`SELECT COUNT(*) AS n FROM information_schema.processlist WHERE user = '${user}'`)) as { n: number | string }[];
  return Number(rows[0]!.n);
}

describe("mysqlHeartbeat: healthy", () => {
  it("passes with a URL (its own one-connection pool), reporting the round trip", async () => {
    const check = mysqlHeartbeat({ url: server.url() });
    try {
      const result = await run(check);
      assert.equal(result.status, "pass", result.detail);
      assert.equal(result.name, "mysql");
      assert.equal(result.componentType, "datastore");
      assert.equal(result.observedUnit, "ms");
      assert.ok(typeof result.observedValue === "number" && result.observedValue >= 0 && result.observedValue < 3000);
    } finally {
      await check.close!();
    }
  });

  it("passes with the app's promise pool, callback pool (its promise()) and single connection, and leaves them open", async () => {
    const pool = mysql.createPool({ uri: server.url(), connectionLimit: 2 });
    const callbackPool = mysqlCallback.createPool({ uri: server.url(), connectionLimit: 2 });
    const connection = await mysql.createConnection(server.url());
    try {
      for (const check of [mysqlHeartbeat({ pool }), mysqlHeartbeat({ pool: callbackPool, name: "callback-pool" }), mysqlHeartbeat({ connection, name: "connection" })]) {
        const result = await run(check);
        assert.equal(result.status, "pass", `${check.name}: ${result.detail}`);
        await check.close?.();
      }
      // Closing the checks closed nothing of the app's.
      assert.deepEqual((await pool.query("select 2 as two"))[0], [{ two: 2 }]);
      assert.deepEqual((await connection.query("select 3 as three"))[0], [{ three: 3 }]);
    } finally {
      await Promise.all([pool.end(), new Promise((resolve) => callbackPool.end(resolve)), connection.end()]);
    }
  });

  it("creates nothing at definition: no connection until the first run", async () => {
    const check = mysqlHeartbeat({ url: server.url(undefined, "paused", "paused-password") });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await connectionsOf("paused"), 0);
    assert.equal((await run(check)).status, "pass");
    assert.equal(await connectionsOf("paused"), 1, "the owned pool keeps its one connection");
    await check.close!();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await connectionsOf("paused"), 0, "close() ends it");
  });

  it("rejects ambiguous or wrong options when defined", () => {
    assert.throws(() => mysqlHeartbeat({ url: server.url(), pool: mysql.createPool({ uri: server.url() }) }), /pass only one of pool, connection or url/);
    assert.throws(() => mysqlHeartbeat({ pool: {} as never }), /pool must be a mysql2 pool/);
    assert.throws(() => mysqlHeartbeat({ connection: {} as never }), /connection must be a mysql2 connection/);
  });

  it("a Prisma app's DATABASE_URL: Prisma's arguments are not handed to mysql2 (which warns on each), and ?socket= is followed", async () => {
    const warnings: unknown[][] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void warnings.push(args);
    try {
      // (sslaccept turns TLS on: the test below, on a server that has it.)
      const prismaUrl = `${server.url(undefined, "app", "app-password")}?connection_limit=5&pool_timeout=10&connect_timeout=3&socket_timeout=5`;
      const check = mysqlHeartbeat({ url: prismaUrl });
      assert.equal((await run(check)).status, "pass");
      await check.close!();
      assert.deepEqual(warnings, [], "mysql2 was handed options it does not know");
      // Prisma's socket argument: the URL's port has nothing listening, the socket has the server.
      const nothing = await freePort();
      const viaSocket = mysqlHeartbeat({ url: `mysql://app:app-password@localhost:${nothing}/probekit?socket=${encodeURIComponent(server.socket)}` });
      const result = await run(viaSocket);
      assert.equal(result.status, "pass", result.detail);
      await viaSocket.close!();
      assert.deepEqual(warnings, []);
    } finally {
      console.error = consoleError;
    }
  });

  it("an unset DATABASE_URL is a clear failure at run time, not a crash at import", async () => {
    const result = await run(mysqlHeartbeat({ url: process.env.PROBEKIT_UNSET_MYSQL_URL }));
    assert.equal(result.output, "unavailable: no database URL configured");
  });

  it("a connection answering something other than 1 is an unexpected result", async () => {
    const result = await run(mysqlHeartbeat({ connection: { query: async () => [[{ ok: "yes" }], []] as const } }));
    assert.equal(result.output, "unexpected result: select 1 returned string");
  });
});

describe("mysqlHeartbeat: faults, with safe public messages", () => {
  it("wrong password: 'authentication failed', and the public body names neither user nor host", async () => {
    const badUrl = server.url(undefined, "app", "wrong-password");
    const check = mysqlHeartbeat({ url: badUrl });
    const result = await run(check);
    assert.equal(result.output, "unavailable: authentication failed");
    assert.match(result.detail, /Access denied for user 'app'/, "the raw error stays in the detail");
    const config = defineHealthConfig({ subsets: { readiness: [check] }, logger: false });
    const body = await (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
    assert.match(body, /authentication failed/);
    for (const secret of ["'app'", "app-password", "wrong-password", "127.0.0.1", String(server.port), "Access denied"]) {
      assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
    }
    await check.close!();
  });

  it("missing database: 'database does not exist'", async () => {
    const check = mysqlHeartbeat({ url: server.url("no_such_db") });
    assert.equal((await run(check)).output, "unavailable: database does not exist");
    await check.close!();
  });

  it("server not listening: 'connection refused'", async () => {
    const port = await freePort();
    const check = mysqlHeartbeat({ url: `mysql://app:app-password@127.0.0.1:${port}/probekit` });
    assert.equal((await run(check)).output, "unavailable: connection refused");
    await check.close!();
  });

  it("a listener that accepts and never answers: fails within the timeout, twice", async () => {
    const hole = await blackHole();
    const check = mysqlHeartbeat({ url: `mysql://app:app-password@127.0.0.1:${hole.port}/probekit` });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const started = performance.now();
        const result = await run(check, 600);
        const took = performance.now() - started;
        assert.equal(result.status, "fail");
        assert.match(result.output, /^unavailable: (connection timed out|timed out after 600 ms)$/);
        assert.ok(took < 600 + 400, `attempt ${attempt} took ${took} ms`);
      }
    } finally {
      await check.close!();
      hole.close();
    }
  });

  it("too many connections: 'too many connections'", async () => {
    const hog = await mysql.createConnection(server.url(undefined, "limited", "limited-password"));
    const check = mysqlHeartbeat({ url: server.url(undefined, "limited", "limited-password") });
    try {
      const result = await run(check);
      assert.equal(result.output, "unavailable: too many connections");
      assert.match(result.detail, /max_user_connections/);
    } finally {
      await check.close!();
      await hog.end();
    }
  });

  it("a server that hangs mid-run: the run times out, the connection is destroyed (not pooled), the next run after it resumes passes", async () => {
    const check = mysqlHeartbeat({ url: server.url(undefined, "paused", "paused-password") });
    try {
      assert.equal((await run(check)).status, "pass");
      assert.equal(await connectionsOf("paused"), 1);
      server.pause();
      let result;
      try {
        const started = performance.now();
        result = await run(check, 500);
        assert.ok(performance.now() - started < 900);
      } finally {
        server.resume();
      }
      assert.equal(result.output, "unavailable: timed out after 500 ms");
      // The server, resumed, sees the destroyed socket's close: the hung connection is gone.
      for (let waited = 0; waited < 3000 && (await connectionsOf("paused")) > 0; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await connectionsOf("paused"), 0, "the timed-out connection was destroyed");
      assert.equal((await run(check)).status, "pass");
    } finally {
      await check.close!();
    }
  });

  it("a process whose check timed out on a hung server exits once closeHealthChecks returns", async () => {
    server.pause();
    try {
      const script = `
        import { closeHealthChecks, defineHealthConfig, runHealthChecks } from "./src/index.ts";
        import { mysqlHeartbeat } from "./src/checks/mysql.ts";
        const config = defineHealthConfig({ subsets: { s: [mysqlHeartbeat({ url: ${JSON.stringify(server.url())} })] }, timeoutMs: 400, logger: false });
        const report = await runHealthChecks(config, "s");
        process.stdout.write(report.checks[0].output + "\\n");
        await closeHealthChecks(config);
      `;
      const { code, output, ms } = await runScript(script);
      assert.equal(code, 0, output);
      assert.match(output, /unavailable: (connection timed out|timed out after 400 ms)/);
      // tsx's own start takes a second or two; a socket left open would hold the process until SIGKILL.
      assert.ok(ms < 12_000, `exited after ${Math.round(ms)} ms`);
    } finally {
      server.resume();
    }
  });

  it("the owned pool recovers after the server restarts", async () => {
    const check = mysqlHeartbeat({ url: server.url() });
    try {
      assert.equal((await run(check)).status, "pass");
      await server.stop();
      try {
        const down = await run(check, 1000);
        assert.equal(down.status, "fail");
        assert.match(down.output, /^unavailable: (connection refused|connection lost|database is shutting down)$/);
      } finally {
        await server.start();
      }
      const back = await run(check);
      assert.equal(back.status, "pass", back.detail);
    } finally {
      await check.close!();
    }
  });
});

describe("mysqlHeartbeat: a Prisma URL's sslaccept, against a server that refuses clients without TLS (PlanetScale does)", () => {
  it("accept_invalid_certs connects over TLS; strict verifies the certificate: untrusted, 'TLS certificate rejected'; trusted, passes", async () => {
    const pki = makePki();
    const secure = await startMariaDb({ tls: pki.leaf({}) });
    try {
      const base = secure.url();
      // The server's refusal of a client without TLS, so that a pass below means TLS.
      const plain = await run(mysqlHeartbeat({ url: base }));
      assert.equal(plain.status, "fail", "require_secure_transport refuses a plain connection");
      const unverified = mysqlHeartbeat({ url: `${base}?sslaccept=accept_invalid_certs` });
      const passing = await run(unverified);
      assert.equal(passing.status, "pass", passing.detail);
      await unverified.close!();
      const strict = mysqlHeartbeat({ url: `${base}?sslaccept=strict` });
      assert.equal((await run(strict)).output, "unavailable: TLS certificate rejected");
      await strict.close!();
      // A process that trusts the server's CA.
      const trusted = await runCheckTrusting(pki.ca, "./src/checks/mysql.ts", "mysqlHeartbeat", `mysqlHeartbeat({ url: ${JSON.stringify(`${base}?sslaccept=strict`)} })`);
      assert.equal(trusted.status, "pass", trusted.detail);
    } finally {
      await secure.destroy();
      pki.destroy();
    }
  });
});

describe("mysqlHeartbeat: a connection the server closed since the last run", () => {
  it("is retried once: the run after KILL passes, on a new connection", async () => {
    await server.admin(`CREATE USER 'retry'@'%' IDENTIFIED BY 'retry-password'`);
    await server.admin(`GRANT ALL ON probekit.* TO 'retry'@'%'`);
    const check = mysqlHeartbeat({ url: server.url(undefined, "retry", "retry-password") });
    const connectionIds = async () => ((await server.admin(`SELECT id FROM information_schema.processlist WHERE user = 'retry'`)) as { id: number | string }[]).map((row) => Number(row.id));
    try {
      // Whether the driver has seen the close before the next query is a race: most rounds it has.
      for (let round = 0; round < 20; round++) {
        assert.equal((await run(check)).status, "pass");
        const [before] = await connectionIds();
        // A failover or a proxy's restart, between two probes: the pool still holds the closed connection.
        await server.admin(`KILL CONNECTION ${before!}`);
        const after = await run(check);
        assert.equal(after.status, "pass", `round ${round}: ${after.detail}`);
        assert.ok(!(await connectionIds()).includes(before!), "the run went through a new connection");
      }
    } finally {
      await check.close!();
    }
  });
});

describe("mysqlHeartbeat: 200 concurrent probes", () => {
  it("share one query through the handler", async () => {
    let queries = 0;
    const pool = mysql.createPool({ uri: server.url(), connectionLimit: 5 });
    pool.on("acquire", () => queries++);
    const config = defineHealthConfig({ subsets: { readiness: [mysqlHeartbeat({ pool })] }, logger: false });
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, () => handleHealthRequest(new Request("http://app.test/healthcheck/readiness"), config)));
      assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [200]);
      assert.equal(queries, 1);
    } finally {
      await closeHealthChecks(config);
      await pool.end();
    }
  });
});

