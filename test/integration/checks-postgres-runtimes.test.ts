/**
 * postgresHeartbeat on the runtimes it claims (Bun, Deno) against a real
 * PostgreSQL, and on the one it does not (Vercel's edge runtime), where it must
 * fail at request time with a clear message instead of breaking the handler.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { EdgeRuntime } from "edge-runtime";
import { EDGE_BUILD_OPTIONS } from "../helpers/edge-bundle.ts";
import { startPostgres, type PostgresServer } from "../helpers/postgres.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = fileURLToPath(new URL("../fixtures/runtime-postgres.mjs", import.meta.url));

let server: PostgresServer;
let url: string;
before(async () => {
  assert.ok(existsSync(`${REPO}/dist/checks/postgres.js`), "dist/ is not built: npm run build (npm test does)");
  server = await startPostgres();
  url = await server.createDatabase("runtimes");
});
after(() => server?.destroy());

function runWith(command: string, args: string[]) {
  const child = spawnSync(`${REPO}/node_modules/.bin/${command}`, [...args, SCRIPT], {
    cwd: REPO,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, DATABASE_URL: url, NO_COLOR: "1" },
  });
  assert.equal(child.status, 0, `${command} failed:\n${child.stdout}\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as { name: string; status: string; output: string }[];
}

describe("postgresHeartbeat on other runtimes", () => {
  for (const [runtime, args] of [["bun", ["run"]], ["deno", ["run", "-A"]]] as const) {
    it(`${runtime}: passes against the real server, and a wrong password is 'authentication failed'`, () => {
      const checks = runWith(runtime, [...args]);
      assert.deepEqual(checks, [
        { name: "postgres", status: "pass", output: "" },
        { name: "bad-password", status: "fail", output: "unavailable: authentication failed" },
      ]);
    });
  }

  it("Vercel's edge runtime: postgres.js cannot run there; the check fails at request time, the handler answers", async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL("../fixtures/edge-postgres.ts", import.meta.url))],
      ...EDGE_BUILD_OPTIONS,
      format: "iife",
      // What an edge bundler cannot provide: Node's sockets.
      external: ["node:*", "net", "tls", "crypto", "stream", "perf_hooks", "os", "fs"],
    });
    const edge = new EdgeRuntime({ initialCode: result.outputFiles[0]!.text });
    const response = await edge.dispatchFetch("http://edge.test/healthcheck/readiness?format=json");
    assert.equal(response.status, 500);
    const body = (await response.json()) as { checks: Record<string, { output: string }[]> };
    assert.equal(body.checks.postgres![0]!.output, "unavailable: probekit/checks/postgres: cannot load \"postgres\" — npm install postgres");
    assert.ok(!JSON.stringify(body).includes("secret"));
  });
});
