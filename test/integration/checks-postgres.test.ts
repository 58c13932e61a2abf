/**
 * postgresHeartbeat against a real PostgreSQL server, healthy and broken in every
 * way the issue lists: stopped, black-holed, wrong password, missing database,
 * connections exhausted, restarted, a TLS certificate the driver rejects, and
 * hammered by 200 concurrent probes; and through a real PgBouncer in transaction mode.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import postgres from "postgres";
import { closeHealthChecks, defineHealthConfig, handleHealthRequest, runHealthChecks } from "../../src/index.ts";
import { postgresHeartbeat } from "../../src/checks/postgres.ts";
import { query } from "../../src/internal/postgres.ts";
import { makePki, runCheckTrusting } from "../helpers/certificates.ts";
import { blackHole, freePort } from "../helpers/net.ts";
import { startPgBouncer, type PgBouncer } from "../helpers/pgbouncer.ts";
import { PASSWORD, serveTls, startPostgres, type PostgresServer } from "../helpers/postgres.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let server: PostgresServer;
let url: string;

before(async () => {
  server = await startPostgres();
  url = await server.createDatabase("heartbeat");
  await server.admin(`create role app login password 'app-password'`);
});
after(() => server?.destroy());

const run = runCheckOnce;

describe("postgresHeartbeat: healthy", () => {
  it("passes with a URL (its own one-connection pool), reporting the round trip", async () => {
    const result = await run(postgresHeartbeat({ url }));
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.name, "postgres");
    assert.equal(result.componentType, "datastore");
    assert.equal(result.observedUnit, "ms");
    assert.ok(typeof result.observedValue === "number" && result.observedValue >= 0 && result.observedValue < 3000);
  });

  it("passes with the app's postgres.js instance, a pg Pool and a pg Client", async () => {
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const check of [postgresHeartbeat({ sql }), postgresHeartbeat({ client: pool }), postgresHeartbeat({ client, name: "pg-client" })]) {
        const result = await run(check);
        assert.equal(result.status, "pass", `${check.name}: ${result.detail}`);
      }
    } finally {
      await Promise.all([sql.end(), pool.end(), client.end()]);
    }
  });

  it("a Prisma app's DATABASE_URL passes: ?schema= and Prisma's pool arguments are not sent to the server, the URL's own settings are", async () => {
    // postgres.js sends a URL's unknown arguments as settings, which the server refuses:
    // unrecognized configuration parameter "schema". `prisma init` writes ?schema=public.
    const prismaUrl = `${url}?schema=public&connection_limit=5&pool_timeout=10&pgbouncer=true&statement_cache_size=0&socket_timeout=5&application_name=prisma-app`;
    const check = postgresHeartbeat({ url: prismaUrl });
    try {
      const result = await run(check);
      assert.equal(result.status, "pass", result.detail);
      const sessions = await server.admin(`select count(*)::int as n from pg_stat_activity where datname = 'heartbeat' and application_name = 'prisma-app'`);
      assert.equal(sessions[0]!.n, 1, "the check's connection, under the URL's application_name");
    } finally {
      await check.close!();
    }
  });

  it("a URL argument the server refuses as a setting (libpq's sslcert, which postgres.js sends on) is named as such, not 'query failed'", async () => {
    const check = postgresHeartbeat({ url: `${url}?sslcert=/etc/app/client.crt` });
    try {
      const result = await run(check);
      assert.equal(result.output, "unavailable: the server refused a setting the URL carries");
      assert.match(result.detail, /unrecognized configuration parameter "sslcert"/, "the server's words stay in the detail");
    } finally {
      await check.close!();
    }
  });

  it("creates nothing at definition: no connection until the first run", async () => {
    const before = await server.admin(`select count(*)::int as n from pg_stat_activity where application_name = 'probekit'`);
    postgresHeartbeat({ url: url.replace("heartbeat", "never-used") });
    const afterDefinition = await server.admin(`select count(*)::int as n from pg_stat_activity where application_name = 'probekit'`);
    assert.equal(afterDefinition[0]!.n, before[0]!.n);
  });

  it("rejects ambiguous connection options when defined", () => {
    assert.throws(() => postgresHeartbeat({ url, client: { query: async () => ({ rows: [] }) } }), /only one of sql/);
    assert.throws(() => postgresHeartbeat({ sql: {} as never }), /postgres\.js instance/);
  });

  it("an unset DATABASE_URL is a clear failure at run time, not a crash at import (next build runs without env)", async () => {
    assert.equal((await run(postgresHeartbeat({ url: "" }))).output, "unavailable: no database URL configured");
    assert.equal((await run(postgresHeartbeat({ url: undefined }))).output, "unavailable: no database URL configured");
    assert.equal((await run(postgresHeartbeat({}))).output, "unavailable: no database URL configured");
  });

  it("a client answering something other than 1 is an unexpected result", async () => {
    const result = await run(postgresHeartbeat({ client: { query: async () => ({ rows: [{ ok: 2 }] }) } }));
    assert.equal(result.output, "unexpected result: select 1 returned number");
  });
});

describe("postgresHeartbeat: faults, with safe public messages", () => {
  it("wrong password: 'authentication failed', and the public body names neither user nor host", async () => {
    const badUrl = server.url("heartbeat", "app", "wrong-password");
    const result = await run(postgresHeartbeat({ url: badUrl }));
    assert.equal(result.output, "unavailable: authentication failed");
    const config = defineHealthConfig({ subsets: { readiness: [postgresHeartbeat({ url: badUrl })] }, logger: false });
    const body = await (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
    assert.match(body, /authentication failed/);
    for (const secret of ['"app"', "app-password", "wrong-password", "127.0.0.1", String(server.port)]) {
      assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
    }
    assert.match(result.detail, /password authentication failed/, "the raw error stays in the detail");
  });

  it("missing database: 'database does not exist'", async () => {
    assert.equal((await run(postgresHeartbeat({ url: server.url("no_such_db") }))).output, "unavailable: database does not exist");
  });

  it("server not listening: 'connection refused'", async () => {
    const port = await freePort();
    const result = await run(postgresHeartbeat({ url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/x` }));
    assert.equal(result.output, "unavailable: connection refused");
  });

  it("a listener that accepts and never answers: fails within the timeout", async () => {
    const hole = await blackHole();
    const { port } = hole;
    try {
      const check = postgresHeartbeat({ url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/x` });
      for (let attempt = 0; attempt < 2; attempt++) {
        const started = performance.now();
        const result = await run(check, 600);
        const took = performance.now() - started;
        assert.equal(result.status, "fail");
        assert.match(result.output, /^unavailable: (connection timed out|timed out after 600 ms)$/);
        assert.ok(took < 600 + 400, `attempt ${attempt} took ${took} ms`);
      }
    } finally {
      hole.close();
    }
  });

  it("connections exhausted: 'too many connections'", async () => {
    // Open sessions one at a time until the server refuses: then every slot a non-superuser may use is taken.
    const hogs: postgres.Sql[] = [];
    try {
      for (let refused = false; !refused && hogs.length < 100; ) {
        const hog = postgres(server.url("heartbeat", "app", "app-password"), { max: 1, onnotice: () => {} });
        hogs.push(hog);
        refused = await hog`select 1`.then(
          () => false,
          (error: { code?: string }) => error.code === "53300",
        );
      }
      const result = await run(postgresHeartbeat({ url: server.url("heartbeat", "app", "app-password") }));
      assert.equal(result.output, "unavailable: too many connections");
      assert.match(result.detail, /connection slots are reserved|too many clients/);
    } finally {
      await Promise.all(hogs.map((hog) => hog.end()));
    }
  });

  it("cancels a query on the server when the check times out", async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new DOMException("timed out", "TimeoutError")), 200);
      await assert.rejects(query({ kind: "postgres.js", sql }, "select pg_sleep(30)", controller.signal, 3000));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const active = await server.admin(`select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(30)%' and state = 'active'`);
      assert.equal(active[0]!.n, 0, "the sleeping query was cancelled");
    } finally {
      await sql.end();
    }
  });

  it("the owned pool recovers after the server restarts", async () => {
    const check = postgresHeartbeat({ url });
    assert.equal((await run(check)).status, "pass");
    server.stop();
    try {
      const down = await run(check, 1000);
      assert.equal(down.status, "fail");
      assert.match(down.output, /^unavailable: (connection refused|connection lost|database is shutting down)$/);
    } finally {
      server.start();
    }
    const back = await run(check);
    assert.equal(back.status, "pass", back.detail);
  });
});

describe("postgresHeartbeat: a connection the server closed since the last run", () => {
  it("is retried once: the run after pg_terminate_backend passes, on a new connection", async () => {
    const retryUrl = await server.createDatabase("retry_once");
    const check = postgresHeartbeat({ url: retryUrl });
    const backends = () => server.admin(`select pid from pg_stat_activity where datname = 'retry_once' and application_name = 'probekit'`);
    try {
      // Whether the driver has seen the close before the next query is a race: most rounds it has.
      for (let round = 0; round < 20; round++) {
        assert.equal((await run(check)).status, "pass");
        const [before] = await backends();
        // A failover or a pooler's restart, between two probes: the pool still holds the closed connection.
        await server.admin(`select pg_terminate_backend(${Number(before!.pid)})`);
        const after = await run(check);
        assert.equal(after.status, "pass", `round ${round}: ${after.detail}`);
        const [now] = await backends();
        assert.notEqual(now?.pid, before!.pid, "the run went through a new connection");
      }
    } finally {
      await check.close?.();
    }
  });
});

describe("postgresHeartbeat: 200 concurrent probes", () => {
  it("share one query, and leave no connection behind but the pool's one", async () => {
    let queries = 0;
    const sql = postgres(url, { max: 5, onnotice: () => {}, connection: { application_name: "probekit-counted" } });
    const counted = { unsafe: (text: string) => (queries++, sql.unsafe(text)) };
    const owned = postgresHeartbeat({ url, name: "owned" });
    const config = defineHealthConfig({ subsets: { readiness: [postgresHeartbeat({ sql: counted }), owned] }, logger: false });
    try {
      const responses = await Promise.all(
        Array.from({ length: 200 }, () => handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)),
      );
      assert.ok(responses.every((response) => response.status === 200));
      assert.equal(queries, 1);
      const connections = await server.admin(`select application_name, count(*)::int as n from pg_stat_activity where application_name like 'probekit%' group by 1 order by 1`);
      const owners = Object.fromEntries(connections.map((row) => [row.application_name, row.n]));
      assert.ok((owners.probekit as number) <= 2, `owned pools hold ${JSON.stringify(owners)}`); // this test's and the restart test's
      assert.ok((owners["probekit-counted"] as number) <= 1);
    } finally {
      await sql.end();
    }
  });
});

describe("postgresHeartbeat: a TLS certificate the driver rejects", () => {
  it("sslmode=verify-full against a self-signed or an untrusted CA's certificate: 'TLS certificate rejected', and the public body names no host, CA or driver text", async () => {
    const pki = makePki();
    try {
      for (const leaf of [pki.selfSigned(), pki.leaf({})]) {
        const tlsOff = await serveTls(server, leaf);
        // TLS is served: without verification (sslmode=require) the same server passes.
        const unverified = postgresHeartbeat({ url: `${url}?sslmode=require`, name: "unverified" });
        const check = postgresHeartbeat({ url: `${url}?sslmode=verify-full` });
        const config = defineHealthConfig({ subsets: { readiness: [check], unverified: [unverified] }, logger: false });
        try {
          const passing = await run(unverified);
          assert.equal(passing.status, "pass", passing.detail);

          const result = await run(check);
          assert.equal(result.output, "unavailable: TLS certificate rejected");
          assert.match(result.detail, /self-signed certificate|unable to verify the first certificate/, "the driver's reason stays in the detail");

          const response = await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config);
          assert.equal(response.status, 500);
          const body = await response.text();
          assert.equal(JSON.parse(body).checks.postgres[0].output, "unavailable: TLS certificate rejected");
          for (const secret of ["127.0.0.1", "localhost", String(server.port), "heartbeat", "probekit test CA", "self-signed certificate", "first certificate", "SELF_SIGNED", "UNABLE_TO_VERIFY", "verify-full", PASSWORD]) {
            assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
          }
        } finally {
          await closeHealthChecks(config);
          await tlsOff();
        }
      }
    } finally {
      pki.destroy();
    }
  });
});

describe("postgresHeartbeat: sslrootcert=<file> (RDS's, Supabase's, DigitalOcean's CA bundles), which postgres.js does not read", () => {
  it("the server is checked against the file's CAs as libpq checks it: verify-full the chain and the name, verify-ca and require the chain, prefer not at all", async () => {
    const pki = makePki();
    const otherPki = makePki();
    const work = mkdtempSync(join(tmpdir(), "probekit-pg-roots-"));
    const [ca, otherCa] = [join(work, "ca.crt"), join(work, "other-ca.crt")];
    writeFileSync(ca, pki.ca);
    writeFileSync(otherCa, otherPki.ca);
    const check = async (query: string) => {
      const { status, output } = await run(postgresHeartbeat({ url: `${url}?${query}` }));
      return status === "pass" ? "pass" : output;
    };
    try {
      let tlsOff = await serveTls(server, pki.leaf({}));
      try {
        // Sent on, the argument is refused by the server: unrecognized configuration parameter "sslrootcert".
        assert.equal(await check(`sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`), "pass");
        assert.equal(await check(`sslmode=verify-full&sslrootcert=${encodeURIComponent(otherCa)}`), "unavailable: TLS certificate rejected");
        assert.equal(await check(`sslmode=require&sslrootcert=${encodeURIComponent(otherCa)}`), "unavailable: TLS certificate rejected", "require with a root file is verify-ca, as in libpq");
        assert.equal(await check(`sslmode=prefer&sslrootcert=${encodeURIComponent(otherCa)}`), "pass", "prefer verifies nothing");
        assert.equal(await check(`sslmode=verify-full&sslrootcert=${encodeURIComponent(join(work, "missing.crt"))}`), "unavailable: the URL's sslrootcert file cannot be read");
      } finally {
        await tlsOff();
      }
      // A certificate the CA signed for another name: the chain holds, the name does not.
      tlsOff = await serveTls(server, pki.leaf({ names: ["DNS:db.other.example"] }));
      try {
        assert.equal(await check(`sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`), "unavailable: TLS certificate rejected");
        assert.equal(await check(`sslmode=verify-ca&sslrootcert=${encodeURIComponent(ca)}`), "pass");
      } finally {
        await tlsOff();
      }
    } finally {
      pki.destroy();
      otherPki.destroy();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe("postgresHeartbeat: channel_binding, which Neon's connection strings carry and postgres.js cannot do", () => {
  it("require: the server is authenticated by its certificate instead (untrusted: 'TLS certificate rejected'; trusted: passes); prefer and disable connect as sslmode says", async () => {
    const pki = makePki();
    const tlsOff = await serveTls(server, pki.leaf({}));
    try {
      // Sent on, any of them is refused by the server: unrecognized configuration parameter "channel_binding".
      for (const binding of ["prefer", "disable"]) {
        const result = await run(postgresHeartbeat({ url: `${url}?sslmode=require&channel_binding=${binding}` }));
        assert.equal(result.status, "pass", `${binding}: ${result.detail}`);
      }
      const bound = `${url}?sslmode=require&channel_binding=require`;
      const untrusted = await run(postgresHeartbeat({ url: bound }));
      assert.equal(untrusted.output, "unavailable: TLS certificate rejected", "never connected without authenticating the server");
      // A process that trusts the server's CA.
      const trusted = await runCheckTrusting(pki.ca, "./src/checks/postgres.ts", "postgresHeartbeat", `postgresHeartbeat({ url: ${JSON.stringify(bound)} })`);
      assert.equal(trusted.status, "pass", trusted.detail);
    } finally {
      await tlsOff();
      pki.destroy();
    }
  });
});

// postgres.js sends the heartbeat (unsafe() without parameters) as a simple Query whatever the pool's
// `prepare` says, and re-prepares a named statement a server connection lacks: these runs hold the
// outcome the README promises (PgBouncer-safe), not the option itself.
describe("postgresHeartbeat({ url }) through PgBouncer in transaction mode", () => {
  let bouncer: PgBouncer | undefined;
  let unavailable: string | undefined;
  before(async () => {
    try {
      // Two server connections, handed out in turn: consecutive transactions of one client land on different ones.
      bouncer = await startPgBouncer(server, { poolSize: 2, roundRobin: true });
    } catch (error) {
      // A developer without pgbouncer may skip; CI must not (npm test's set-up step installs it).
      if (process.env.CI === "true" || !/not installed/.test(String(error))) throw error;
      unavailable = String(error);
    }
  });
  after(() => bouncer?.stop());

  it("6 checks, each its own pool, on 2 server connections: 40 runs in a row all pass", async (t) => {
    if (unavailable !== undefined) return t.skip(`PgBouncer is not available: ${unavailable}`);
    const through = bouncer!.url("heartbeat");
    const config = defineHealthConfig({
      subsets: { readiness: Array.from({ length: 6 }, (_, i) => postgresHeartbeat({ url: through, name: `postgres-${i}` })) },
      cacheTtlMs: 0,
      logger: false,
    });
    // Alongside, a client like the checks' (one connection) notes which server connection runs each of its statements.
    const watcher = postgres(through, { max: 1, onnotice: () => {} });
    const backends = new Set<number>();
    try {
      for (let round = 0; round < 40; round++) {
        const [report, [row]] = await Promise.all([runHealthChecks(config, "readiness"), watcher.unsafe("select pg_backend_pid() as pid")]);
        backends.add(row!.pid as number);
        const failed = report.checks.filter((check) => check.status !== "pass");
        assert.deepEqual(failed.map((check) => `${check.name}: ${check.output} (${check.detail})`), [], `round ${round}`);
        assert.equal(report.checks.length, 6);
      }
      assert.ok(backends.size >= 2, `one client's statements ran on ${backends.size} server connection(s): PgBouncer is not moving clients between them`);
    } finally {
      await watcher.end();
      await closeHealthChecks(config);
    }
  });

  it("this PgBouncer does break a client that keeps named prepared statements (pg's named query)", async (t) => {
    if (unavailable !== undefined) return t.skip(`PgBouncer is not available: ${unavailable}`);
    const client = new pg.Client({ connectionString: bouncer!.url("heartbeat") });
    const others = postgres(bouncer!.url("heartbeat"), { max: 4, onnotice: () => {} });
    await client.connect();
    const errors: string[] = [];
    try {
      for (let round = 0; round < 20 && errors.length === 0; round++) {
        await Promise.all([
          client.query({ name: "heartbeat", text: "select 1 as ok" }).catch((error: Error) => void errors.push(error.message)),
          ...Array.from({ length: 4 }, () => others.unsafe("select 1")),
        ]);
      }
      assert.match(errors[0] ?? "no error in 20 rounds", /prepared statement "heartbeat" does not exist/);
    } finally {
      await Promise.all([client.end(), others.end()]);
    }
  });
});
