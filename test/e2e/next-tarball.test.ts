/**
 * End-to-end: a new user's Next.js 16 app, built and started for real, on the
 * packed probekit tarball (what `npm install probekit` would give them), not on
 * the source tree.
 *
 * The app in fixtures/next-app is wired the way the README says: a
 * health.config.ts, app/healthcheck/[subset]/route.ts, a fixed-subset route, and
 * a proxy.ts whose own function sends everything to /login, wrapped in
 * withLiveness. It builds with `cacheComponents: true`, where Next prerenders a
 * route handler at build time unless it reads its request.
 *
 * Slow: `npm install` and `next build` take minutes on a 2-core machine. Needs
 * dist/ (npm test builds it first) and the npm registry.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers/net.ts";
import {
  assertAppRedirectsToLogin,
  assertDistBuilt,
  assertTrailingSlashReachesLiveness,
  BROWSER_ACCEPT,
  childEnv,
  collectOutput,
  freshWorkdir,
  type HealthBody,
  LIVENESS_HEADER,
  MINUTE,
  nextBin,
  NO_STORE,
  packTarball,
  routeTable,
  runCommand,
  sleep,
  stopProcessGroup,
  waitUntilAnswering,
} from "../helpers/next-app.ts";

const FIXTURE_APP = fileURLToPath(new URL("./fixtures/next-app", import.meta.url));
const WORKDIR_PREFIX = "next-tarball-";

/** What the fixture app depends on besides the tarball. */
const APP_DEPENDENCIES = { next: "^16", react: "^19", "react-dom": "^19" };
const APP_DEV_DEPENDENCIES = { typescript: "~5.9", "@types/react": "^19", "@types/node": "^20" };

const INSTALL_TIMEOUT_MS = 10 * MINUTE;
const BUILD_TIMEOUT_MS = 10 * MINUTE;
const START_TIMEOUT_MS = 2 * MINUTE;
const SETUP_TIMEOUT_MS = INSTALL_TIMEOUT_MS + BUILD_TIMEOUT_MS + START_TIMEOUT_MS + 2 * MINUTE;

/** Given to `next start` as HEALTH_CHECK_TOKEN: a request bearing it sees raw error detail. */
const TOKEN = "e2e-token-5f1c";
/** The fixture's instrumentation.ts drains this long on SIGTERM. */
const DRAIN_MS = 2_000;
/** Raw text the `failing` subset's driver error carries; it must never reach a public response. */
const SECRETS = ["hunter2", "10.0.0.1"];

let app: { dir: string; baseUrl: string; buildOutput: string; server: ChildProcess; serverOutput: () => string } | undefined;

describe("probekit tarball in a Next.js 16 app (cacheComponents, proxy.ts)", () => {
  before(async () => {
    app = await setUpApp();
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => {
    if (app) await stopProcessGroup(app.server);
    // The workdir stays for inspection; the next run removes it.
  });

  describe("build", () => {
    it("reports the health routes as dynamic, not prerendered", async () => {
      const { buildOutput, dir } = runningApp();
      const table = routeTable(buildOutput);
      for (const route of ["/healthcheck/[subset]", "/fixed-readiness", "/stale/[subset]"]) {
        assert.equal(table.get(route), "ƒ", `next build should list ${route} as ƒ (Dynamic):\n${buildOutput}`);
      }
      const manifest = JSON.parse(await readFile(join(dir, ".next/prerender-manifest.json"), "utf8")) as {
        routes: Record<string, unknown>;
        dynamicRoutes: Record<string, unknown>;
      };
      const prerendered = [...Object.keys(manifest.routes), ...Object.keys(manifest.dynamicRoutes)];
      const healthRoutes = prerendered.filter((route) => route.startsWith("/healthcheck") || route === "/fixed-readiness");
      assert.deepEqual(healthRoutes, [], "no health route may be in .next/prerender-manifest.json");
    });
  });

  describe("subset route (app/healthcheck/[subset]/route.ts)", () => {
    it("GET readiness with Accept: application/json → 200 JSON with every check", async () => {
      const response = await get("/healthcheck/readiness", { headers: { accept: "application/json" } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/json");
      const body = (await response.json()) as HealthBody;
      assert.equal(body.status, "pass");
      assert.deepEqual(Object.keys(body.checks).sort(), ["cache", "database"]);
      assert.equal(body.checks.cache?.[0]?.output, "warm");
    });

    it("?format=json wins over a browser's Accept", async () => {
      const response = await get("/healthcheck/readiness?format=json", { headers: { accept: BROWSER_ACCEPT } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.equal(((await response.json()) as HealthBody).status, "pass");
    });

    it("Accept: application/health+json → that content type", async () => {
      const response = await get("/healthcheck/readiness", { headers: { accept: "application/health+json" } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/health+json");
      assert.equal(((await response.json()) as HealthBody).status, "pass");
    });

    it("a browser's Accept → an HTML page naming every check", async () => {
      const response = await get("/healthcheck/readiness", { headers: { accept: BROWSER_ACCEPT } });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
      const html = await response.text();
      assert.match(html, /^<!doctype html>/i);
      assert.ok(html.includes("database") && html.includes("cache"), html);
    });

    it("failing → 500 with safe messages only, never the raw driver text", async () => {
      for (const accept of ["application/json", BROWSER_ACCEPT]) {
        const response = await get("/healthcheck/failing", { headers: { accept } });
        assert.equal(response.status, 500);
        const body = await response.text();
        assert.ok(body.includes("unavailable: db down"), body);
        assert.ok(body.includes("unavailable: unexpected error"), body);
        assertNoSecrets(body);
      }
      assert.match(runningApp().serverOutput(), /password=hunter2/, "the raw error belongs in the server's log");
    });

    it("failing with a wrong bearer token → still the safe messages", async () => {
      const response = await get("/healthcheck/failing", { headers: { accept: "application/json", authorization: "Bearer not-the-token" } });
      assert.equal(response.status, 500);
      assertNoSecrets(await response.text());
    });

    it("failing with Authorization: Bearer <HEALTH_CHECK_TOKEN> → the raw error text", async () => {
      const response = await get("/healthcheck/failing", { headers: { accept: "application/json", authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.status, 500);
      const body = (await response.json()) as HealthBody;
      assert.match(body.checks.driver?.[0]?.output ?? "", /password=hunter2 host=10\.0\.0\.1/);
      assert.equal(body.checks.database?.[0]?.output, "unavailable: db down");
    });

    it("HEAD → the status GET would give, with an empty body", async () => {
      for (const [path, status] of [["/healthcheck/readiness", 200], ["/healthcheck/failing", 500], ["/healthcheck/nope", 404]] as const) {
        const response = await get(path, { method: "HEAD" });
        assert.equal(response.status, status, `HEAD ${path}`);
        assert.equal(await response.text(), "", `HEAD ${path}`);
      }
    });

    it("an unknown subset → 404", async () => {
      const response = await get("/healthcheck/nope", { headers: { accept: "application/json" } });
      assert.equal(response.status, 404);
      assert.match(await response.text(), /unknown subset/);
    });

    it("Object.prototype names are not subsets → 404", async () => {
      for (const name of ["__proto__", "constructor", "toString"]) {
        const response = await get(`/healthcheck/${name}`, { headers: { accept: "application/json" } });
        assert.equal(response.status, 404, `/healthcheck/${name}`);
      }
    });

    it("a percent-encoded subset name is decoded exactly once", async () => {
      assert.equal((await get("/healthcheck/readines%73")).status, 200, "readines%73 is readiness");
      // Decoded once this names the subset "readines%73", which does not exist.
      assert.equal((await get("/healthcheck/readines%2573")).status, 404, "readines%2573 must not be decoded twice");
    });

    it("runs the checks on every request, never a build-time or cached answer", async () => {
      // The config's cacheTtlMs is 0; the pause only keeps the two runs apart.
      const first = await countingRun();
      await sleep(50);
      const second = await countingRun();
      assert.ok(second > first, `the counter did not move (run ${first}, then run ${second})`);
    });
  });

  describe("stale answers refreshed by Next's after() (app/stale/[subset]/route.ts)", () => {
    const refreshed = async () => {
      const started = performance.now();
      const response = await get("/stale/refreshed", { headers: { accept: "application/json" } });
      assert.equal(response.status, 200);
      const body = (await response.json()) as HealthBody;
      return { run: Number(/^run (\d+)$/.exec(body.checks.refreshed?.[0]?.output ?? "")?.[1]), ms: performance.now() - started };
    };

    it("the first request waits for the 800 ms run; later ones get the last report at once while after() runs the next", async () => {
      const first = await refreshed();
      assert.ok(first.ms >= 700, `the first request took ${first.ms.toFixed(0)} ms: it cannot have run the check`);
      const second = await refreshed();
      assert.equal(second.run, first.run, "answered the report it had");
      assert.ok(second.ms < 600, `a stale answer took ${second.ms.toFixed(0)} ms`);
      // The refresh ran after that response: the next answer is its report.
      await sleep(1_200);
      const third = await refreshed();
      assert.equal(third.run, first.run + 1, `after() did not refresh (runs ${first.run}, ${second.run}, ${third.run})`);
      assert.ok(third.ms < 600, `took ${third.ms.toFixed(0)} ms`);
    });
  });

  describe("fixed route (app/fixed-readiness/route.ts)", () => {
    it("serves the readiness subset", async () => {
      const response = await get("/fixed-readiness", { headers: { accept: "application/json" } });
      assert.equal(response.status, 200);
      const body = (await response.json()) as HealthBody;
      assert.equal(body.status, "pass");
      assert.deepEqual(Object.keys(body.checks).sort(), ["cache", "database"]);
      assert.equal((await get("/fixed-readiness", { method: "HEAD" })).status, 200);
    });
  });

  describe("every health response", () => {
    it(`has Cache-Control: ${NO_STORE}`, async () => {
      const requests: [string, RequestInit?][] = [
        ["/healthcheck/readiness", { headers: { accept: "application/json" } }],
        ["/healthcheck/readiness", { headers: { accept: BROWSER_ACCEPT } }],
        ["/healthcheck/readiness", { headers: { accept: "application/health+json" } }],
        ["/healthcheck/readiness", { method: "HEAD" }],
        ["/healthcheck/readiness", { headers: { accept: "image/png" } }],
        ["/healthcheck/failing"],
        ["/healthcheck/failing", { headers: { authorization: `Bearer ${TOKEN}` } }],
        ["/healthcheck/counting"],
        ["/healthcheck/nope"],
        ["/healthcheck/__proto__"],
        ["/fixed-readiness"],
        ["/healthcheck/liveness"],
        ["/healthcheck/liveness", { method: "HEAD" }],
      ];
      for (const [path, init] of requests) {
        const response = await get(path, init);
        await response.arrayBuffer();
        assert.equal(response.headers.get("cache-control"), NO_STORE, `${init?.method ?? "GET"} ${path} → ${response.status}`);
      }
    });
  });

  describe("the probekit bin installed from the tarball, in the app", () => {
    const probekit = (...args: string[]) =>
      spawnSync(join(runningApp().dir, "node_modules/.bin/probekit"), args, { cwd: runningApp().dir, encoding: "utf8", env: childEnv(), timeout: 60_000 });

    it("probekit check finds health.config.ts and a proxy.ts whose matcher reaches liveness: no problems", () => {
      const run = probekit("check");
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.equal(run.stdout, "probekit: no problems found\n");
    });

    it("probekit -s readiness --skip-checks exits 0; -s failing exits 1 with the raw detail", () => {
      const ok = probekit("-s", "readiness", "--skip-checks");
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /✓ database/);
      const failing = probekit("-s", "failing", "--skip-checks");
      assert.equal(failing.status, 1);
      assert.match(failing.stdout, /password=hunter2/);
    });
  });

  describe("liveness (withLiveness in proxy.ts)", () => {
    it("GET /healthcheck/liveness → 200 {\"status\":\"ok\"}, answered before the app's proxy", async () => {
      const response = await get("/healthcheck/liveness");
      assert.equal(response.status, 200);
      assert.ok(response.headers.has(LIVENESS_HEADER), `missing ${LIVENESS_HEADER}`);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.deepEqual(await response.json(), { status: "ok" });
    });

    it("HEAD /healthcheck/liveness → 200, empty body", async () => {
      const response = await get("/healthcheck/liveness", { method: "HEAD" });
      assert.equal(response.status, 200);
      assert.ok(response.headers.has(LIVENESS_HEADER), `missing ${LIVENESS_HEADER}`);
      assert.equal(await response.text(), "");
    });

    it("GET and HEAD /healthcheck/liveness/ → 200 from the short-circuit", () => assertTrailingSlashReachesLiveness(get));

    it("everything else reaches the app's proxy, which redirects to /login", async () => {
      await assertAppRedirectsToLogin(get, baseUrl());
      assert.equal((await get("/login")).status, 200, "the page the proxy redirects to");
    });
  });

  // Last: it ends the server.
  describe("shutdown drain (instrumentation.ts, NEXT_MANUAL_SIG_HANDLE=1)", () => {
    it("on SIGTERM: readiness 503 shutting down, liveness 200, the probe in flight finishes, exit 0 after the drain", async () => {
      const { server } = runningApp();
      assert.equal((await get("/healthcheck/readiness")).status, 200);
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => server.once("exit", (code, signal) => resolve([code, signal])));
      const inFlight = get("/healthcheck/slow", { headers: { accept: "application/json" } });
      await sleep(300);
      const signalledAt = Date.now();
      server.kill("SIGTERM");
      await sleep(200);

      const readiness = await get("/healthcheck/readiness", { headers: { accept: "application/json" } });
      assert.equal(readiness.status, 503);
      assert.equal(readiness.headers.get("cache-control"), NO_STORE);
      assert.deepEqual(await readiness.json(), { status: "fail", output: "shutting down" });
      const liveness = await get("/healthcheck/liveness");
      assert.equal(liveness.status, 200);
      assert.ok(liveness.headers.has(LIVENESS_HEADER));
      assert.equal((await get("/login")).status, 200, "the app itself still serves during the drain");
      assert.equal((await inFlight).status, 200, "the probe in flight when SIGTERM came finished");

      const [code, signal] = await exited;
      const tookMs = Date.now() - signalledAt;
      assert.deepEqual([code, signal], [0, null], runningApp().serverOutput());
      assert.ok(tookMs >= DRAIN_MS, `exited ${tookMs} ms after SIGTERM, before the ${DRAIN_MS} ms drain was over`);
      assert.match(runningApp().serverOutput(), /probekit: shutting down/);
    });
  });
});

// ---------------------------------------------------------------- the app

async function setUpApp() {
  assertDistBuilt();
  const workdir = await freshWorkdir(WORKDIR_PREFIX);
  const tarball = await packTarball(workdir);
  const dir = join(workdir, "app");
  await cp(FIXTURE_APP, dir, { recursive: true });
  await writeAppPackageJson(dir, tarball);

  await runCommand("npm install", "npm", ["install", "--no-audit", "--no-fund"], { cwd: dir, timeoutMs: INSTALL_TIMEOUT_MS });
  const build = await runCommand("next build", process.execPath, [nextBin(dir), "build"], { cwd: dir, timeoutMs: BUILD_TIMEOUT_MS });

  const port = await freePort();
  const server = spawn(process.execPath, [nextBin(dir), "start", "-H", "127.0.0.1", "-p", String(port)], {
    cwd: dir,
    env: { ...childEnv(), HEALTH_CHECK_TOKEN: TOKEN, NEXT_MANUAL_SIG_HANDLE: "1", DRAIN_MS: String(DRAIN_MS) },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so stopping it stops anything it started too.
    detached: true,
  });
  const serverOutput = collectOutput(server).all;
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(`${baseUrl}/login`, server, serverOutput, START_TIMEOUT_MS);
  } catch (error) {
    await stopProcessGroup(server);
    throw error;
  }
  return { dir, baseUrl, buildOutput: build.all, server, serverOutput };
}

async function writeAppPackageJson(dir: string, tarball: string): Promise<void> {
  const packageJson = {
    name: "probekit-e2e-next-app",
    private: true,
    scripts: { build: "next build", start: "next start" },
    dependencies: { probekit: `file:${tarball}`, ...APP_DEPENDENCIES },
    devDependencies: APP_DEV_DEPENDENCIES,
  };
  await writeFile(join(dir, "package.json"), `${JSON.stringify(packageJson, null, 2)}\n`);
}

// ---------------------------------------------------------------- HTTP

function runningApp() {
  assert.ok(app, "the app did not start: see the error of the before hook");
  return app;
}

function baseUrl(): string {
  return runningApp().baseUrl;
}

/** A request to the app; redirects are returned, not followed, unless `init` says otherwise. */
function get(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${baseUrl()}${path}`, { redirect: "manual", signal: AbortSignal.timeout(30_000), ...init });
}

/** The run number the `counting` subset reports. */
async function countingRun(): Promise<number> {
  const response = await get("/healthcheck/counting?format=json");
  assert.equal(response.status, 200);
  const output = ((await response.json()) as HealthBody).checks.counter?.[0]?.output ?? "";
  const run = /^run (\d+)$/.exec(output)?.[1];
  assert.ok(run, `unexpected counter output ${JSON.stringify(output)}`);
  return Number(run);
}

function assertNoSecrets(body: string): void {
  for (const secret of SECRETS) assert.ok(!body.includes(secret), `the public body leaks ${JSON.stringify(secret)}:\n${body}`);
}
