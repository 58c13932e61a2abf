/**
 * The packed tarball on the oldest Node package.json's engines allow (">=20.9": a real
 * Node 20.9.0, nodejs.org's build, which npm test's first step fetches), installed into a
 * throwaway project as `npm install probekit` would. Everything here runs on 20.9 itself:
 * the suite's own Node (20.20 on this machine) has APIs 20.9 lacks (process.getBuiltinModule,
 * import.meta.dirname, `import … with`), so a use of one in dist/ passes every other test.
 *
 * Every public entry imports without its optional peer, the CLI loads a TypeScript config
 * through tsx, through esbuild's bundle and from the cached bundle, createNodeHandler and
 * handleHealthRequest answer the probes on node:http, postgresHeartbeat runs against a real
 * PostgreSQL, and SIGTERM drains and exits 0. The project is in the system's temp folder, not
 * test/e2e/.work: from inside the repository every peer would resolve from its node_modules.
 * Needs dist/ (npm test builds it first) and the npm registry (the install).
 */
import assert from "node:assert/strict";
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort } from "../helpers/net.ts";
import { assertDistBuilt, childEnv, LIVENESS_HEADER, MINUTE, packTarball, REPO_ROOT, runCommand, sleep, startServer, stopProcessGroup } from "../helpers/next-app.ts";
import { NODE_FLOOR_VERSION, nodeFloorBinary, skipWithoutNodeFloor } from "../helpers/node-floor.ts";
import { PASSWORD, startPostgres, type PostgresServer } from "../helpers/postgres.ts";

const REPO_PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  exports: Record<string, unknown>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const ENTRIES = Object.keys(REPO_PACKAGE.exports)
  .filter((key) => key !== "./package.json")
  .map((key) => `probekit${key.slice(1)}`);
const DRAIN_MS = 2_000;

/** Imports each public entry of the installed package; prints the Node version and what each import gave. */
const IMPORTS_SCRIPT = `import { readFileSync } from "node:fs";
const { exports } = JSON.parse(readFileSync("node_modules/probekit/package.json", "utf8"));
const entries = {};
for (const key of Object.keys(exports).filter((key) => key !== "./package.json")) {
  const specifier = "probekit" + key.slice(1);
  try {
    entries[specifier] = Object.keys(await import(specifier)).length > 0 ? "ok" : "no exports";
  } catch (error) {
    entries[specifier] = error.code + ": " + error.message;
  }
}
console.log(JSON.stringify({ node: process.version, entries }));
`;

const HEALTH_CONFIG = `import { defineCheck, defineHealthConfig } from "probekit";
import { diskUsage, memory } from "probekit/checks/system";
import { label } from "./lib/label.ts";

const runtime: string = process.version;

export default defineHealthConfig({
  subsets: {
    liveness: [defineCheck({ name: "runtime", check: () => ({ output: \`\${label} on \${runtime}\` }) })],
    readiness: [diskUsage({ maxPercent: 100 }), memory({ minAvailableMb: 1 })],
  },
});
`;

const PROXY = `import { withLiveness } from "probekit/middleware";
export default withLiveness();
export const config = { matcher: ["/healthcheck/liveness"] };
`;

/** node:http with createNodeHandler, handleHealthRequest under /fetch/, and the drain; as the README wires them. */
const SERVER = `import { createServer } from "node:http";
import { defineHealthConfig, handleHealthRequest } from "probekit";
import { postgresHeartbeat } from "probekit/checks/postgres";
import { liveness } from "probekit/middleware";
import { createNodeHandler, installShutdownDrain } from "probekit/node";

const config = defineHealthConfig({
  subsets: {
    readiness: [postgresHeartbeat({ url: process.env.DATABASE_URL })],
    "wrong-password": [postgresHeartbeat({ url: process.env.WRONG_PASSWORD_URL })],
  },
  logger: false,
});

const health = createNodeHandler(config);
const server = createServer(async (request, response) => {
  if (!request.url.startsWith("/fetch/")) return health(request, response);
  const fetchRequest = new Request(new URL(request.url.slice("/fetch".length), "http://127.0.0.1"), { method: request.method, headers: request.headers });
  const answer = liveness(fetchRequest) ?? (await handleHealthRequest(fetchRequest, config));
  response.writeHead(answer.status, Object.fromEntries(answer.headers));
  response.end(Buffer.from(await answer.arrayBuffer()));
});
installShutdownDrain({ server, config, drainMs: ${DRAIN_MS}, log: (message) => console.log(message) });
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on Node " + process.version));
`;

describe(`the packed tarball on Node ${NODE_FLOOR_VERSION}, the oldest package.json's engines allow`, { skip: skipWithoutNodeFloor() }, () => {
  let node = "";
  let workdir: string | undefined;
  let dir = "";

  /** The environment of a user whose `node` is the floor: a bin's `#!/usr/bin/env node` finds it too. */
  const floorEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...childEnv(), PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ""}`, ...extra });

  /** The installed bin, as an exec probe runs it. */
  const probekit = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(join(dir, "node_modules/.bin/probekit"), args, { cwd: dir, encoding: "utf8", timeout: MINUTE, env: floorEnv(env) });

  const importEntries = () => {
    const run = spawnSync(node, ["--input-type=module", "-e", IMPORTS_SCRIPT], { cwd: dir, encoding: "utf8", timeout: MINUTE, env: floorEnv() });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as { node: string; entries: Record<string, string> };
  };

  before(async () => {
    assertDistBuilt();
    node = nodeFloorBinary();
    workdir = await mkdtemp(join(tmpdir(), "probekit-node-floor-"));
    const tarball = await packTarball(workdir);
    dir = join(workdir, "app");
    await mkdir(join(dir, "lib"), { recursive: true });
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "node-floor-app", private: true, type: "module" }));
    await runCommand("npm install (tarball)", "npm", ["install", "--no-audit", "--no-fund", tarball], { cwd: dir, timeoutMs: 5 * MINUTE });
  }, { timeout: 7 * MINUTE });

  after(async () => {
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  it(`every public entry imports on Node ${NODE_FLOOR_VERSION} with no optional peer installed; probekit/otel names the @opentelemetry/api it needs`, () => {
    const folders = [dir, ...ancestors(dir)].map((folder) => join(folder, "node_modules"));
    const reachable = Object.keys(REPO_PACKAGE.peerDependencies).filter((peer) => folders.some((folder) => existsSync(join(folder, peer))));
    assert.deepEqual(reachable, [], "optional peers resolve from the project: the imports would prove nothing about lazy loading");
    const { node: version, entries } = importEntries();
    assert.equal(version, `v${NODE_FLOOR_VERSION}`);
    assert.deepEqual(Object.keys(entries), ENTRIES);
    for (const [entry, outcome] of Object.entries(entries)) {
      if (entry === "probekit/otel") assert.match(outcome, /^ERR_MODULE_NOT_FOUND: Cannot find package '@opentelemetry\/api'/);
      else assert.equal(outcome, "ok", entry);
    }
  });

  it(`probekit check and a run load a TypeScript config on Node ${NODE_FLOOR_VERSION}: through tsx, bundled by esbuild, then from the cached bundle`, async () => {
    await writeFile(join(dir, "health.config.ts"), HEALTH_CONFIG);
    await writeFile(join(dir, "lib/label.ts"), `export const label: string = "typed";\n`);
    await writeFile(join(dir, "proxy.ts"), PROXY);
    const cacheDir = join(dir, "node_modules/.cache/probekit");
    const runtimeLine = new RegExp(`^✓ runtime\\s+pass\\s+typed on v${NODE_FLOOR_VERSION.replaceAll(".", "\\.")}\\s`, "m");

    // PROBEKIT_CACHE=0: tsx compiles the config in the process, nothing is cached.
    const tsxCheck = probekit(["check"], { PROBEKIT_CACHE: "0" });
    assert.equal(tsxCheck.status, 0, tsxCheck.stdout + tsxCheck.stderr);
    assert.equal(tsxCheck.stdout, "probekit: no problems found\n");
    const tsxRun = probekit(["--subset", "liveness", "--skip-checks"], { PROBEKIT_CACHE: "0" });
    assert.equal(tsxRun.status, 0, tsxRun.stdout + tsxRun.stderr);
    assert.match(tsxRun.stdout, runtimeLine);
    assert.equal(existsSync(cacheDir), false, "PROBEKIT_CACHE=0 wrote a cache");

    const bundledCheck = probekit(["check"]);
    assert.equal(bundledCheck.status, 0, bundledCheck.stdout + bundledCheck.stderr);
    assert.equal(bundledCheck.stdout, "probekit: no problems found\n");
    const bundles = readdirSync(cacheDir).filter((file) => file.endsWith(".mjs"));
    assert.equal(bundles.length, 1, `esbuild wrote no bundle: ${readdirSync(cacheDir).join(", ")}`);
    const bundle = join(cacheDir, bundles[0]!);
    const built = statSync(bundle);

    // Without tsx a TypeScript config loads only from the bundle: the fallback would exit 2.
    const tsx = join(dir, "node_modules/tsx");
    await rename(tsx, `${tsx}.away`);
    try {
      const cached = probekit(["--subset", "readiness"]);
      assert.equal(cached.status, 0, cached.stdout + cached.stderr);
      assert.match(cached.stdout, /^✓ disk\s+pass\s+[\d.]+% used/m);
      assert.match(cached.stdout, /^✓ memory\s+pass\s+\d+ MB available/m);
      const cachedLiveness = probekit(["--subset", "liveness", "--skip-checks"]);
      assert.equal(cachedLiveness.status, 0, cachedLiveness.stdout + cachedLiveness.stderr);
      assert.match(cachedLiveness.stdout, runtimeLine);
    } finally {
      await rename(`${tsx}.away`, tsx);
    }
    const reused = statSync(bundle);
    assert.deepEqual([reused.ino, reused.mtimeMs], [built.ino, built.mtimeMs], "the second run rebuilt the bundle");
  });

  describe("with postgres and @opentelemetry/api installed, served on node:http against a real PostgreSQL", () => {
    let postgres: PostgresServer | undefined;
    let server: { server: ChildProcess; output: () => string } | undefined;
    let base = "";

    /** A request to the server; a refused connection says what the server printed before it went. */
    const get = (path: string, init?: RequestInit) =>
      fetch(`${base}${path}`, init).catch((error: Error) => {
        throw new Error(`${path}: ${error.message} (${String(error.cause)}); the server's output:\n${server?.output()}`);
      });

    before(async () => {
      postgres = await startPostgres();
      const peers = ["postgres", "@opentelemetry/api"].map((peer) => `${peer}@${REPO_PACKAGE.devDependencies[peer]}`);
      await runCommand("npm install (peers)", "npm", ["install", "--no-audit", "--no-fund", ...peers], { cwd: dir, timeoutMs: 5 * MINUTE });
      await writeFile(join(dir, "server.mjs"), SERVER);
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const env = floorEnv({
        PORT: String(port),
        DATABASE_URL: postgres.url("postgres"),
        WRONG_PASSWORD_URL: postgres.url("postgres", "postgres", "not-the-password"),
      });
      server = await startServer(node, ["server.mjs"], { cwd: dir, env, readyUrl: `${base}/healthcheck/liveness`, timeoutMs: MINUTE });
    }, { timeout: 7 * MINUTE });

    after(async () => {
      if (server) await stopProcessGroup(server.server);
      await postgres?.destroy();
    });

    it("with its peer installed, probekit/otel imports too", () => {
      const { node: version, entries } = importEntries();
      assert.equal(version, `v${NODE_FLOOR_VERSION}`);
      for (const entry of ENTRIES) assert.equal(entries[entry], "ok", entry);
    });

    it(`createNodeHandler answers liveness, and readiness from postgresHeartbeat against PostgreSQL, on Node ${NODE_FLOOR_VERSION}`, async () => {
      assert.match(server!.output(), new RegExp(`listening on Node v${NODE_FLOOR_VERSION.replaceAll(".", "\\.")}\\n`));
      const live = await get("/healthcheck/liveness");
      assert.equal(live.status, 200);
      assert.equal(live.headers.get(LIVENESS_HEADER), "short-circuit");
      assert.equal(await live.text(), '{"status":"ok"}');

      const ready = await get("/healthcheck/readiness", { headers: { accept: "application/health+json" } });
      assert.equal(ready.status, 200);
      const body = (await ready.json()) as { status: string; checks: Record<string, { status: string; observedUnit?: string }[]> };
      assert.equal(body.status, "pass");
      assert.equal(body.checks.postgres?.[0]?.status, "pass");
      assert.equal(body.checks.postgres?.[0]?.observedUnit, "ms");

      const refused = await get("/healthcheck/wrong-password?format=json");
      assert.equal(refused.status, 500);
      const text = await refused.text();
      assert.equal((JSON.parse(text) as { checks: Record<string, { output: string }[]> }).checks.postgres?.[0]?.output, "unavailable: authentication failed");
      assert.ok(!text.includes("not-the-password") && !text.includes(PASSWORD), text);
    });

    it(`handleHealthRequest behind liveness answers the same through the Fetch API on Node ${NODE_FLOOR_VERSION}`, async () => {
      const live = await get("/fetch/healthcheck/liveness");
      assert.equal(live.status, 200);
      assert.equal(live.headers.get(LIVENESS_HEADER), "short-circuit");
      assert.equal(await live.text(), '{"status":"ok"}');
      const ready = await get("/fetch/healthcheck/readiness?format=json");
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { checks: Record<string, { status: string }[]> }).checks.postgres?.[0]?.status, "pass");
      assert.equal((await get("/fetch/healthcheck/nope")).status, 404);
    });

    it(`installShutdownDrain on SIGTERM: readiness answers 503 'shutting down', liveness 200, then exit 0 (Node ${NODE_FLOOR_VERSION})`, async () => {
      const child = server!.server;
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      const deadline = Date.now() + 10_000;
      while (!server!.output().includes("probekit: shutting down")) {
        assert.ok(Date.now() < deadline, `no drain began:\n${server!.output()}`);
        await sleep(20);
      }
      const draining = await get("/healthcheck/readiness?format=json");
      assert.equal(draining.status, 503);
      assert.deepEqual(await draining.json(), { status: "fail", output: "shutting down" });
      assert.equal((await get("/healthcheck/liveness")).status, 200);
      const code = await Promise.race([exited, sleep(DRAIN_MS + 15_000).then(() => "still running")]);
      assert.equal(code, 0, server!.output());
    });
  });
});

function ancestors(folder: string): string[] {
  const parent = dirname(folder);
  return parent === folder ? [] : [parent, ...ancestors(parent)];
}
