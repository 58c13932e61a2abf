/**
 * Worker heartbeats through a real redis-server (and Upstash REST): publishers on
 * timers (their default TTL and interval as Redis reports them), the cluster and local
 * checks reading them, staleness after a stop, the default unhealthy statuses.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis as IoRedis } from "ioredis";
import { defineHealthConfig, runHealthChecks, type Check } from "../../src/index.ts";
import { clusterHeartbeat, localHeartbeat, publishHeartbeat } from "../../src/checks/heartbeat.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { startUpstashServer, type UpstashServer } from "../helpers/upstash-server.ts";

let redis: RedisServer;
let upstash: UpstashServer;
const ran = new Set<Check>();
const stops: (() => Promise<void>)[] = [];

before(async () => {
  redis = await startRedis();
  upstash = await startUpstashServer(redis.url());
});
after(async () => {
  await Promise.all(stops.map((stop) => stop()));
  await Promise.all([...ran].map((check) => check.close?.()));
  await upstash?.close();
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(check: Check) {
  ran.add(check);
  const config = defineHealthConfig({ subsets: { s: [check] }, cacheTtlMs: 0, logger: false });
  return (await runHealthChecks(config, "s")).checks[0]!;
}

function publish(options: Parameters<typeof publishHeartbeat>[0]) {
  const stop = publishHeartbeat(options);
  stops.push(stop);
  return stop;
}

describe("Redis worker heartbeats", () => {
  it("the cluster check passes while a worker beats and fails after every worker stops and its beat expires", async () => {
    const stopA = publish({ url: redis.url(), cluster: "emails", host: "worker-a", intervalMs: 50, ttlMs: 300 });
    const stopB = publish({ url: redis.url(), cluster: "emails", host: "worker-b", intervalMs: 50, ttlMs: 300 });
    await sleep(150);
    const check = clusterHeartbeat({ url: redis.url(), cluster: "emails" });
    const both = await run(check);
    assert.equal(both.status, "pass", both.detail);
    assert.equal(both.output, "2 workers alive");
    assert.equal(both.name, "workers:emails");
    await stopA();
    await sleep(400);
    assert.equal((await run(check)).output, "1 worker alive");
    await stopB();
    await sleep(400);
    assert.equal((await run(check)).output, "unavailable: no fresh heartbeat from cluster emails");
  });

  it("unhealthy statuses: a cluster whose fresh workers all report stopping fails; one running worker passes", async () => {
    let status = "Stopping";
    publish({ url: redis.url(), cluster: "jobs", host: "w1", intervalMs: 50, ttlMs: 300, status: () => status });
    await sleep(120);
    const check = clusterHeartbeat({ url: redis.url(), cluster: "jobs" });
    assert.equal((await run(check)).output, "unavailable: all 1 workers of jobs report Stopping");
    status = "running";
    await sleep(120);
    assert.equal((await run(check)).status, "pass");
    assert.equal((await run(clusterHeartbeat({ url: redis.url(), cluster: "jobs", unhealthyStatuses: ["RUNNING"] }))).status, "fail");
  });

  it("a worker reporting 'stopped' (a default unhealthy status) is not alive: both checks fail, naming it", async () => {
    publish({ url: redis.url(), cluster: "halted", host: "h1", intervalMs: 50, ttlMs: 300, status: "stopped" });
    await sleep(120);
    const cluster = await run(clusterHeartbeat({ url: redis.url(), cluster: "halted" }));
    assert.equal(cluster.status, "fail");
    assert.equal(cluster.output, "unavailable: all 1 workers of halted report stopped");
    const local = await run(localHeartbeat({ url: redis.url(), cluster: "halted", host: "h1" }));
    assert.equal(local.status, "fail");
    assert.equal(local.output, "unavailable: h1 reports stopped");
  });

  it("defaults: the host's key is set every 1 s with a 3 s TTL, as Redis reports them (keyspace events, PTTL)", async () => {
    const key = "probekit:heartbeat:{defaults}:host:d1";
    const client = new IoRedis(redis.url());
    const subscriber = new IoRedis(redis.url());
    // Redis publishes every SET of the key (https://redis.io/docs/latest/develop/use/keyspace-notifications/).
    await client.config("SET", "notify-keyspace-events", "K$");
    const beats: { at: number; pttl: Promise<number> }[] = [];
    subscriber.on("message", (_channel: string, event: string) => {
      if (event === "set") beats.push({ at: performance.now(), pttl: client.pttl(key) });
    });
    try {
      await subscriber.subscribe(`__keyspace@0__:${key}`);
      publish({ url: redis.url(), cluster: "defaults", host: "d1" });
      // A beat at once, then at 1, 2 and 3 s.
      for (let waited = 0; beats.length < 4 && waited < 4500; waited += 50) await sleep(50);
      const gaps = beats.slice(1, 4).map((beat, index) => beat.at - beats[index]!.at);
      assert.equal(gaps.length, 3, `${beats.length} beats in 4.5 s`);
      assert.ok(gaps.every((gap) => gap > 800 && gap < 1300), `beat every 1 s: ${gaps.map(Math.round).join(", ")} ms apart`);
      for (const pttl of await Promise.all(beats.map((beat) => beat.pttl))) assert.ok(pttl <= 3000 && pttl > 2000, `PTTL right after a beat: ${pttl}`);
    } finally {
      subscriber.disconnect();
      await client.config("SET", "notify-keyspace-events", "");
      client.disconnect();
    }
  });

  it("the local check passes for this host only while its own beat is fresh", async () => {
    const stop = publish({ url: redis.url(), cluster: "local", host: "pod-7", intervalMs: 50, ttlMs: 300 });
    await sleep(120);
    assert.equal((await run(localHeartbeat({ url: redis.url(), cluster: "local", host: "pod-7" }))).status, "pass");
    assert.equal((await run(localHeartbeat({ url: redis.url(), cluster: "local", host: "pod-8" }))).output, "unavailable: no fresh heartbeat from pod-8");
    await stop();
    await sleep(400);
    assert.equal((await run(localHeartbeat({ url: redis.url(), cluster: "local", host: "pod-7" }))).output, "unavailable: no fresh heartbeat from pod-7");
  });

  it("works over Upstash REST too, and never uses KEYS", async () => {
    // Redis's own per-command counters (INFO commandstats): no MONITOR stream to race with the other publishers.
    const client = new IoRedis(redis.url());
    const calls = async () => {
      const info = await client.info("commandstats");
      return new Map([...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map((match) => [match[1]!.toUpperCase(), Number(match[2])]));
    };
    try {
      const before = await calls();
      publish({ upstash: { url: upstash.url, token: upstash.token }, cluster: "edge", host: "e1", intervalMs: 50, ttlMs: 300 });
      await sleep(150);
      const result = await run(clusterHeartbeat({ upstash: { url: upstash.url, token: upstash.token }, cluster: "edge" }));
      assert.equal(result.status, "pass", result.detail);
      const after = await calls();
      const grew = (command: string) => (after.get(command) ?? 0) - (before.get(command) ?? 0);
      assert.ok(grew("ZADD") > 0 && grew("MGET") > 0, JSON.stringify([...after]));
      assert.equal(grew("KEYS"), 0);
      assert.equal(grew("SCAN"), 0);
    } finally {
      client.disconnect();
    }
  });

  it("a publisher survives Redis going away and beats again when it is back", async () => {
    const errors: unknown[] = [];
    publish({ url: redis.url(), cluster: "resilient", host: "r1", intervalMs: 50, ttlMs: 300, onError: (error) => errors.push(error) });
    await sleep(120);
    await redis.stop();
    await sleep(300);
    await redis.start();
    const check = clusterHeartbeat({ url: redis.url(), cluster: "resilient" });
    let result = await run(check);
    for (let attempt = 0; result.status !== "pass" && attempt < 30; attempt++) {
      await sleep(200);
      result = await run(check);
    }
    assert.equal(result.status, "pass", result.detail);
    assert.ok(errors.length > 0, "the publisher reported the outage");
  });

  it("rejects a missing cluster when defined", () => {
    assert.throws(() => clusterHeartbeat({ url: "redis://x", cluster: "" }), /cluster is required/);
    assert.throws(() => publishHeartbeat({ url: "redis://x", cluster: "" }), /cluster is required/);
  });
});
