/**
 * Edge compatibility: `probekit`, `probekit/next`, `probekit/middleware` and
 * `probekit/checks/http` bundle for the edge without reaching any Node built-in,
 * the middleware stays tiny and zod-free, and the bundled handlers run inside
 * Vercel's edge-runtime.
 */
import assert from "node:assert/strict";
import { isBuiltin } from "node:module";
import { gzipSync } from "node:zlib";
import { describe, it } from "node:test";
import { build, type Metafile, type Plugin } from "esbuild";
import { EdgeRuntime } from "edge-runtime";
import { EDGE_BUILD_OPTIONS } from "../helpers/edge-bundle.ts";

const root = new URL("../../", import.meta.url);

/** Fails the build on any import of a Node built-in, naming the importer. */
const refuseNodeBuiltins: Plugin = {
  name: "refuse-node-builtins",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /.*/ }, (args) =>
      isBuiltin(args.path) ? { errors: [{ text: `Node built-in "${args.path}" imported by ${args.importer}` }] } : undefined,
    );
  },
};

async function bundleForEdge(entry: string, format: "esm" | "iife" = "esm"): Promise<{ code: string; metafile: Metafile }> {
  const result = await build({
    ...EDGE_BUILD_OPTIONS,
    entryPoints: [new URL(entry, root).pathname],
    minify: true,
    format,
    metafile: true,
    plugins: [refuseNodeBuiltins],
  });
  return { code: result.outputFiles[0]!.text, metafile: result.metafile };
}

describe("edge bundles", () => {
  for (const entry of ["src/index.ts", "src/next/index.ts", "src/middleware/index.ts", "src/checks/http.ts", "src/checks/edge-config.ts", "src/checks/upstash.ts", "src/checks/status-page.ts", "src/checks/neon.ts"]) {
    it(`${entry} reaches no Node built-in`, async () => {
      const { code } = await bundleForEdge(entry);
      assert.ok(code.length > 0);
      assert.doesNotMatch(code, /\brequire\(["'](node:)?[a-z_]+["']\)/);
      // Next refuses dynamic code evaluation in edge bundles (zod's classic API probes `new Function`).
      // A call of the global eval, not a method named eval (@upstash/redis has Redis's EVAL).
      assert.doesNotMatch(code, /(?:^|[^.\w$\s]|\breturn)\s*eval\s*\(|\bnew\s+Function\b|=\s*Function\b/);
    });
  }

  it("probekit/middleware imports nothing and stays under 1 KB gzipped", async () => {
    const { code, metafile } = await bundleForEdge("src/middleware/index.ts");
    assert.deepEqual(Object.keys(metafile.inputs), ["src/middleware/index.ts"]);
    assert.doesNotMatch(code, /zod/i);
    const gzipped = gzipSync(code).length;
    assert.ok(gzipped <= 1024, `middleware is ${gzipped} bytes gzipped`);
  });
});

describe("inside Vercel's edge-runtime", () => {
  const runtime = (async () => {
    const { code } = await bundleForEdge("test/fixtures/edge-worker.ts", "iife");
    return new EdgeRuntime({ initialCode: code });
  })();

  it("answers liveness from the short-circuit", async () => {
    const response = await (await runtime).dispatchFetch("http://edge.test/healthcheck/liveness");
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '{"status":"ok"}');
    assert.equal(response.headers.get("x-probekit-liveness"), "short-circuit");
    assert.equal((await (await runtime).dispatchFetch("http://edge.test/other")).status, 418);
  });

  it("serves subsets through the Next route handler, with safe output and timeouts", async () => {
    const edge = await runtime;
    const ok = await edge.dispatchFetch("http://edge.test/healthcheck/readiness?format=json");
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).checks.upstream[0].output, "ok");

    const failing = await edge.dispatchFetch("http://edge.test/healthcheck/failing", { headers: { accept: "application/health+json" } });
    assert.equal(failing.status, 500);
    assert.equal(failing.headers.get("content-type"), "application/health+json");
    const body = await failing.json();
    assert.equal(body.checks.queue[0].output, "unavailable: connection refused");
    assert.equal(body.checks.hang[0].output, "unavailable: timed out after 50 ms");
    assert.equal(body.checks.raw[0].output, "unavailable: unexpected error");
    assert.ok(!JSON.stringify(body).includes("10.9.8.7"));

    const authorized = await edge.dispatchFetch("http://edge.test/healthcheck/failing?format=json", { headers: { authorization: "Bearer edge-token" } });
    assert.match(await authorized.text(), /host=10\.9\.8\.7/);

    assert.equal((await edge.dispatchFetch("http://edge.test/healthcheck/__proto__")).status, 404);
    const html = await edge.dispatchFetch("http://edge.test/healthcheck/readiness", { headers: { accept: "text/html" } });
    assert.match(await html.text(), /<!doctype html>/);
  });
});
