/**
 * The per-driver Redis entries (probekit/checks/ioredis, …/node-redis, …/upstash,
 * and the driver-free …/file-heartbeat) against a real redis-server: each one's checks
 * and heartbeats work with the driver it brings, say where the other kind of source is
 * served, and fail safely when the server is away.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Check } from "../../src/index.ts";
import * as fileHeartbeats from "../../src/checks/file-heartbeat.ts";
import * as heartbeat from "../../src/checks/heartbeat.ts";
import * as ioredis from "../../src/checks/ioredis.ts";
import * as nodeRedis from "../../src/checks/node-redis.ts";
import * as upstashEntry from "../../src/checks/upstash.ts";
import { freePort } from "../helpers/net.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { startUpstashServer, type UpstashServer } from "../helpers/upstash-server.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let redis: RedisServer;
let upstash: UpstashServer;
const ran = new Set<Check>();

before(async () => {
  redis = await startRedis();
  upstash = await startUpstashServer(redis.url());
});
after(async () => {
  await Promise.all([...ran].map((check) => check.close?.()));
  await upstash?.close();
  await redis?.stop();
});

async function run(check: Check, timeoutMs = 2000) {
  ran.add(check);
  return runCheckOnce(check, timeoutMs);
}

for (const [name, entry] of [["ioredis", ioredis], ["node-redis", nodeRedis]] as const) {
  describe(`probekit/checks/${name}`, () => {
    it("redisPing and cacheRoundtrip pass with a URL, and a worker's heartbeat is seen by both heartbeat checks", async () => {
      for (const check of [entry.redisPing({ url: redis.url() }), entry.cacheRoundtrip({ url: redis.url() })]) {
        const result = await run(check);
        assert.equal(result.status, "pass", `${check.name}: ${result.detail}`);
      }
      const cluster = `entry-${name}`;
      const stop = entry.publishHeartbeat({ url: redis.url(), cluster, host: "worker-1", intervalMs: 100 });
      try {
        let cluster1 = await run(entry.clusterHeartbeat({ url: redis.url(), cluster }));
        for (let i = 0; i < 20 && cluster1.status !== "pass"; i++) cluster1 = await run(entry.clusterHeartbeat({ url: redis.url(), cluster }));
        assert.equal(cluster1.status, "pass", cluster1.detail);
        assert.equal((await run(entry.localHeartbeat({ url: redis.url(), cluster, host: "worker-1" }))).status, "pass");
      } finally {
        await stop();
      }
    });

    it("Upstash credentials say which entry serves them; a refused server is named safely", async () => {
      const wrongKind = await run(entry.redisPing({ upstash: { url: upstash.url, token: upstash.token } }));
      assert.equal(wrongKind.output, "unavailable: Upstash credentials need probekit/checks/upstash");
      const port = await freePort();
      const refused = await run(entry.redisPing({ url: `redis://:secret@127.0.0.1:${port}` }));
      assert.equal(refused.status, "fail");
      assert.match(refused.output, /^unavailable: (connection refused|connection timed out)$/);
      assert.ok(!refused.output.includes(String(port)) && !refused.output.includes("secret"));
    });
  });
}

describe("probekit/checks/upstash", () => {
  it("redisPing, cacheRoundtrip and clusterHeartbeat over REST; a redis:// URL says which entries serve it", async () => {
    const credentials = { url: upstash.url, token: upstash.token };
    for (const check of [upstashEntry.redisPing({ upstash: credentials }), upstashEntry.cacheRoundtrip({ upstash: credentials })]) {
      assert.equal((await run(check)).status, "pass", check.name);
    }
    const stop = heartbeat.publishHeartbeat({ upstash: credentials, cluster: "entry-upstash", host: "worker-2", intervalMs: 100 });
    try {
      let result = await run(upstashEntry.clusterHeartbeat({ upstash: credentials, cluster: "entry-upstash" }));
      for (let i = 0; i < 20 && result.status !== "pass"; i++) result = await run(upstashEntry.clusterHeartbeat({ upstash: credentials, cluster: "entry-upstash" }));
      assert.equal(result.status, "pass", result.detail);
    } finally {
      await stop();
    }
    const tcp = await run(upstashEntry.redisPing({ url: redis.url() }));
    assert.equal(tcp.output, "unavailable: a Redis URL needs TCP: use probekit/checks/ioredis or …/node-redis on Node, or Upstash on the edge");
  });
});

describe("probekit/checks/file-heartbeat", () => {
  it("is the heartbeat entry's file pair, with no driver behind it", () => {
    assert.equal(fileHeartbeats.fileHeartbeat, heartbeat.fileHeartbeat);
    assert.equal(fileHeartbeats.startFileHeartbeat, heartbeat.startFileHeartbeat);
  });
});
