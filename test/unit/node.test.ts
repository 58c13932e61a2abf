/**
 * What probekit/node adds beyond the shared HTTP contract (test/unit/handler.test.ts
 * runs that against both adapters): the liveness path, Express/Connect mounting,
 * and the shutdown drain of a real server process.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { NO_STORE } from "../../src/index.ts";
import { createNodeHandler, installShutdownDrain } from "../../src/node/index.ts";
import { counted, passing, quietConfig } from "../helpers/checks.ts";

const DRAIN_SERVER = fileURLToPath(new URL("../fixtures/drain-server.ts", import.meta.url));

const config = quietConfig({ subsets: { readiness: [passing("db")], liveness: [passing("heart")] }, cacheTtlMs: 0 });
const servers: Server[] = [];

async function listen(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

describe("createNodeHandler", () => {
  it("answers the liveness path itself, GET and HEAD, without running a check", async () => {
    const heart = counted("heart");
    const origin = await listen(createNodeHandler(quietConfig({ subsets: { liveness: [heart] } })));
    for (const path of ["/healthcheck/liveness", "/healthcheck/liveness/"]) {
      const response = await fetch(`${origin}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get("x-probekit-liveness"), "short-circuit");
      assert.equal(response.headers.get("cache-control"), NO_STORE);
      assert.equal(await response.text(), '{"status":"ok"}');
    }
    const head = await fetch(`${origin}/healthcheck/liveness`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    assert.equal(heart.runs, 0);
    // POST is not a liveness probe: the subset route answers it (405).
    assert.equal((await fetch(`${origin}/healthcheck/liveness`, { method: "POST" })).status, 405);
  });

  it("follows the config's livenessPath, and serves subsets beside it", async () => {
    const custom = quietConfig({ subsets: { readiness: [passing("db")] }, livenessPath: "/_health/live" });
    const origin = await listen(createNodeHandler(custom));
    assert.equal((await fetch(`${origin}/_health/live`)).headers.get("x-probekit-liveness"), "short-circuit");
    assert.equal((await fetch(`${origin}/_health/readiness`)).status, 200);
    assert.equal((await fetch(`${origin}/healthcheck/readiness`)).status, 404);
  });

  it("as Express/Connect middleware: calls next() for every other path, keeps originalUrl", async () => {
    const handler = createNodeHandler(config);
    const origin = await listen((request, response) => {
      // What Express does for app.use("/healthcheck", handler): url stripped, originalUrl kept.
      if (request.url?.startsWith("/healthcheck/")) {
        Object.assign(request, { originalUrl: request.url, url: request.url.slice("/healthcheck".length) });
      }
      handler(request, response, () => {
        response.writeHead(418).end("app");
      });
    });
    assert.equal((await fetch(`${origin}/healthcheck/readiness`)).status, 200);
    const other = await fetch(`${origin}/some/page`);
    assert.equal(other.status, 418);
    assert.equal(await other.text(), "app");
  });

  it("without next(), other paths get a plain no-store 404", async () => {
    const origin = await listen(createNodeHandler(config));
    for (const path of ["/", "/healthcheck", "/healthcheck/", "/other/readiness"]) {
      const response = await fetch(`${origin}${path}`);
      assert.equal(response.status, 404, path);
      assert.equal(response.headers.get("cache-control"), NO_STORE);
    }
  });

  it("dot segments and encoded dots resolve as URL does: no escape from the base path", async () => {
    const origin = await listen(createNodeHandler(config));
    // Sent raw (fetch would normalize them first).
    for (const [target, status] of [["/healthcheck/x/../readiness", 200], ["/healthcheck/%2e%2e/readiness", 404], ["/x/../healthcheck/readiness", 200], ["/healthcheck/../readiness", 404]] as const) {
      assert.equal(await rawStatus(origin, target), status, target);
    }
  });

  it("a fragment in the request target is ignored, as Request.url has none", async () => {
    const origin = await listen(createNodeHandler(config));
    assert.equal(await rawStatus(origin, "/healthcheck/readiness?format=json#x"), 200);
    assert.equal(await rawStatus(origin, "/healthcheck/readiness#?format=yaml"), 200);
    assert.equal(await rawStatus(origin, "/healthcheck/readiness.x/../readiness?format=json#x"), 200);
  });

  it("basePath \"/\" serves subsets at the root", async () => {
    const origin = await listen(createNodeHandler(config, { basePath: "/" }));
    assert.equal((await fetch(`${origin}/readiness`)).status, 200);
    assert.equal((await fetch(`${origin}/nope`)).status, 404);
    const fixed = await listen(createNodeHandler(config, { basePath: "/", subset: "readiness" }));
    assert.equal((await fetch(`${fixed}/`)).status, 200);
  });

  it("a client that leaves before the checks finish crashes nothing", async () => {
    const slow = quietConfig({ subsets: { slow: [counted("slow", 200)] }, cacheTtlMs: 0 });
    const origin = await listen(createNodeHandler(slow));
    const controller = new AbortController();
    const pending = fetch(`${origin}/healthcheck/slow`, { signal: controller.signal }).catch((error: Error) => error.name);
    setTimeout(() => controller.abort(), 50);
    assert.equal(await pending, "AbortError");
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal((await fetch(`${origin}/healthcheck/slow`)).status, 200, "the server still answers");
  });
});

describe("installShutdownDrain", () => {
  it("rejects a negative or non-finite drainMs", () => {
    assert.throws(() => installShutdownDrain({ drainMs: -1 }), /drainMs must be between 0 and/);
    assert.throws(() => installShutdownDrain({ drainMs: Number.NaN }), /drainMs must be between 0 and/);
    // setTimeout would overflow and fire at once.
    assert.throws(() => installShutdownDrain({ closeTimeoutMs: 2 ** 31 }), /closeTimeoutMs must be between 0 and/);
  });

  it("a second install gets the first drain, not a second one racing it to exit", () => {
    const first = installShutdownDrain({ drainMs: 50, exit: false, log: () => {} });
    try {
      assert.equal(installShutdownDrain({ drainMs: 1000, exit: false, log: () => {} }), first);
    } finally {
      first.uninstall();
    }
    const after = installShutdownDrain({ drainMs: 50, exit: false, log: () => {} });
    assert.notEqual(after, first, "uninstall frees the slot");
    after.uninstall();
  });

  it("on SIGTERM: readiness 503 at once, liveness 200, in-flight requests finish, then exit 0 after drainMs", async () => {
    const drainMs = 1500;
    const server = await startDrainServer({ DRAIN_MS: String(drainMs), SLOW_MS: "800" });
    try {
      const { origin } = server;
      assert.equal((await fetch(`${origin}/healthcheck/readiness`)).status, 200);

      // Requests in flight when the signal comes: a slow check and an ordinary app request.
      const slowProbe = fetch(`${origin}/healthcheck/slow?format=json`);
      const work = fetch(`${origin}/work`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const signalledAt = Date.now();
      server.child.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 100));

      const readiness = await fetch(`${origin}/healthcheck/readiness`, { headers: { accept: "application/json" } });
      assert.equal(readiness.status, 503);
      assert.deepEqual(await readiness.json(), { status: "fail", output: "shutting down" });
      const liveness = await fetch(`${origin}/healthcheck/liveness`);
      assert.equal(liveness.status, 200);
      assert.equal((await slowProbe).status, 200, "the probe in flight finished");
      assert.equal(await (await work).text(), "done", "the app request in flight finished");

      const [code, signal] = await server.exited;
      const tookMs = Date.now() - signalledAt;
      assert.equal(signal, null);
      assert.equal(code, 0, server.output());
      assert.ok(tookMs >= drainMs, `exited ${tookMs} ms after SIGTERM, before the ${drainMs} ms drain was over`);
      assert.ok(tookMs < drainMs + 5_000, `exited only ${tookMs} ms after SIGTERM`);
      assert.match(server.output(), /shutting down/);
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("after the drain: the server closes, the checks' clients close, onDrained runs, in that order, then exit 0", { timeout: 30_000 }, async () => {
    const server = await startDrainServer({ DRAIN_MS: "200", ON_DRAINED: "log" });
    try {
      server.child.kill("SIGTERM");
      const [code, signal] = await server.exited;
      assert.deepEqual([code, signal], [0, null], server.output());
      const output = server.output();
      const closedAt = output.indexOf("closed db");
      assert.ok(closedAt !== -1, `the readiness check's client was not closed:\n${output}`);
      assert.ok(output.indexOf("onDrained") > closedAt, `onDrained did not run after the clients closed:\n${output}`);
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("an onDrained that throws: its message is logged and the process exits 1", { timeout: 30_000 }, async () => {
    const server = await startDrainServer({ DRAIN_MS: "200", ON_DRAINED: "throw" });
    try {
      server.child.kill("SIGTERM");
      const [code] = await server.exited;
      assert.equal(code, 1, server.output());
      assert.match(server.output(), /onDrained failed: flushing the queue failed/);
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("closing that never ends is cut at closeTimeoutMs: the process exits 0 anyway, and says so", { timeout: 30_000 }, async () => {
    const drainMs = 200;
    const closeTimeoutMs = 1000;
    const server = await startDrainServer({ DRAIN_MS: String(drainMs), CLOSE_TIMEOUT_MS: String(closeTimeoutMs), ON_DRAINED: "hang" });
    try {
      const signalledAt = Date.now();
      server.child.kill("SIGTERM");
      const [code, signal] = await server.exited;
      const tookMs = Date.now() - signalledAt;
      assert.deepEqual([code, signal], [0, null], server.output());
      assert.ok(tookMs >= drainMs + closeTimeoutMs, `exited ${tookMs} ms after SIGTERM, before drainMs + closeTimeoutMs`);
      assert.ok(tookMs < drainMs + closeTimeoutMs + 4_000, `exited only ${tookMs} ms after SIGTERM`);
      assert.match(server.output(), /onDrained/);
      assert.match(server.output(), new RegExp(`closing took longer than ${closeTimeoutMs} ms: exiting anyway`));
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("a second SIGTERM during the drain exits at once", { timeout: 30_000 }, async () => {
    const drainMs = 30_000;
    const server = await startDrainServer({ DRAIN_MS: String(drainMs), ON_DRAINED: "log" });
    try {
      server.child.kill("SIGTERM");
      await server.printed(/shutting down/);
      assert.equal((await fetch(`${server.origin}/healthcheck/readiness`)).status, 503, "the drain has begun");
      const againAt = Date.now();
      server.child.kill("SIGTERM");
      const [code, signal] = await server.exited;
      const tookMs = Date.now() - againAt;
      assert.deepEqual([code, signal], [0, null], server.output());
      assert.ok(tookMs < 5_000, `exited ${tookMs} ms after the second SIGTERM, in a ${drainMs} ms drain`);
      assert.match(server.output(), /SIGTERM again during the drain: exiting now/);
      assert.doesNotMatch(server.output(), /onDrained/, "the second signal does not wait for the close");
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("drainMs defaults to 5000: readiness 503 at once, liveness still 200 at 4.5 s, exit 0 only after 5 s", { timeout: 30_000 }, async () => {
    const server = await startDrainServer({});
    try {
      const { origin } = server;
      const signalledAt = Date.now();
      server.child.kill("SIGTERM");
      await server.printed(/shutting down/);
      const readiness = await fetch(`${origin}/healthcheck/readiness`, { headers: { accept: "application/json" } });
      assert.equal(readiness.status, 503);
      assert.deepEqual(await readiness.json(), { status: "fail", output: "shutting down" });

      // Half a second before the default drain ends, the server still answers liveness.
      await new Promise((resolve) => setTimeout(resolve, signalledAt + 4500 - Date.now()));
      const liveness = await fetch(`${origin}/healthcheck/liveness`).then((response) => response.status, (error: Error) => `no answer: ${error.message}`);
      assert.equal(liveness, 200, "liveness served 4.5 s into the drain");

      const [code, signal] = await server.exited;
      const tookMs = Date.now() - signalledAt;
      assert.deepEqual([code, signal], [0, null], server.output());
      assert.ok(tookMs >= 5000, `exited ${tookMs} ms after SIGTERM, before the default 5000 ms drain was over`);
      // Well short of 10 s: closeTimeoutMs (10 s) is the other default a mix-up would give.
      assert.ok(tookMs < 8500, `exited only ${tookMs} ms after SIGTERM`);
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("by default only SIGTERM drains: SIGINT ends the process at once, as Node does without a handler", { timeout: 30_000 }, async () => {
    const server = await startDrainServer({ DRAIN_MS: "10000" });
    try {
      server.child.kill("SIGINT");
      const [code, signal] = await server.exited;
      assert.deepEqual([code, signal], [null, "SIGINT"], server.output());
      assert.doesNotMatch(server.output(), /shutting down/);
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("signals: [\"SIGINT\"] drains on SIGINT, and replaces the default: SIGTERM then ends the process at once", { timeout: 30_000 }, async () => {
    const drainMs = 300;
    const interrupted = await startDrainServer({ DRAIN_MS: String(drainMs), SIGNALS: "SIGINT" });
    const terminated = await startDrainServer({ DRAIN_MS: String(drainMs), SIGNALS: "SIGINT" });
    try {
      interrupted.child.kill("SIGINT");
      await interrupted.printed(/shutting down/);
      assert.equal((await fetch(`${interrupted.origin}/healthcheck/readiness`)).status, 503, "SIGINT began the drain");
      assert.deepEqual(await interrupted.exited, [0, null], interrupted.output());

      terminated.child.kill("SIGTERM");
      assert.deepEqual(await terminated.exited, [null, "SIGTERM"], terminated.output());
      assert.doesNotMatch(terminated.output(), /shutting down/);
    } finally {
      interrupted.child.kill("SIGKILL");
      terminated.child.kill("SIGKILL");
    }
  });

  it("signals: [\"SIGTERM\", \"SIGINT\"]: either drains, and a second signal of the other kind during the drain exits at once", { timeout: 30_000 }, async () => {
    const server = await startDrainServer({ DRAIN_MS: "30000", SIGNALS: "SIGTERM,SIGINT", ON_DRAINED: "log" });
    try {
      server.child.kill("SIGINT");
      await server.printed(/shutting down/);
      assert.equal((await fetch(`${server.origin}/healthcheck/readiness`)).status, 503, "SIGINT began the drain");
      server.child.kill("SIGTERM");
      assert.deepEqual(await server.exited, [0, null], server.output());
      assert.match(server.output(), /SIGTERM again during the drain: exiting now/);
    } finally {
      server.child.kill("SIGKILL");
    }
  });
});

interface DrainServer {
  child: ChildProcess;
  origin: string;
  /** What it has printed so far. */
  output(): string;
  /** Resolves once it has printed a line matching `pattern` (rejects after 15 s). */
  printed(pattern: RegExp): Promise<void>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** Starts test/fixtures/drain-server.ts with `env` over this process's; resolves once it listens. */
async function startDrainServer(env: Record<string, string>): Promise<DrainServer> {
  const child = spawn(process.execPath, ["--import", "tsx", DRAIN_SERVER], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const printed = (pattern: RegExp, waitMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const settle = () => {
        if (!pattern.test(output)) return false;
        clearTimeout(timer);
        child.stdout!.off("data", settle);
        resolve();
        return true;
      };
      const timer = setTimeout(() => {
        child.stdout!.off("data", settle);
        reject(new Error(`the drain server did not print ${pattern}:\n${output}`));
      }, waitMs);
      if (!settle()) child.stdout!.on("data", settle);
    });
  try {
    await printed(/listening \d+/, 30_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const port = /listening (\d+)/.exec(output)![1]!;
  return { child, origin: `http://127.0.0.1:${port}`, output: () => output, printed, exited };
}

/** The status of a GET sent with `target` exactly as written. */
async function rawStatus(origin: string, target: string): Promise<number> {
  const { connect } = await import("node:net");
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
    });
    let data = "";
    socket.on("data", (chunk) => (data += chunk.toString("latin1")));
    socket.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on("error", reject);
  });
}
