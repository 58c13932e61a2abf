/**
 * edgeConfig through the real @vercel/edge-config client, against a local server
 * speaking Edge Config's read protocol (test/helpers/edge-config-server.ts): a
 * client the check builds and the app's own, an outage the client's stale copies
 * would hide, wrong credentials, a hung and a restarted service, EDGE_CONFIG read
 * at run time, and the check bundled for and run inside Vercel's edge-runtime.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient } from "@vercel/edge-config";
import { EdgeRuntime } from "edge-runtime";
import { EDGE_BUILD_OPTIONS } from "../helpers/edge-bundle.ts";
import { build } from "esbuild";
import { defineHealthConfig, handleHealthRequest, runHealthChecks, type Check } from "../../src/index.ts";
import { edgeConfig } from "../../src/checks/edge-config.ts";
import { startEdgeConfigServer, type EdgeConfigServer } from "../helpers/edge-config-server.ts";

const ITEMS = { greeting: "hello", flags: { beta: true } };

let server: EdgeConfigServer;
const savedEnv = process.env.EDGE_CONFIG;

before(async () => {
  delete process.env.EDGE_CONFIG;
  server = await startEdgeConfigServer({ items: ITEMS });
});
afterEach(async () => {
  // Every test leaves the service up and answering, and the env as it found it.
  server.hang(false);
  server.delay(0);
  server.failWith(undefined);
  server.setItems(ITEMS);
  await server.start();
  delete process.env.EDGE_CONFIG;
});
after(async () => {
  await server.close();
  if (savedEnv === undefined) delete process.env.EDGE_CONFIG;
  else process.env.EDGE_CONFIG = savedEnv;
});

function configOf(check: Check, timeoutMs = 2000) {
  return defineHealthConfig({ subsets: { s: [check] }, timeoutMs, cacheTtlMs: 0, logger: false });
}

async function run(check: Check, timeoutMs = 2000) {
  return (await runHealthChecks(configOf(check, timeoutMs), "s")).checks[0]!;
}

/** Runs the check, with the requests the server saw meanwhile. */
async function runSeeing(check: Check) {
  const first = server.requests.length;
  const result = await run(check);
  return { result, seen: server.requests.slice(first) };
}

describe("edgeConfig against the protocol, through the real client", () => {
  it("passes with a client it builds from a connection string, sending a consistent read without stale-if-error", async () => {
    const check = edgeConfig({ connectionString: server.connectionString });
    assert.equal(check.name, "edge-config");
    assert.equal(check.componentType, "component");
    const { result, seen } = await runSeeing(check);
    assert.equal(result.status, "pass", result.detail);
    assert.equal(seen.length, 1);
    const [request] = seen;
    assert.equal(request!.method, "HEAD");
    assert.equal(request!.path, `/${server.id}/item/probekit-health-check`);
    assert.equal(request!.query.get("version"), "1");
    assert.equal(request!.headers.authorization, `Bearer ${server.token}`);
    assert.equal(request!.headers["x-edge-config-min-updated-at"], String(Number.MAX_SAFE_INTEGER));
    assert.doesNotMatch(String(request!.headers["cache-control"]), /stale-if-error/);
    assert.match(String(request!.headers["x-edge-config-sdk"]), /^@vercel\/edge-config@1\./);
  });

  it("passes with the app's own client (default options), still as a consistent read", async () => {
    const client = createClient(server.connectionString);
    const { result, seen } = await runSeeing(edgeConfig({ client }));
    assert.equal(result.status, "pass", result.detail);
    assert.deepEqual(seen.map((request) => `${request.method} ${request.path}`), [`HEAD /${server.id}/item/probekit-health-check`]);
    assert.equal(seen[0]!.headers["x-edge-config-min-updated-at"], String(Number.MAX_SAFE_INTEGER));
  });

  it("with a key: passes when the item exists, fails when it does not", async () => {
    assert.equal((await run(edgeConfig({ connectionString: server.connectionString, key: "greeting" }))).status, "pass");
    const missing = await run(edgeConfig({ connectionString: server.connectionString, key: "new-checkout" }));
    assert.equal(missing.status, "fail");
    assert.equal(missing.output, 'unexpected result: item "new-checkout" not found');
    const userClient = await run(edgeConfig({ client: createClient(server.connectionString), key: "flags", name: "flags" }));
    assert.equal(userClient.status, "pass");
    assert.equal(userClient.name, "flags");
  });

  it("detects an outage the client's stale copies hide from get(), digest() and development has()", async () => {
    const appClient = createClient(server.connectionString); // the defaults: staleIfError one week
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = "development"; // read when the client is created
    const devClient = createClient(server.connectionString);
    if (previous === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = previous;
    const owned = edgeConfig({ connectionString: server.connectionString, name: "owned" });
    const appChecked = edgeConfig({ client: appClient, name: "app" });
    const devChecked = edgeConfig({ client: devClient, name: "dev", key: "flags" });

    // Healthy: the app reads, and every check passes.
    assert.equal(await appClient.get("greeting"), "hello");
    assert.equal(await appClient.digest({ consistentRead: true }), server.digest());
    assert.equal(await devClient.has("flags"), true);
    for (const check of [owned, appChecked, devChecked]) assert.equal((await run(check)).status, "pass", check.name);

    await server.stop();

    // The service is gone, yet the app's reads still answer from the copies they kept...
    assert.equal(await appClient.get("greeting"), "hello");
    assert.equal(await appClient.get("greeting", { consistentRead: true }), "hello");
    assert.equal(await appClient.digest({ consistentRead: true }), server.digest());
    assert.equal(await devClient.has("flags"), true);
    // ...while every form of the check sees the outage.
    for (const check of [owned, appChecked, devChecked]) {
      const result = await run(check);
      assert.equal(result.status, "fail", check.name);
      assert.equal(result.output, "unavailable: connection refused", check.name);
      assert.match(result.detail, /ECONNREFUSED/);
    }
  });

  it("recovers on the next run once the service is back on the same port", async () => {
    const check = edgeConfig({ connectionString: server.connectionString });
    assert.equal((await run(check)).status, "pass");
    await server.stop();
    assert.equal((await run(check)).output, "unavailable: connection refused");
    await server.start();
    assert.equal((await run(check)).status, "pass");
  });

  it("a wrong token fails as unauthorized, and the public body shows neither the token nor the id", async () => {
    const wrongToken = "11111111-bbbb-4ccc-8ddd-wrongtoken99";
    const check = edgeConfig({ connectionString: server.connectionStringWith({ token: wrongToken }) });
    const result = await run(check);
    assert.equal(result.status, "fail");
    assert.equal(result.output, "unavailable: unauthorized");

    const response = await handleHealthRequest(new Request("http://app.test/healthcheck/s?format=json"), configOf(check));
    assert.equal(response.status, 500);
    const body = await response.text();
    assert.match(body, /unavailable: unauthorized/);
    for (const secret of [wrongToken, server.token, server.id, server.origin]) assert.ok(!body.includes(secret), `public body shows ${secret}: ${body}`);
  });

  it("names other failures safely: 403, an unknown config, a 5xx, a bad connection string", async () => {
    server.failWith(403);
    assert.equal((await run(edgeConfig({ connectionString: server.connectionString }))).output, "unavailable: unauthorized");
    server.failWith(503);
    assert.equal((await run(edgeConfig({ connectionString: server.connectionString }))).output, "unavailable: status 503");
    server.failWith(undefined);
    const unknownId = "ecfg_doesnotexist000000000000";
    const notFound = await run(edgeConfig({ connectionString: server.connectionStringWith({ id: unknownId }) }));
    assert.equal(notFound.output, "unavailable: edge config not found");
    assert.ok(!notFound.output.includes(unknownId));
    const invalid = await run(edgeConfig({ connectionString: "edge-config:id=ecfg_x" })); // no token
    assert.equal(invalid.output, "unavailable: invalid Edge Config connection string");
    assert.ok(!invalid.output.includes("ecfg_x"));
  });

  it("a service that never answers fails within the timeout, and the next run after it answers again passes", async () => {
    const check = edgeConfig({ connectionString: server.connectionString });
    server.hang(true);
    const started = performance.now();
    const result = await run(check, 300);
    const elapsed = performance.now() - started;
    assert.equal(result.output, "unavailable: timed out after 300 ms");
    assert.ok(elapsed < 1000, `took ${Math.round(elapsed)} ms`);
    server.hang(false);
    assert.equal((await run(check, 300)).status, "pass");
  });

  it("settles its own promise when the signal aborts, though the client takes no signal", async () => {
    // The runner's race returns on time whatever the check does; this is the check letting go itself.
    const check = edgeConfig({ connectionString: server.connectionString });
    server.hang(true);
    const controller = new AbortController();
    const reason = new DOMException("timed out after 100 ms", "TimeoutError");
    setTimeout(() => controller.abort(reason), 100);
    const started = performance.now();
    await assert.rejects(Promise.resolve(check.check({ signal: controller.signal, timeoutMs: 100 })), (error) => error === reason);
    assert.ok(performance.now() - started < 500);
    assert.equal(server.requests.at(-1)!.method, "HEAD"); // the request was sent, and is still hanging
  });

  it("a slow service fails on the check's own timeoutMs, a fast enough one passes", async () => {
    server.delay(400);
    const slow = await run(edgeConfig({ connectionString: server.connectionString, timeoutMs: 150 }));
    assert.equal(slow.output, "unavailable: timed out after 150 ms");
    assert.equal((await run(edgeConfig({ connectionString: server.connectionString, timeoutMs: 1500 }))).status, "pass");
  });

  it("reads EDGE_CONFIG when it runs, not when the check is defined", async () => {
    const check = edgeConfig(); // defined with EDGE_CONFIG unset
    const missing = await run(check);
    assert.equal(missing.status, "fail");
    assert.equal(missing.output, "unavailable: no Edge Config connection string configured");

    process.env.EDGE_CONFIG = server.connectionString;
    assert.equal((await run(check)).status, "pass");

    process.env.EDGE_CONFIG = server.connectionStringWith({ token: "rotated-away" });
    assert.equal((await run(check)).output, "unavailable: unauthorized");

    assert.equal((await run(edgeConfig({ connectionString: "" }))).output, "unavailable: no Edge Config connection string configured");
  });

  it("rejects programmer mistakes when the config is defined", () => {
    const client = createClient(server.connectionString);
    assert.throws(() => edgeConfig({ client, connectionString: server.connectionString }), /not both/);
    assert.throws(() => edgeConfig({ client: {} as never }), /has\(\)/);
    assert.throws(() => edgeConfig({ key: "a/b" }), /key must be/);
    assert.throws(() => edgeConfig({ key: "" }), /key must be/);
  });
});

describe("edgeConfig inside Vercel's edge-runtime", () => {
  /** The check bundled for the edge (as edge.test.ts bundles entries) behind handleHealthRequest. */
  async function edgeRuntime(options: { env?: Record<string, string>; connectionString?: string }) {
    const source = `
      import { defineHealthConfig, handleHealthRequest } from "../../src/index.ts";
      import { edgeConfig } from "../../src/checks/edge-config.ts";
      const config = defineHealthConfig({
        subsets: { readiness: [edgeConfig(${options.connectionString === undefined ? "" : `{ connectionString: ${JSON.stringify(options.connectionString)} }`})] },
        timeoutMs: 1000,
        cacheTtlMs: 0,
        logger: false,
      });
      addEventListener("fetch", (event) => event.respondWith(handleHealthRequest(event.request, config)));
    `;
    const result = await build({
      stdin: { contents: source, resolveDir: fileURLToPath(new URL(".", import.meta.url)), sourcefile: "edge-config-worker.ts", loader: "ts" },
      ...EDGE_BUILD_OPTIONS,
      format: "iife",
    });
    const env = options.env;
    return new EdgeRuntime({
      initialCode: result.outputFiles[0]!.text,
      // Vercel's Edge runtime has process.env; the bare edge-runtime VM has no process at all.
      extend: env === undefined ? undefined : (context) => Object.assign(context, { process: { env } }),
    });
  }

  async function readiness(runtime: EdgeRuntime) {
    const response = await runtime.dispatchFetch("http://edge.test/healthcheck/readiness?format=json");
    return { status: response.status, body: (await response.json()) as { checks: Record<string, { status: string; output?: string }[]> } };
  }

  it("passes with EDGE_CONFIG from process.env, then sees the outage and the recovery", async () => {
    const runtime = await edgeRuntime({ env: { EDGE_CONFIG: server.connectionString } });
    const up = await readiness(runtime);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.checks["edge-config"]![0]!.status, "pass");
    assert.ok(server.requests.at(-1)!.headers["x-edge-config-min-updated-at"]);

    await server.stop();
    const down = await readiness(runtime);
    assert.equal(down.status, 500);
    assert.equal(down.body.checks["edge-config"]![0]!.output, "unavailable: connection refused");

    await server.start();
    assert.equal((await readiness(runtime)).status, 200);
  });

  it("passes with an explicit connection string where there is no process at all, and times out a hung service", async () => {
    const runtime = await edgeRuntime({ connectionString: server.connectionString });
    assert.equal((await readiness(runtime)).status, 200);
    server.hang(true);
    const started = performance.now();
    const hung = await readiness(runtime);
    assert.ok(performance.now() - started < 2500);
    assert.equal(hung.body.checks["edge-config"]![0]!.output, "unavailable: timed out after 1000 ms");
  });

  it("with neither, fails with the clear message", async () => {
    const { body } = await readiness(await edgeRuntime({}));
    assert.equal(body.checks["edge-config"]![0]!.output, "unavailable: no Edge Config connection string configured");
  });
});
