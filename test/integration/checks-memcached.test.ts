/**
 * memcachedRoundtrip against a real memcached (Debian's `memcached`): healthy with a
 * server list and with the app's memjs client; refused, black-holed, paused mid-run
 * (the timed-out socket is destroyed: the process exits), restarted; keys never shared,
 * and the expiry memcached gives them.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import memjs from "memjs";
import { closeHealthChecks, defineHealthConfig, handleHealthRequest, runHealthChecks } from "../../src/index.ts";
import { memcachedRoundtrip, type MemjsClient } from "../../src/checks/memcached.ts";
import { runScript } from "../helpers/child-process.ts";
import { blackHole, freePort } from "../helpers/net.ts";
import { startMemcached, type MemcachedServer } from "../helpers/memcached.ts";
import { runCheckOnce, sleep } from "../helpers/checks.ts";

let server: MemcachedServer;

before(async () => {
  server = await startMemcached();
});
after(() => server?.stop());

const run = runCheckOnce;

/** A memjs client that records the keys it was asked for. */
function recordingClient(): { client: memjs.Client; keys: string[]; operations: string[] } {
  const client = memjs.Client.create(server.servers, { logger: { log() {} } });
  const keys: string[] = [];
  const operations: string[] = [];
  for (const method of ["set", "get", "delete"] as const) {
    const original = client[method].bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as Record<string, unknown>)[method] = (key: string, ...rest: unknown[]) => {
      // memjs's promise form calls its callback form: count the call once.
      if (typeof rest.at(-1) !== "function") {
        keys.push(key);
        operations.push(method);
      }
      return original(key, ...rest);
    };
  }
  return { client, keys, operations };
}

/**
 * The stores memcached logs as it makes them (`watch mutations`, memcached >= 1.6:
 * https://github.com/memcached/memcached/wiki/LogStreams), with the TTL it gave each key.
 */
async function watchMutations(): Promise<{ stores: { key: string; cmd: string; ttl: number }[]; close(): void }> {
  const socket = connect(server.port, "127.0.0.1");
  const stores: { key: string; cmd: string; ttl: number }[] = [];
  let buffered = "";
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("OK")) resolve();
        const store = /type=item_store key=(\S+) status=stored cmd=(\S+) ttl=(-?\d+)/.exec(line);
        // The stream URL-encodes keys.
        if (store !== null) stores.push({ key: decodeURIComponent(store[1]!), cmd: store[2]!, ttl: Number(store[3]) });
      }
    });
    socket.write("watch mutations\r\n");
  });
  return { stores, close: () => socket.destroy() };
}

describe("memcachedRoundtrip: healthy", () => {
  it("passes with a server list (its own client), and closes what it owns", async () => {
    const check = memcachedRoundtrip({ servers: server.servers });
    const result = await run(check);
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.name, "memcached");
    assert.equal(result.componentType, "datastore");
    await check.close!();
  });

  it("with the app's client: set, get and delete of one key unique to the run, and the key is gone after", async () => {
    const { client, keys, operations } = recordingClient();
    try {
      const check = memcachedRoundtrip({ client, name: "sessions" });
      assert.equal((await run(check)).status, "pass");
      assert.equal((await run(check)).status, "pass");
      assert.deepEqual(operations, ["set", "get", "delete", "set", "get", "delete"]);
      const used = [...new Set(keys)];
      assert.equal(used.length, 2, "each run has its own key");
      for (const key of used) {
        assert.match(key, /^probekit:[0-9a-f-]{36}$/);
        assert.equal((await client.get(key)).value, null, "deleted");
      }
      await check.close?.();
      assert.equal((await client.set("still-open", "yes", {})), true, "the app's client is left open");
    } finally {
      client.close();
    }
  });

  it("sets its key with a 10 s expiry by default (expiresS), as memcached logs the store, with a server list and with the app's client", async () => {
    const watch = await watchMutations();
    const { client } = recordingClient();
    try {
      const sources = { "server list": { servers: server.servers }, "the app's client": { client }, "expiresS: 60": { client, expiresS: 60 } };
      for (const [label, source] of Object.entries(sources)) {
        const check = memcachedRoundtrip(source);
        const seen = watch.stores.length;
        assert.equal((await run(check)).status, "pass", label);
        await check.close?.();
        // The log stream runs a moment behind the store.
        for (let waited = 0; watch.stores.length === seen && waited < 2000; waited += 20) await sleep(20);
        const stored = watch.stores.slice(seen);
        assert.equal(stored.length, 1, `${label}: ${JSON.stringify(stored)}`);
        assert.match(stored[0]!.key, /^probekit:[0-9a-f-]{36}$/, label);
        assert.deepEqual({ cmd: stored[0]!.cmd, ttl: stored[0]!.ttl }, { cmd: "set", ttl: "expiresS" in source ? 60 : 10 }, label);
      }
    } finally {
      watch.close();
      client.close();
    }
  });

  it("rejects wrong options when defined; an unset server list fails at run time", async () => {
    assert.throws(() => memcachedRoundtrip({ servers: server.servers, client: {} as MemjsClient }), /pass only one of client or servers/);
    assert.throws(() => memcachedRoundtrip({ client: {} as MemjsClient }), /client must be a memjs client/);
    assert.throws(() => memcachedRoundtrip({ servers: server.servers, expiresS: 0 }), /expiresS must be/);
    assert.equal((await run(memcachedRoundtrip({ servers: process.env.PROBEKIT_UNSET_MEMCACHE }))).output, "unavailable: no memcached servers configured");
  });

  it("a client that stores nothing, or reads back something else, is an unexpected result", async () => {
    const notStored: MemjsClient = { set: async () => false, get: async () => ({ value: null }), delete: async () => true };
    assert.equal((await run(memcachedRoundtrip({ client: notStored }))).output, "unexpected result: the set was not stored");
    const other: MemjsClient = { set: async () => true, get: async () => ({ value: Buffer.from("other") }), delete: async () => true };
    assert.equal((await run(memcachedRoundtrip({ client: other }))).output, "unexpected result: the value read back differs");
  });
});

describe("memcachedRoundtrip: faults, with safe public messages", () => {
  it("server not listening: 'connection refused', and the public body names neither host nor port", async () => {
    const port = await freePort();
    const check = memcachedRoundtrip({ servers: `127.0.0.1:${port}` });
    const result = await run(check);
    assert.equal(result.output, "unavailable: connection refused");
    const config = defineHealthConfig({ subsets: { readiness: [check] }, logger: false });
    const body = await (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
    for (const secret of ["127.0.0.1", String(port), "ECONNREFUSED"]) assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
    await check.close!();
  });

  it("a listener that accepts and never answers: fails within the timeout, twice, and the socket is destroyed", async () => {
    const hole = await blackHole();
    const check = memcachedRoundtrip({ servers: `127.0.0.1:${hole.port}` });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const started = performance.now();
        const result = await run(check, 500);
        assert.equal(result.output, "unavailable: timed out after 500 ms");
        assert.ok(performance.now() - started < 900);
        for (let waited = 0; waited < 2000 && hole.open() > 0; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(hole.open(), 0, `attempt ${attempt}: the timed-out socket is closed`);
      }
    } finally {
      await check.close!();
      hole.close();
    }
  });

  it("a process whose check timed out on a paused server exits by itself: nothing it owned is left open", async () => {
    server.pause();
    try {
      const { code, output, ms } = await runScript(`
        import { defineHealthConfig, runHealthChecks } from "./src/index.ts";
        import { memcachedRoundtrip } from "./src/checks/memcached.ts";
        const config = defineHealthConfig({ subsets: { s: [memcachedRoundtrip({ servers: ${JSON.stringify(server.servers)} })] }, timeoutMs: 400, logger: false });
        const report = await runHealthChecks(config, "s");
        process.stdout.write(report.checks[0].output + "\\n");
      `);
      assert.equal(code, 0, output);
      assert.match(output, /unavailable: timed out after 400 ms/);
      assert.ok(ms < 12_000, `exited after ${Math.round(ms)} ms (a socket left open holds it until SIGKILL)`);
    } finally {
      server.resume();
    }
  });

  it("a healthy run's socket is ended by closeHealthChecks: the process exits", async () => {
    const { code, output } = await runScript(`
      import { closeHealthChecks, defineHealthConfig, runHealthChecks } from "./src/index.ts";
      import { memcachedRoundtrip } from "./src/checks/memcached.ts";
      const config = defineHealthConfig({ subsets: { s: [memcachedRoundtrip({ servers: ${JSON.stringify(server.servers)} })] }, logger: false });
      const report = await runHealthChecks(config, "s");
      process.stdout.write(report.checks[0].status + "\\n");
      await closeHealthChecks(config);
    `);
    assert.equal(code, 0, output);
    assert.match(output, /^pass$/m);
  });

  it("the owned client recovers after the server restarts and after a pause", async () => {
    const check = memcachedRoundtrip({ servers: server.servers });
    try {
      assert.equal((await run(check)).status, "pass");
      await server.stop();
      try {
        const down = await run(check, 1000);
        assert.equal(down.status, "fail");
        assert.match(down.output, /^unavailable: (connection refused|connection reset|command failed)$/);
      } finally {
        await server.start();
      }
      assert.equal((await run(check)).status, "pass", "back after the restart");
      server.pause();
      try {
        assert.equal((await run(check, 400)).output, "unavailable: timed out after 400 ms");
      } finally {
        server.resume();
      }
      const back = await run(check);
      assert.equal(back.status, "pass", back.detail);
    } finally {
      await check.close!();
    }
  });

  it("200 concurrent probes share one roundtrip", async () => {
    const { client, operations } = recordingClient();
    const config = defineHealthConfig({ subsets: { readiness: [memcachedRoundtrip({ client })] }, logger: false });
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, () => handleHealthRequest(new Request("http://app.test/healthcheck/readiness"), config)));
      assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [200]);
      assert.deepEqual(operations, ["set", "get", "delete"]);
    } finally {
      await closeHealthChecks(config);
      client.close();
    }
  });
});
