/**
 * redisPing and cacheRoundtrip against a real redis-server, through every client
 * they accept (ioredis, node-redis, a URL, @upstash/redis against a local server
 * speaking Upstash's REST protocol backed by that same Redis), healthy and broken,
 * and against a real replica and a server loading its dataset; and, installed from the
 * packed tarball, the URL's driver as the install has it (ioredis, else redis, else a
 * message naming what to install).
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis as UpstashRedis } from "@upstash/redis";
import { Redis as IoRedis } from "ioredis";
import { createClient } from "redis";
import { defineHealthConfig, handleHealthRequest, type Check } from "../../src/index.ts";
import { cacheRoundtrip, redisPing } from "../../src/checks/redis.ts";
import { blackHole, freePort, tcpRelay } from "../helpers/net.ts";
import { assertDistBuilt, childEnv, MINUTE, packTarball, REPO_ROOT, runCommand } from "../helpers/next-app.ts";
import { REDIS_PASSWORD, startRedis, type RedisServer } from "../helpers/redis.ts";
import { startUpstashServer, type UpstashServer } from "../helpers/upstash-server.ts";
import { runCheckOnce, sleep } from "../helpers/checks.ts";

let redis: RedisServer;
let upstash: UpstashServer;
let admin: IoRedis;

before(async () => {
  redis = await startRedis();
  upstash = await startUpstashServer(redis.url());
  admin = new IoRedis(redis.url(), { lazyConnect: true });
  admin.on("error", () => {}); // it lives through the restart test
  await admin.connect();
});
after(async () => {
  await Promise.all([...ran].map((check) => check.close?.()));
  admin?.disconnect();
  await upstash?.close();
  await redis?.stop();
});

/** Every check run here, closed at the end: owned clients would otherwise keep reconnecting and hold the process open. */
const ran = new Set<Check>();

async function run(check: Check, timeoutMs = 3000) {
  ran.add(check);
  return runCheckOnce(check, timeoutMs);
}

/** The lifetime a SET gives its key, in ms, from its PX or EX option (clients spell it either way, in any case). */
function ttlMsOf(set: string[]): number | undefined {
  const at = set.findIndex((arg, index) => index > 2 && /^(PX|EX)$/i.test(arg));
  if (at === -1) return undefined;
  return Number(set[at + 1]) * (set[at]!.toUpperCase() === "EX" ? 1000 : 1);
}

/** Every way the checks can reach Redis, built fresh for each test. */
async function sources() {
  const io = new IoRedis(redis.url(), { lazyConnect: true });
  await io.connect();
  const nodeRedis = createClient({ url: redis.url() });
  nodeRedis.on("error", () => {});
  await nodeRedis.connect();
  const userUpstash = new UpstashRedis({ url: upstash.url, token: upstash.token, enableTelemetry: false });
  return {
    all: {
      "url (owned ioredis)": { url: redis.url() },
      "url (owned node-redis)": { url: redis.url(), driver: "redis" as const },
      "the app's ioredis": { redis: io },
      "the app's node-redis": { redis: nodeRedis },
      "upstash (owned)": { upstash: { url: upstash.url, token: upstash.token } },
      "the app's @upstash/redis": { redis: userUpstash },
    },
    close: async () => {
      io.disconnect();
      await nodeRedis.quit();
    },
  };
}

describe("redisPing and cacheRoundtrip: every client", () => {
  it("pass against the real server, and the cache check leaves no key behind", async () => {
    const { all, close } = await sources();
    try {
      for (const [label, source] of Object.entries(all)) {
        const ping = await run(redisPing(source));
        assert.equal(ping.status, "pass", `${label}: ${ping.detail}`);
        const cache = await run(cacheRoundtrip({ ...source, name: "sessions" }));
        assert.equal(cache.status, "pass", `${label}: ${cache.detail}`);
        assert.equal(cache.name, "cache:sessions");
      }
      assert.deepEqual(await admin.keys("probekit:cache:*"), []);
    } finally {
      await close();
    }
  });

  it("cacheRoundtrip sets its key with a 10 s TTL, as the server receives the SET (MONITOR), through every client", async () => {
    const { all, close } = await sources();
    const monitor = await admin.monitor();
    const sets: string[][] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args[0]?.toUpperCase() === "SET" && args[1]?.startsWith("probekit:cache:ttl:")) sets.push(args);
    });
    try {
      for (const [label, source] of Object.entries(all)) {
        const seen = sets.length;
        const result = await run(cacheRoundtrip({ ...source, name: "ttl" }));
        assert.equal(result.status, "pass", `${label}: ${result.detail}`);
        // MONITOR streams what the server ran a moment after it ran it.
        for (let waited = 0; sets.length === seen && waited < 2000; waited += 20) await sleep(20);
        assert.equal(sets.length, seen + 1, `${label}: one SET of the probe key`);
        assert.equal(ttlMsOf(sets.at(-1)!), 10_000, `${label}: ${sets.at(-1)!.join(" ")}`);
      }
    } finally {
      monitor.disconnect();
      await close();
    }
  });

  it("cacheRoundtrip: the key Redis holds while the check reads it back has that TTL (PTTL)", async () => {
    const io = new IoRedis(redis.url(), { lazyConnect: true });
    await io.connect();
    try {
      const pttls: number[] = [];
      const watched = {
        call: async (command: string, ...args: (string | number)[]) => {
          if (command === "GET") pttls.push(await admin.pttl(String(args[0])));
          return io.call(command, ...args);
        },
      };
      assert.equal((await run(cacheRoundtrip({ redis: watched }))).status, "pass");
      assert.equal(pttls.length, 1);
      assert.ok(pttls[0]! <= 10_000 && pttls[0]! > 9000, `PTTL ${pttls[0]}`);
    } finally {
      io.disconnect();
    }
  });

  it("cacheRoundtrip: 50 concurrent runs never race (a unique key each)", async () => {
    const checks = Array.from({ length: 50 }, () => cacheRoundtrip({ url: redis.url() }));
    const results = await Promise.all(checks.map((check) => run(check)));
    assert.ok(results.every((result) => result.status === "pass"), JSON.stringify(results.filter((r) => r.status !== "pass")));
    assert.equal(results[0]!.name, "cache:default");
    assert.deepEqual(await admin.keys("probekit:cache:*"), []);
  });

  it("a client answering garbage is an unexpected result, not a connection failure", async () => {
    const io = new IoRedis(redis.url(), { lazyConnect: true });
    await io.connect();
    try {
      const lying = { call: (command: string, ...args: (string | number)[]) => (command === "GET" ? Promise.resolve("someone else's value") : io.call(command, ...args)) };
      const result = await run(cacheRoundtrip({ redis: lying }));
      assert.equal(result.output, "unexpected result: the value read back differs");
    } finally {
      io.disconnect();
    }
  });

  it("rejects ambiguous options when defined", () => {
    assert.throws(() => redisPing({ url: "redis://x", upstash: { url: "http://x", token: "t" } }), /only one of redis/);
    assert.throws(() => redisPing({ redis: {} as never }), /ioredis, node-redis or @upstash\/redis/);
  });

  it("an unset URL fails clearly at run time", async () => {
    assert.equal((await run(redisPing({ url: "" }))).output, "unavailable: no Redis URL configured");
    assert.equal((await run(redisPing({ url: undefined }))).output, "unavailable: no Redis URL configured");
    assert.equal((await run(redisPing({ upstash: { url: "", token: "" } }))).output, "unavailable: no Upstash URL or token configured");
  });
});

describe("redisPing: faults, with safe public messages", () => {
  it("wrong password: 'authentication failed' (TCP and Upstash), nothing secret in the public body", async () => {
    for (const source of [{ url: redis.url("wrong-password") }, { upstash: { url: upstash.url, token: "wrong-token" } }]) {
      const result = await run(redisPing(source));
      assert.equal(result.output, "unavailable: authentication failed", JSON.stringify(source));
      const check = redisPing(source);
      ran.add(check);
      const config = defineHealthConfig({ subsets: { readiness: [check] }, logger: false });
      const body = await (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
      for (const secret of ["wrong-password", "wrong-token", REDIS_PASSWORD, upstash.token, "127.0.0.1", String(redis.port)]) {
        assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
      }
    }
  });

  it("nothing listening: 'connection refused' (TCP and Upstash)", async () => {
    const port = await freePort();
    assert.equal((await run(redisPing({ url: `redis://127.0.0.1:${port}` }))).output, "unavailable: connection refused");
    assert.equal((await run(redisPing({ url: `redis://127.0.0.1:${port}`, driver: "redis" }))).output, "unavailable: connection refused");
    assert.equal((await run(redisPing({ upstash: { url: `http://127.0.0.1:${port}`, token: "t" } }))).output, "unavailable: connection refused");
  });

  it("a listener that never answers: fails within the timeout, every client", async () => {
    const hole = await blackHole();
    const { port } = hole;
    const userUpstash = new UpstashRedis({ url: `http://127.0.0.1:${port}`, token: "t", enableTelemetry: false });
    try {
      const sourcesByLabel = {
        "owned ioredis": { url: `redis://127.0.0.1:${port}` },
        "owned node-redis": { url: `redis://127.0.0.1:${port}`, driver: "redis" as const },
        "owned upstash": { upstash: { url: `http://127.0.0.1:${port}`, token: "t" } },
        // The app's own Upstash client keeps its default retries: the runner's timeout still bounds it.
        "the app's upstash": { redis: userUpstash },
      };
      for (const [label, source] of Object.entries(sourcesByLabel)) {
        const started = performance.now();
        const result = await run(redisPing(source), 500);
        const took = performance.now() - started;
        assert.equal(result.status, "fail", label);
        assert.match(result.output, /^unavailable: (connection timed out|timed out after 500 ms)$/, `${label}: ${result.detail}`);
        assert.ok(took < 500 + 400, `${label} took ${took} ms`);
      }
    } finally {
      hole.close();
    }
  });

  it("the Upstash endpoint hanging: the owned client times out on its own signal", async () => {
    upstash.hang(true);
    try {
      const started = performance.now();
      const result = await run(redisPing({ upstash: { url: upstash.url, token: upstash.token }, timeoutMs: 400 }), 5000);
      assert.equal(result.output, "unavailable: connection timed out", result.detail);
      assert.ok(performance.now() - started < 1500);
    } finally {
      upstash.hang(false);
    }
  });

  it("server restarted: the owned clients recover on a later run (TCP, and Upstash through its REST server)", async () => {
    const checks = [redisPing({ url: redis.url() }), redisPing({ url: redis.url(), driver: "redis" }), redisPing({ upstash: { url: upstash.url, token: upstash.token } })];
    for (const check of checks) assert.equal((await run(check)).status, "pass");
    await redis.stop();
    await upstash.stop();
    try {
      for (const check of checks) {
        const down = await run(check, 1000);
        assert.equal(down.status, "fail");
        assert.match(down.output, /^unavailable: (connection refused|connection lost|connection reset|connection failed|command failed|timed out after 1000 ms)$/);
      }
    } finally {
      await redis.start();
      await upstash.start();
    }
    for (const check of checks) {
      let result = await run(check);
      // The owned clients reconnect on their own backoff (at most 2 s).
      for (let attempt = 0; result.status !== "pass" && attempt < 30; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        result = await run(check);
      }
      assert.equal(result.status, "pass", result.detail);
    }
  });
});

describe("redisPing and cacheRoundtrip: a replica and a loading server, named safely", () => {
  it("a real replica: cacheRoundtrip fails 'redis is read-only (a replica)', redisPing passes, nothing of the address in the public body", async () => {
    const replica = await startRedis({ replicaOf: redis });
    const io = new IoRedis(replica.url(), { lazyConnect: true });
    await io.connect();
    const nodeRedis = createClient({ url: replica.url() });
    nodeRedis.on("error", () => {});
    await nodeRedis.connect();
    try {
      const sourcesByLabel = {
        "owned ioredis": { url: replica.url() },
        "owned node-redis": { url: replica.url(), driver: "redis" as const },
        "the app's ioredis": { redis: io },
        "the app's node-redis": { redis: nodeRedis },
      };
      for (const [label, source] of Object.entries(sourcesByLabel)) {
        assert.equal((await run(redisPing(source))).status, "pass", label);
        const cache = cacheRoundtrip(source);
        const result = await run(cache);
        assert.equal(result.output, "unavailable: redis is read-only (a replica)", `${label}: ${result.detail}`);
        const config = defineHealthConfig({ subsets: { readiness: [cache] }, logger: false });
        const response = await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config);
        assert.equal(response.status, 500, label); // failureStatus's default
        const body = await response.text();
        assert.ok(body.includes("redis is read-only (a replica)"), `${label}: ${body}`);
        for (const secret of ["127.0.0.1", String(replica.port), String(redis.port), REDIS_PASSWORD, "READONLY"]) {
          assert.ok(!body.includes(secret), `${label}: public body leaks ${secret}: ${body}`);
        }
      }
    } finally {
      io.disconnect();
      await nodeRedis.quit();
      await replica.stop();
    }
  });

  it("a server loading its dataset (DEBUG RELOAD): both checks fail 'redis is loading its data'", async () => {
    const dir = await mkdtemp(join(tmpdir(), "probekit-redis-"));
    // DEBUG RELOAD saves dump.rdb in --dir, then loads it as a restarting server would.
    const loading = await startRedis({ args: ["--dir", dir, "--enable-debug-command", "yes"] });
    const control = new IoRedis(loading.url());
    const watcher = new IoRedis(loading.url());
    control.on("error", () => {});
    watcher.on("error", () => {});
    const isLoading = async () => /^loading:1\r?$/m.test(await watcher.info("persistence"));
    try {
      // 20 000 keys at key-load-delay 100 µs each: at least 2 s of loading on any machine
      // (far longer where sleeps are coarse; the server is stopped mid-load). Clients
      // are served every 1 KB read (loading-process-events-interval-bytes).
      await control.call("DEBUG", "POPULATE", "20000");
      await control.config("SET", "key-load-delay", "100");
      await control.config("SET", "loading-process-events-interval-bytes", "1024");
      const checks: Record<string, Check> = {
        "cacheRoundtrip, owned ioredis": cacheRoundtrip({ url: loading.url() }),
        "cacheRoundtrip, owned node-redis": cacheRoundtrip({ url: loading.url(), driver: "redis" }),
        "redisPing, owned ioredis": redisPing({ url: loading.url() }),
        "redisPing, owned node-redis": redisPing({ url: loading.url(), driver: "redis" }),
      };
      // Connected before the load, as clients are when a replica resyncs under them.
      for (const [label, check] of Object.entries(checks)) assert.equal((await run(check)).status, "pass", label);
      void control.call("DEBUG", "RELOAD").catch(() => {});
      for (let waited = 0; !(await isLoading()) && waited < 5000; waited += 20) await sleep(20);
      assert.ok(await isLoading(), "the server is loading");
      // And clients that first connect during the load, as a pod's do after Redis restarts
      // (ioredis's ready check would hold their commands until the load ends: a timeout).
      Object.assign(checks, {
        "cacheRoundtrip, owned ioredis, connecting during the load": cacheRoundtrip({ url: loading.url() }),
        "redisPing, owned ioredis, connecting during the load": redisPing({ url: loading.url() }),
        "redisPing, owned node-redis, connecting during the load": redisPing({ url: loading.url(), driver: "redis" }),
      });
      for (const [label, check] of Object.entries(checks)) {
        const result = await run(check);
        assert.equal(result.output, "unavailable: redis is loading its data", `${label}: ${result.detail}`);
      }
      assert.ok(await isLoading(), "still loading after the probes: they ran during the load");
    } finally {
      control.disconnect();
      watcher.disconnect();
      await loading.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The LIB-NAME each client sent through the relay: Redis 7.0 rejects the `CLIENT SETINFO
 * LIB-NAME <driver>` both drivers send (7.2 shows it in CLIENT LIST), so the wire is where
 * the driver says who it is.
 */
const libNamesThrough = (relay: { sent(): string }) => [...relay.sent().matchAll(/LIB-NAME\r\n\$\d+\r\n([^\r]*)\r\n/gi)].map((match) => match[1]!);

/** Runs redisPing({ url }) from the installed probekit/checks/redis in a fresh Node, and what it could resolve. */
const PROBE = `
import { defineHealthConfig, runHealthChecks } from "probekit";
import { redisPing } from "probekit/checks/redis";
const resolvable = ["ioredis", "redis"].filter((name) => { try { return Boolean(import.meta.resolve(name)); } catch { return false; } });
const check = redisPing({ url: process.env.REDIS_URL });
const report = await runHealthChecks(defineHealthConfig({ subsets: { s: [check] }, timeoutMs: 3000, cacheTtlMs: 0, logger: false }), "s");
await check.close?.();
process.stdout.write(JSON.stringify({ resolvable, status: report.checks[0].status, output: report.checks[0].output }));
`;

describe("probekit/checks/redis installed: a URL's client is ioredis if installed, else redis", () => {
  let work: string;
  let tarball: string;
  let relay: Awaited<ReturnType<typeof tcpRelay>>;

  before(async () => {
    assertDistBuilt();
    work = await mkdtemp(join(tmpdir(), "probekit-redis-drivers-"));
    tarball = await packTarball(work);
    relay = await tcpRelay(redis.port);
  });
  after(async () => {
    relay?.close();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  /** An app folder with probekit from the tarball and only `drivers` beside it (linked to the repository's copies). */
  async function appWith(drivers: string[]): Promise<string> {
    const app = join(work, drivers.length === 0 ? "no-driver" : drivers.join("+"));
    await mkdir(join(app, "node_modules", "probekit"), { recursive: true });
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    await writeFile(join(app, "probe.mjs"), PROBE);
    await runCommand("untar probekit", "tar", ["-xzf", tarball, "-C", join(app, "node_modules", "probekit"), "--strip-components=1"], { cwd: app, timeoutMs: MINUTE });
    for (const driver of drivers) await symlink(join(REPO_ROOT, "node_modules", driver), join(app, "node_modules", driver), "dir");
    return app;
  }

  async function probe(app: string): Promise<{ resolvable: string[]; status: string; output: string; libNames: string[] }> {
    const seen = libNamesThrough(relay).length;
    const { stdout } = await runCommand("probe", process.execPath, ["probe.mjs"], { cwd: app, timeoutMs: MINUTE, env: { ...childEnv(), REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${relay.port}/0` } });
    return { ...(JSON.parse(stdout) as { resolvable: string[]; status: string; output: string }), libNames: libNamesThrough(relay).slice(seen) };
  }

  it("only redis installed: redisPing passes over node-redis", async () => {
    const result = await probe(await appWith(["redis"]));
    assert.deepEqual(result.resolvable, ["redis"], "the install has no ioredis");
    assert.equal(result.status, "pass", result.output);
    assert.deepEqual(result.libNames, ["node-redis"]);
  });

  it("both installed: redisPing passes over ioredis", async () => {
    const result = await probe(await appWith(["ioredis", "redis"]));
    assert.deepEqual(result.resolvable, ["ioredis", "redis"]);
    assert.equal(result.status, "pass", result.output);
    assert.deepEqual(result.libNames, ["ioredis"]);
  });

  it("neither installed: fails naming the package to install", async () => {
    const result = await probe(await appWith([]));
    assert.deepEqual(result.resolvable, []);
    assert.equal(result.status, "fail");
    assert.equal(result.output, 'unavailable: probekit/checks/redis: cannot load "ioredis" or "redis" — npm install ioredis');
    assert.deepEqual(result.libNames, []);
  });
});
