/**
 * neonHeartbeat over Neon's serverless driver (@neondatabase/serverless, WebSocket) to a
 * real PostgreSQL through a loopback WebSocket-to-TCP proxy (test/helpers/neon-proxy.ts),
 * in Node and inside Vercel's edge-runtime: healthy with a URL, the app's Neon pool and a
 * @vercel/postgres pool; wrong password, missing database, the server stopped, the proxy
 * down, a proxy that never answers or stops at the query (the run's WebSocket closed) —
 * with safe public messages.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { neonConfig, Pool } from "@neondatabase/serverless";
import { createPool } from "@vercel/postgres";
import { build } from "esbuild";
import { EdgeRuntime } from "edge-runtime";
import ws, { WebSocketServer } from "ws";
import { defineHealthConfig, handleHealthRequest } from "../../src/index.ts";
import { neonHeartbeat } from "../../src/checks/neon.ts";
import { EDGE_BUILD_OPTIONS } from "../helpers/edge-bundle.ts";
import { neonTestConfig, startNeonProxy, type NeonProxy } from "../helpers/neon-proxy.ts";
import { PASSWORD, startPostgres, type PostgresServer } from "../helpers/postgres.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let server: PostgresServer;
let proxy: NeonProxy;
let url: string;

before(async () => {
  server = await startPostgres();
  url = await server.createDatabase("neon");
  proxy = await startNeonProxy();
  // Node 20 has no global WebSocket: the app hands Neon's driver the ws package, as Neon's docs say.
  Object.assign(neonConfig, neonTestConfig(proxy.port), { webSocketConstructor: ws });
  // @vercel/postgres carries its own copy of Neon's driver, with its own neonConfig.
  const nested = createRequire(fileURLToPath(import.meta.resolve("@vercel/postgres"))).resolve("@neondatabase/serverless").replace(/index\.js$/, "index.mjs");
  const vercelsNeon = (await import(pathToFileURL(nested).href)) as { neonConfig: typeof neonConfig };
  Object.assign(vercelsNeon.neonConfig, neonTestConfig(proxy.port), { webSocketConstructor: ws });
});
after(async () => {
  await proxy?.stop();
  await server?.destroy();
});

const run = runCheckOnce;

describe("neonHeartbeat in Node", () => {
  it("passes with a URL (a pool per run, ended after it), the app's Neon pool and a @vercel/postgres pool", async () => {
    const result = await run(neonHeartbeat({ url }));
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.name, "postgres");
    assert.equal(result.observedUnit, "ms");
    const idle = await server.admin(`select count(*)::int as n from pg_stat_activity where datname = 'neon'`);
    assert.equal(idle[0]!.n, 0, "the run's pool was ended");

    const pool = new Pool({ connectionString: url, max: 1 });
    const vercel = createPool({ connectionString: url.replace("127.0.0.1", "localhost") });
    try {
      const a = await run(neonHeartbeat({ pool }));
      assert.equal(a.status, "pass", a.detail);
      const b = await run(neonHeartbeat({ pool: vercel, name: "vercel-postgres" }));
      assert.equal(b.status, "pass", b.detail);
      assert.deepEqual((await pool.query("select 2 as two")).rows, [{ two: 2 }], "the app's pool is left open");
    } finally {
      await pool.end();
      await vercel.end();
    }
  });

  it("rejects wrong options when defined; an unset URL fails at run time", async () => {
    assert.throws(() => neonHeartbeat({ url, pool: new Pool({ connectionString: url }) }), /pass only one of pool or url/);
    assert.throws(() => neonHeartbeat({ pool: {} as never }), /pool must be a Neon Pool/);
    assert.equal((await run(neonHeartbeat({ url: process.env.PROBEKIT_UNSET_NEON_URL }))).output, "unavailable: no database URL configured");
  });

  it("wrong password and missing database are named; the public body names neither user nor host", async () => {
    await server.admin(`create role neon_app login password 'neon-app-password'`);
    const bad = neonHeartbeat({ url: server.url("neon", "neon_app", "wrong-password") });
    assert.equal((await run(bad)).output, "unavailable: authentication failed");
    const config = defineHealthConfig({ subsets: { readiness: [bad] }, logger: false });
    const body = await (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
    for (const secret of ["neon_app", "wrong-password", PASSWORD, "127.0.0.1", `:${server.port}`, `:${proxy.port}`, "password authentication"]) {
      assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
    }
    assert.equal((await run(neonHeartbeat({ url: server.url("no_such_db") }))).output, "unavailable: database does not exist");
  });

  it("the database stopped behind the proxy, then the proxy down: each named, and back when they return", async () => {
    const check = neonHeartbeat({ url });
    server.stop();
    try {
      assert.match((await run(check, 2000)).output, /^unavailable: (connection lost|connection refused)$/);
    } finally {
      server.start();
    }
    await proxy.stop();
    try {
      assert.equal((await run(check, 2000)).output, "unavailable: connection refused");
    } finally {
      await proxy.start();
    }
    assert.equal((await run(check)).status, "pass");
  });
});

/**
 * A WebSocket endpoint in Neon's proxy's place that accepts every socket and answers
 * nothing (`forward: false`), or relays to the database until the client sends the
 * heartbeat's query and then stops, as a host that hangs mid-session; it notes when each
 * socket closes.
 */
async function stallingProxy(forward: boolean): Promise<{ port: number; closedAt: number[]; open(): number; close(): void }> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const closedAt: number[] = [];
  server.on("connection", (socket, request) => {
    socket.once("close", () => closedAt.push(performance.now()));
    if (!forward) return;
    const [host, port] = (new URL(request.url ?? "/", "http://proxy").searchParams.get("address") ?? "").split(":");
    const upstream = connect(Number(port), host);
    let stalled = false;
    upstream.on("data", (chunk) => socket.send(chunk));
    upstream.on("error", () => socket.terminate());
    socket.on("message", (data: Buffer) => {
      stalled ||= data.includes("select 1");
      if (!stalled) upstream.write(data);
    });
    socket.once("close", () => upstream.destroy());
  });
  return {
    port: (server.address() as { port: number }).port,
    closedAt,
    open: () => server.clients.size,
    close() {
      for (const socket of server.clients) socket.terminate();
      server.close();
    },
  };
}

describe("neonHeartbeat: a proxy that hangs", () => {
  async function throughStallingProxy(forward: boolean, timeoutMs: number) {
    const stalling = await stallingProxy(forward);
    Object.assign(neonConfig, neonTestConfig(stalling.port));
    try {
      const started = performance.now();
      const result = await run(neonHeartbeat({ url }), timeoutMs);
      const endedAt = performance.now();
      for (let waited = 0; stalling.open() > 0 && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      return { result, took: endedAt - started, open: stalling.open(), closedAfterMs: stalling.closedAt.map((at) => at - endedAt) };
    } finally {
      stalling.close();
      Object.assign(neonConfig, neonTestConfig(proxy.port));
    }
  }

  it("accepting and never answering: 'connection timed out' within the timeout, the run's WebSocket closed", async () => {
    const { result, took, open, closedAfterMs } = await throughStallingProxy(false, 1000);
    assert.equal(result.output, "unavailable: connection timed out", result.detail);
    assert.ok(took < 1000 + 500, `took ${Math.round(took)} ms`);
    assert.equal(open, 0, "the WebSocket is left open");
    assert.equal(closedAfterMs.length, 1);
  });

  it("the query never answered: 'timed out after 1000 ms', and the pool's WebSocket closed at once, not when the server answers", async () => {
    const { result, took, open, closedAfterMs } = await throughStallingProxy(true, 1000);
    assert.equal(result.output, "unavailable: timed out after 1000 ms", result.detail);
    assert.ok(took < 1000 + 500, `took ${Math.round(took)} ms`);
    assert.equal(open, 0, "the WebSocket is left open");
    assert.ok(closedAfterMs.length === 1 && closedAfterMs[0]! < 1000, `closed ${closedAfterMs.map(Math.round).join(", ")} ms after the run`);
  });
});

describe("neonHeartbeat inside Vercel's edge-runtime", () => {
  it("passes, and names a wrong password and the proxy down, over the edge's own WebSocket", async () => {
    const bundled = await build({ ...EDGE_BUILD_OPTIONS, entryPoints: [new URL("../fixtures/edge-neon.ts", import.meta.url).pathname], format: "iife", minify: true });
    const edge = new EdgeRuntime({ initialCode: bundled.outputFiles[0]!.text });
    const ask = async (databaseUrl: string, timeout = 3000) =>
      (await (await edge.dispatchFetch(`http://edge.test/?${new URLSearchParams({ url: databaseUrl, proxy: String(proxy.port), timeout: String(timeout) })}`)).json()) as { status: string; output: string; detail: string };
    const healthy = await ask(url);
    assert.equal(healthy.status, "pass", healthy.detail);
    assert.equal((await ask(server.url("neon", "postgres", "wrong-password"))).output, "unavailable: authentication failed");
    await proxy.stop();
    try {
      const down = await ask(url, 1500);
      assert.equal(down.status, "fail");
      assert.match(down.output, /^unavailable: (connection refused|WebSocket connection failed)$/);
    } finally {
      await proxy.start();
    }
  });
});
