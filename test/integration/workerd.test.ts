/**
 * probekit on Cloudflare Workers, for real: a Worker (`liveness(request) ??
 * handleHealthRequest(request, config)`, test/fixtures/workerd-worker.ts) bundled as
 * wrangler would and served by the npm `workerd` binary, against the local servers the
 * other tests use — a real PostgreSQL through postgres.js's `cloudflare:sockets` build, the
 * Upstash REST server on a real Redis, an HTTP server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort, restartableHttpServer } from "../helpers/net.ts";
import { startPostgres, type PostgresServer } from "../helpers/postgres.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { startUpstashServer, type UpstashServer } from "../helpers/upstash-server.ts";
import { serveWorker, type WorkerdServer } from "../helpers/workerd.ts";
import { startNeonProxy, type NeonProxy } from "../helpers/neon-proxy.ts";

let postgresServer: PostgresServer;
let redis: RedisServer;
let upstash: UpstashServer;
let target: { start(): Promise<void>; stop(): Promise<void> };
let worker: WorkerdServer;
let proxy: NeonProxy;
const TOKEN = "workerd-token";

before(async () => {
  [postgresServer, redis] = await Promise.all([startPostgres(), startRedis()]);
  upstash = await startUpstashServer(redis.url());
  proxy = await startNeonProxy();
  const targetPort = await freePort();
  target = restartableHttpServer(targetPort, (_request, response) => response.end("ok"));
  await target.start();
  const url = await postgresServer.createDatabase("workerd");
  worker = await serveWorker(new URL("../fixtures/workerd-worker.ts", import.meta.url).pathname, {
    HTTP_TARGET: `http://127.0.0.1:${targetPort}/health`,
    UPSTASH_URL: upstash.url,
    UPSTASH_TOKEN: upstash.token,
    DATABASE_URL: url,
    BAD_DATABASE_URL: postgresServer.url("workerd", "postgres", "wrong-password"),
    REFUSED_DATABASE_URL: `postgres://postgres:x@127.0.0.1:${await freePort()}/x`,
    NEON_PROXY_PORT: String(proxy.port),
  });
});
after(async () => {
  await worker?.close();
  await proxy?.stop();
  await target?.stop();
  await upstash?.close();
  await redis?.stop();
  await postgresServer?.destroy();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${worker.url}${path}`, { headers });
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text(), headers: response.headers };
}

function outputOf(text: string, check: string): string {
  return (JSON.parse(text) as { checks: Record<string, { output?: string }[]> }).checks[check]![0]!.output ?? "";
}

describe("probekit in workerd", () => {
  it("liveness from the short-circuit; readiness as JSON and HTML; an unknown subset is 404", async () => {
    const live = await get("/healthcheck/liveness");
    assert.equal(live.status, 200);
    assert.equal(live.text, '{"status":"ok"}');
    const json = await get("/healthcheck/readiness?format=json");
    assert.equal(json.status, 200);
    assert.equal(outputOf(json.text, "self"), "ok");
    const html = await get("/healthcheck/readiness", { accept: "text/html" });
    assert.match(html.type ?? "", /^text\/html/);
    assert.match(html.text, /<!doctype html>/i);
    assert.equal((await get("/healthcheck/nope")).status, 404);
  });

  it("a failing check: 500 with the safe message; its raw detail only with the token", async () => {
    const failing = await get("/healthcheck/failing?format=json");
    assert.equal(failing.status, 500);
    assert.equal(outputOf(failing.text, "queue"), "unavailable: connection refused");
    assert.ok(!failing.text.includes("10.9.8.7"));
    assert.match((await get("/healthcheck/failing?format=json", { authorization: `Bearer ${TOKEN}` })).text, /host=10\.9\.8\.7/);
  });

  it("the per-check timeout holds", async () => {
    const started = performance.now();
    const hung = await get("/healthcheck/hang?format=json");
    assert.equal(hung.status, 500);
    assert.equal(outputOf(hung.text, "hang"), "unavailable: timed out after 200 ms");
    assert.ok(performance.now() - started < 1500);
  });

  it("concurrent requests share one run", async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => get("/healthcheck/counted?format=json")));
    assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [200]);
    assert.equal(new Set(answers.map((answer) => outputOf(answer.text, "slow"))).size, 1, answers.map((answer) => answer.text).join("\n"));
  });

  it("httpEndpoint: up, then down with a safe message", async () => {
    assert.equal((await get("/healthcheck/http")).status, 200);
    await target.stop();
    try {
      // workerd's fetch says "Network connection lost." for a refused connection too.
      for (let attempt = 0; attempt < 2; attempt++) {
        const down = await get("/healthcheck/http?format=json");
        assert.equal(down.status, 500);
        assert.match(outputOf(down.text, "upstream"), /^unavailable: (connection refused|connection lost)$/);
        assert.ok(!down.text.includes("127.0.0.1"));
      }
    } finally {
      await target.start();
    }
  });

  it("the Upstash checks against the REST server on a real Redis", async () => {
    const result = await get("/healthcheck/upstash?format=json");
    assert.equal(result.status, 200, result.text);
  });

  it("postgresHeartbeat passes on every request (no socket crosses requests), and names refused, wrong password and a stopped server", async () => {
    for (let request = 0; request < 6; request++) {
      const ok = await get("/healthcheck/postgres?format=json", { authorization: `Bearer ${TOKEN}` });
      assert.equal(ok.status, 200, `request ${request}: ${ok.text}`);
    }
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => get("/healthcheck/postgres")));
    assert.deepEqual(concurrent.map((answer) => answer.status), [200, 200, 200, 200, 200]);
    assert.equal(outputOf((await get("/healthcheck/postgres-refused?format=json")).text, "postgres"), "unavailable: connection refused");
    assert.equal(outputOf((await get("/healthcheck/postgres-bad-password?format=json")).text, "postgres"), "unavailable: authentication failed");
    postgresServer.stop();
    try {
      const down = await get("/healthcheck/postgres?format=json");
      assert.equal(down.status, 500);
      assert.match(outputOf(down.text, "postgres"), /^unavailable: (connection refused|connection lost|database is shutting down)$/);
    } finally {
      postgresServer.start();
    }
    assert.equal((await get("/healthcheck/postgres")).status, 200);
  });

  it("neonHeartbeat over the Workers WebSocket: passes on every request; a wrong password is named", async () => {
    for (let request = 0; request < 3; request++) {
      const ok = await get("/healthcheck/neon?format=json", { authorization: `Bearer ${TOKEN}` });
      assert.equal(ok.status, 200, `request ${request}: ${ok.text}`);
    }
    assert.equal(outputOf((await get("/healthcheck/neon-bad-password?format=json")).text, "postgres"), "unavailable: authentication failed");
  });

  it("workerd logged no uncaught error", () => {
    assert.doesNotMatch(worker.output(), /Uncaught|uncaught exception|Error: /, worker.output());
  });
});
