/**
 * End-to-end: app-example/, the Next.js 16 app wired the way the README says,
 * installed and built for real, in each layout a user deploys it in:
 *
 * - `next build` + `next start` with no environment: the embedded default, no
 *   outside service; the edge route pings Upstash (a local protocol server on a
 *   real Redis) and the Node side of the app;
 * - `output: "standalone"` assembled as the README's Dockerfile does, in a folder
 *   outside the repository (so nothing resolves from its node_modules), served by
 *   `node server.js` with DATABASE_URL and REDIS_URL pointing at real PostgreSQL and
 *   Redis, and the CLI run from that folder;
 * - the worker (worker.ts) probed by the CLI the way a Kubernetes exec probe does.
 *
 * Slow: `npm install` and two `next build`s. Needs dist/ (npm test builds it
 * first), the npm registry, PostgreSQL and redis-server.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers/net.ts";
import { edgeFunction, materialise, readVcConfig, startNodeFunction } from "../helpers/vercel-output.ts";
import {
  assertDistBuilt,
  BROWSER_ACCEPT,
  childEnv,
  freshWorkdir,
  type HealthBody,
  LIVENESS_HEADER,
  MINUTE,
  nextBin,
  NO_STORE,
  packTarball,
  REPO_ROOT,
  routeTable,
  runCommand,
  sleep,
  startServer,
  stopProcessGroup,
  tail,
} from "../helpers/next-app.ts";
import { startPostgres, type PostgresServer } from "../helpers/postgres.ts";
import { startPrometheus } from "../helpers/prometheus.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { startUpstashServer, type UpstashServer } from "../helpers/upstash-server.ts";

const APP_EXAMPLE = fileURLToPath(new URL("../../app-example", import.meta.url));
/** Build products and installs of a developer's own runs of app-example are not copied. */
const NOT_COPIED = new Set(["node_modules", ".next", "next-env.d.ts", "tsconfig.tsbuildinfo"]);

const SETUP_TIMEOUT_MS = 25 * MINUTE;
/** Longer than the default `cacheTtlMs` (1 s): the next probe runs its checks afresh. */
const PAST_CACHE_MS = 1_200;
/** app-example's instrumentation.ts drains this long on SIGTERM in the standalone server. */
const STANDALONE_DRAIN_MS = 1_500;
/** The background refresh's interval under next start (HEALTH_REFRESH_MS). */
const REFRESH_MS = 200;
/** What Prometheus 2.x sends on every scrape (captured from the real server). */
const PROMETHEUS_SCRAPE_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

let services: { postgres: PostgresServer; redis: RedisServer; upstash: UpstashServer; databaseUrl: string } | undefined;
let appDir: string | undefined;

before(async () => {
  assertDistBuilt();
  const postgres = await startPostgres();
  const redis = await startRedis();
  const upstash = await startUpstashServer(redis.url());
  services = { postgres, redis, upstash, databaseUrl: await postgres.createDatabase("app_example") };
  appDir = await installAppExample();
}, { timeout: SETUP_TIMEOUT_MS });

after(async () => {
  await services?.upstash.close();
  await services?.redis.stop();
  await services?.postgres.destroy();
});

describe("app-example: next build + next start, no environment", () => {
  let server: { server: ChildProcess; output: () => string; baseUrl: string } | undefined;
  let buildOutput = "";
  let otelPort = 0;

  // The Quick start's `npm run example` (scripts/example.mjs after the build npm test has
  // made): it installs app-example against the packed repository, builds it, starts
  // `next start` and prints the probe URLs, which the tests below then hold to their word.
  before(async () => {
    const dir = installedApp();
    const port = await freePort();
    otelPort = await freePort();
    const env = {
      ...childEnv(),
      PORT: String(port),
      DRAIN_MS: "1000",
      HEALTH_REFRESH_MS: String(REFRESH_MS),
      OTEL_PROMETHEUS_PORT: String(otelPort),
      UPSTASH_REDIS_REST_URL: runningServices().upstash.url,
      UPSTASH_REDIS_REST_TOKEN: runningServices().upstash.token,
    };
    const baseUrl = `http://127.0.0.1:${port}`;
    const example = join(dir, "..", "scripts/example.mjs");
    server = { ...(await startServer(process.execPath, [example], { cwd: join(dir, ".."), env, readyUrl: `${baseUrl}/login`, timeoutMs: 12 * MINUTE })), baseUrl };
    buildOutput = server.output();
    // The banner comes after next start's "Ready" line, which the probe above may beat.
    for (let waited = 0; !/probekit example is up/.test(server.output()) && waited < 10_000; waited += 20) await sleep(20);
  }, { timeout: 15 * MINUTE });

  it("npm run example prints probe URLs that answer as it says", async () => {
    assert.ok(server, "the example did not come up: see the before hook's error");
    const urls = [...server.output().matchAll(/^\s+(http:\/\/127\.0\.0\.1:\d+\/\S+)\s/gm)].map((match) => match[1]!);
    assert.deepEqual(
      urls.map((url) => new URL(url).pathname),
      ["/healthcheck/liveness", "/healthcheck/readiness", "/healthcheck/integrations", "/edge/healthcheck/readiness"],
      server.output(),
    );
    for (const url of urls) {
      assert.equal(new URL(url).origin, server.baseUrl, url);
      const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      assert.equal(response.status, 200, `${url}: ${await response.text()}`);
    }
    const liveness = await fetch(urls[0]!, { signal: AbortSignal.timeout(30_000) });
    assert.equal(liveness.headers.get(LIVENESS_HEADER), "short-circuit", "liveness was not answered by the short-circuit in proxy.ts");
  });

  after(async () => {
    if (server) await stopProcessGroup(server.server);
  });

  const get = (path: string, init: RequestInit = {}) => {
    assert.ok(server, "next start did not come up: see the before hook's error");
    return fetch(`${server.baseUrl}${path}`, { redirect: "manual", signal: AbortSignal.timeout(30_000), ...init });
  };

  it("next build lists the health routes as dynamic and the edge route in the middleware manifest", async () => {
    const table = routeTable(buildOutput);
    assert.equal(table.get("/healthcheck/[subset]"), "ƒ", buildOutput);
    assert.equal(table.get("/edge/healthcheck/[subset]"), "ƒ", buildOutput);
    const manifest = JSON.parse(await readFile(join(installedApp(), ".next/server/middleware-manifest.json"), "utf8")) as {
      functions: Record<string, unknown>;
    };
    assert.ok("/edge/healthcheck/[subset]/route" in manifest.functions, `not an edge function: ${Object.keys(manifest.functions).join(", ")}`);
  });

  it("readiness → 200 JSON with the embedded checks only", async () => {
    const response = await get("/healthcheck/readiness", { headers: { accept: "application/json" } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.headers.get("cache-control"), NO_STORE);
    const body = (await response.json()) as HealthBody;
    assert.equal(body.status, "pass", JSON.stringify(body));
    assert.deepEqual(Object.keys(body.checks), ["memory"], "no DATABASE_URL: no database check");
  });

  it("integrations → 200 with the system checks and the app's own login page", async () => {
    const response = await get("/healthcheck/integrations?format=json");
    assert.equal(response.status, 200);
    const body = (await response.json()) as HealthBody;
    assert.notEqual(body.status, "fail", JSON.stringify(body));
    assert.deepEqual(Object.keys(body.checks).sort(), ["disk", "login-page", "memory"]);
    assert.equal(body.checks["login-page"]?.[0]?.status, "pass", JSON.stringify(body.checks["login-page"]));
  });

  it("a browser gets the HTML page; HEAD the status with no body; an unknown subset 404", async () => {
    const page = await get("/healthcheck/readiness", { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await page.text(), /memory/);
    const head = await get("/healthcheck/integrations", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const unknown = await get("/healthcheck/everything", { headers: { accept: "application/json" } });
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /unknown subset/);
  });

  it("liveness is answered by the short-circuit; every other page meets the app's proxy first", async () => {
    const liveness = await get("/healthcheck/liveness");
    assert.equal(liveness.status, 200);
    assert.equal(liveness.headers.get(LIVENESS_HEADER), "short-circuit");
    assert.equal(liveness.headers.get("cache-control"), NO_STORE);
    assert.deepEqual(await liveness.json(), { status: "ok" });
    const livenessHead = await get("/healthcheck/liveness", { method: "HEAD" });
    assert.equal(livenessHead.status, 200);
    assert.equal(await livenessHead.text(), "");

    // The same server, without and with a session: the proxy ran for these.
    const home = await get("/");
    assert.equal(home.status, 307);
    assert.equal(new URL(home.headers.get("location") ?? "", "http://x").pathname, "/login");
    assert.equal(home.headers.has(LIVENESS_HEADER), false);
    const signedIn = await get("/", { headers: { cookie: "session=1" } });
    assert.equal(signedIn.status, 200);
    assert.match(await signedIn.text(), /Signed in/);
  });

  it("/metrics answers Prometheus's scrape with OpenMetrics for both subsets; HEAD and a curl get the 0.0.4 text", async () => {
    const scrape = await get("/metrics", { headers: { accept: PROMETHEUS_SCRAPE_ACCEPT } });
    assert.equal(scrape.status, 200);
    assert.equal(scrape.headers.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert.equal(scrape.headers.get("cache-control"), NO_STORE);
    const text = await scrape.text();
    assert.ok(text.endsWith("# EOF\n"), text.slice(-80));
    for (const line of ['probekit_subset_status{subset="readiness",status="pass"} 1', 'probekit_subset_status{subset="integrations",status="pass"} 1']) {
      assert.ok(text.split("\n").includes(line), `${line} missing:\n${text}`);
    }
    const curl = await get("/metrics", { headers: { accept: "*/*" } });
    assert.equal(curl.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const head = await get("/metrics", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });

  it("instrumentation.ts refreshes the very config the routes serve: runs grow and status changes are logged with nobody probing", async () => {
    const runsOf = async () => {
      const text = await (await get("/healthcheck/readiness?format=prometheus")).text();
      return Number(/^probekit_check_runs_total\{subset="readiness",check="memory",status="pass"\} (\d+)$/m.exec(text)?.[1]);
    };
    const first = await runsOf();
    await sleep(10 * REFRESH_MS);
    const later = await runsOf();
    // Without the refresh, two probes 2 s apart would run it at most twice.
    assert.ok(later - first >= 5, `runs went from ${first} to ${later}`);
    const output = server!.output();
    assert.match(output, /\{"msg":"probekit status change","subset":"readiness","check":"memory","to":"pass",/, tail(output, 20));
    assert.match(output, /\{"msg":"probekit status change","subset":"integrations","to":"pass",/, tail(output, 20));
  });

  it("a real Prometheus scrapes /metrics and the OpenTelemetry exporter of instrumentation.ts: up, and the same families", async () => {
    const prometheus = await startPrometheus([
      { name: "app", target: new URL(server!.baseUrl).host, metricsPath: "/metrics" },
      { name: "otel", target: `127.0.0.1:${otelPort}`, metricsPath: "/metrics" },
    ]);
    try {
      for (const job of ["app", "otel"]) {
        await prometheus.waitFor(`up{job="${job}"}`, (samples) => samples[0]?.value === 1);
        const samples = await prometheus.waitFor(`probekit_subset_status{job="${job}",status="pass"}`, (found) => found.length === 2);
        assert.deepEqual(samples.map((sample) => [sample.metric.subset, sample.value]).sort(), [["integrations", 1], ["readiness", 1]], job);
        const checks = await prometheus.query(`probekit_check_status{job="${job}",subset="integrations",status="pass"}`);
        assert.deepEqual(checks.map((sample) => sample.metric.check).sort(), ["disk", "login-page", "memory"], job);
      }
      const runs = await prometheus.waitFor('probekit_check_runs_total{job="otel",subset="readiness",check="memory",status="pass"}', (found) => (found[0]?.value ?? 0) > 0);
      assert.equal(runs.length, 1);
    } finally {
      await prometheus.stop();
    }
  });

  it("the edge route serves its own subset: Upstash and the app's liveness", async () => {
    const response = await get("/edge/healthcheck/readiness", { headers: { accept: "application/json" } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), NO_STORE);
    const body = (await response.json()) as HealthBody;
    assert.equal(body.status, "pass", JSON.stringify(body));
    assert.deepEqual(Object.keys(body.checks).sort(), ["app", "upstash"]);
    assert.ok(runningServices().upstash.requests.length > 0, "the Upstash server was never asked");
    assert.equal((await get("/edge/healthcheck/integrations")).status, 404);
  });

  it("the edge route fails safely while Upstash is down, and passes once it is back", async () => {
    const { upstash } = runningServices();
    await upstash.stop();
    await sleep(PAST_CACHE_MS);
    try {
      const response = await get("/edge/healthcheck/readiness", { headers: { accept: "application/json" } });
      assert.equal(response.status, 500);
      const text = await response.text();
      const body = JSON.parse(text) as HealthBody;
      assert.equal(body.checks.upstash?.[0]?.status, "fail");
      assert.equal(body.checks.app?.[0]?.status, "pass");
      const port = new URL(upstash.url).port;
      for (const secret of [port, upstash.token, "ECONNREFUSED", "127.0.0.1"]) assert.ok(!text.includes(secret), `the body leaks ${secret}: ${text}`);
    } finally {
      await upstash.start();
    }
    await sleep(PAST_CACHE_MS);
    assert.equal((await get("/edge/healthcheck/readiness")).status, 200);
  });
});

describe("app-example: output standalone, assembled as the README's Dockerfile does", () => {
  let container: string | undefined;
  let server: { server: ChildProcess; output: () => string; baseUrl: string } | undefined;

  before(async () => {
    const dir = installedApp();
    await runCommand("next build (standalone)", process.execPath, [nextBin(dir), "build"], {
      cwd: dir,
      timeoutMs: 10 * MINUTE,
      env: { ...childEnv(), NEXT_OUTPUT: "standalone" },
    });
    // Outside the repository, as in an image: nothing may resolve from its node_modules.
    container = await mkdtemp(join(tmpdir(), "probekit-standalone-"));
    await assembleStandalone(dir, container);
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    server = {
      ...(await startServer(process.execPath, ["server.js"], { cwd: container, env: { ...containerEnv(), PORT: String(port) }, readyUrl: `${baseUrl}/login` })),
      baseUrl,
    };
  }, { timeout: 15 * MINUTE });

  after(async () => {
    if (server) await stopProcessGroup(server.server);
    if (container) await rm(container, { recursive: true, force: true });
  });

  /** The exec probe a Kubernetes readinessProbe would run in the image. */
  const containerProbe = () => {
    assert.ok(container);
    const cli = ["node_modules/probekit/dist/cli/index.js", "-s", "readiness", "--skip-checks"];
    return spawnSync(process.execPath, cli, { cwd: container, env: containerEnv(), encoding: "utf8", timeout: 60_000 });
  };

  const get = (path: string, init: RequestInit = {}) => {
    assert.ok(server, "server.js did not come up: see the before hook's error");
    return fetch(`${server.baseUrl}${path}`, { redirect: "manual", signal: AbortSignal.timeout(30_000), ...init });
  };

  it("the container folder has no probekit dependency beyond what the trace put there", () => {
    assert.ok(container);
    // zod is bundled into probekit's dist (the few functions the config validation uses): nothing to trace.
    for (const absent of ["esbuild", "tsx", "typescript", "zod"]) {
      assert.equal(existsSync(join(container, "node_modules", absent)), false, `${absent} should not be in the standalone output`);
    }
    for (const traced of ["postgres", "ioredis", "probekit"]) {
      assert.ok(existsSync(join(container, "node_modules", traced)), `${traced} was not traced into the standalone output`);
    }
  });

  it("readiness and integrations → 200 with the database and cache checks DATABASE_URL and REDIS_URL add", async () => {
    const readiness = await get("/healthcheck/readiness", { headers: { accept: "application/json" } });
    assert.equal(readiness.status, 200);
    const readinessBody = (await readiness.json()) as HealthBody;
    assert.deepEqual(Object.keys(readinessBody.checks).sort(), ["memory", "postgres"]);
    assert.equal(readinessBody.checks.postgres?.[0]?.status, "pass", JSON.stringify(readinessBody));

    const integrations = await get("/healthcheck/integrations?format=json");
    assert.equal(integrations.status, 200);
    const integrationsBody = (await integrations.json()) as HealthBody;
    assert.deepEqual(Object.keys(integrationsBody.checks).sort(), ["cache:default", "disk", "login-page", "memory", "postgres"]);
    for (const name of ["cache:default", "login-page", "postgres"]) {
      assert.equal(integrationsBody.checks[name]?.[0]?.status, "pass", `${name}: ${JSON.stringify(integrationsBody.checks[name])}`);
    }
  });

  it("liveness short-circuit, HEAD and an unknown subset behave as under next start", async () => {
    const liveness = await get("/healthcheck/liveness");
    assert.equal(liveness.status, 200);
    assert.equal(liveness.headers.get(LIVENESS_HEADER), "short-circuit");
    assert.equal((await get("/healthcheck/readiness", { method: "HEAD" })).status, 200);
    assert.equal((await get("/healthcheck/nope")).status, 404);
    assert.equal((await get("/")).status, 307);
  });

  it("the CLI runs from the container folder: -s readiness --skip-checks exits 0", () => {
    const run = containerProbe();
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /✓ postgres/);
    assert.match(run.stdout, /✓ memory/);
  });

  it("a stopped database makes readiness 500 and the CLI exit 1, without the connection details in the body", async () => {
    const { postgres } = runningServices();
    postgres.stop();
    await sleep(PAST_CACHE_MS);
    try {
      const response = await get("/healthcheck/readiness", { headers: { accept: "application/json" } });
      assert.equal(response.status, 500);
      const text = await response.text();
      for (const secret of [String(postgres.port), "postgres:", "ECONNREFUSED"]) assert.ok(!text.includes(secret), `the body leaks ${secret}: ${text}`);
      const run = containerProbe();
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /✗ postgres/);
    } finally {
      postgres.start();
    }
  });
  // Last: it ends the server.
  it("SIGTERM (instrumentation.ts): readiness 503 shutting down while liveness passes, then exit 0", async () => {
    assert.ok(server);
    const { server: child } = server;
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("exit", (code, signal) => resolve([code, signal])));
    const signalledAt = Date.now();
    child.kill("SIGTERM");
    await sleep(300);
    const readiness = await get("/healthcheck/readiness", { headers: { accept: "application/json" } });
    assert.equal(readiness.status, 503);
    assert.deepEqual(await readiness.json(), { status: "fail", output: "shutting down" });
    assert.equal((await get("/healthcheck/liveness")).status, 200);
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [0, null], server.output());
    assert.ok(Date.now() - signalledAt >= STANDALONE_DRAIN_MS, "exited before the drain was over");
  });
});

describe("app-example: the worker and its exec probe", () => {
  const heartbeatDir = () => join(installedApp(), ".heartbeat");
  const probeEnv = () => ({
    ...childEnv(),
    WORKER_HEARTBEAT_FILE: join(heartbeatDir(), "worker_heartbeat"),
    WORKER_HEARTBEAT_MAX_AGE_MS: "1500",
  });
  const probe = () =>
    spawnSync(join(installedApp(), "node_modules/.bin/probekit"), ["-s", "liveness", "--skip-checks"], {
      cwd: installedApp(),
      env: probeEnv(),
      encoding: "utf8",
      timeout: 60_000,
    });

  it("probekit -s liveness exits 0 while the worker runs, and 1 once its heartbeat is older than maxAgeMs", async () => {
    await rm(heartbeatDir(), { recursive: true, force: true });
    await mkdir(heartbeatDir(), { recursive: true });
    const worker = spawn(join(installedApp(), "node_modules/.bin/tsx"), ["worker.ts"], {
      cwd: installedApp(),
      env: probeEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    worker.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    worker.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => worker.once("exit", (code) => resolve(code)));
    try {
      await waitFor(() => existsSync(probeEnv().WORKER_HEARTBEAT_FILE), 60_000, () => `the worker wrote no heartbeat:\n${output}`);
      // Longer than maxAgeMs: a passing probe now means the worker keeps beating.
      await sleep(2_000);
      const healthy = probe();
      assert.equal(healthy.status, 0, healthy.stdout + healthy.stderr);
      assert.match(healthy.stdout, /✓ heartbeat/);
    } finally {
      process.kill(-worker.pid!, "SIGTERM");
    }
    assert.equal(await exited, 0, `the worker should stop cleanly on SIGTERM:\n${output}`);
    assert.match(output, /worker: SIGTERM/);

    await sleep(2_000);
    const stale = probe();
    assert.equal(stale.status, 1, stale.stdout + stale.stderr);
    assert.match(stale.stdout, /✗ heartbeat.*stale/);
  });
});

describe("app-example: vercel build (the Build Output API), and its functions run", () => {
  let output = "";
  const outputDir = () => join(installedApp(), ".vercel/output");
  const functionDir = (route: string) => join(outputDir(), "functions", `${route}.func`);
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    const dir = installedApp();
    // No login and no network beyond the registry: the project is linked by hand.
    await mkdir(join(dir, ".vercel"), { recursive: true });
    await writeFile(join(dir, ".vercel/project.json"), JSON.stringify({ projectId: "prj_probekit_test", orgId: "team_probekit_test", settings: { framework: "nextjs", nodeVersion: "24.x" } }));
    output = (
      await runCommand("vercel build", join(REPO_ROOT, "node_modules/.bin/vercel"), ["build", "--yes"], {
        cwd: dir,
        timeoutMs: 10 * MINUTE,
        env: { ...childEnv(), NO_UPDATE_NOTIFIER: "1", VERCEL_TELEMETRY_DISABLED: "1", NEXT_TELEMETRY_DISABLED: "1" },
      })
    ).all;
  }, { timeout: 12 * MINUTE });

  after(async () => {
    for (const stop of stops) await stop();
  });

  it("writes the Build Output API: a Node function for the health route, an edge function for the edge one, the proxy as the middleware", async () => {
    const config = JSON.parse(await readFile(join(outputDir(), "config.json"), "utf8")) as { version: number; routes: { middlewarePath?: string }[] };
    assert.equal(config.version, 3, output);
    assert.ok(config.routes.some((route) => route.middlewarePath === "/_middleware"), "no route runs the middleware");
    const node = readVcConfig(functionDir("healthcheck/[subset]"));
    assert.match(node.runtime, /^nodejs\d+\.x$/);
    assert.equal(node.launcherType, "Nodejs");
    assert.ok(Object.keys(node.filePathMap ?? {}).some((file) => file.includes("probekit")), "probekit is not traced into the Node function");
    assert.equal(readVcConfig(functionDir("edge/healthcheck/[subset]")).runtime, "edge");
    const proxy = readVcConfig(functionDir("_middleware"));
    assert.ok(proxy.useWebApi === true || proxy.runtime === "edge", JSON.stringify(proxy).slice(0, 200));
  });

  it("the Node function, through its launcher, serves readiness with the real PostgreSQL", async () => {
    const dir = await mkdtemp(join(tmpdir(), "probekit-vercel-node-"));
    const config = materialise(installedApp(), functionDir("healthcheck/[subset]"), dir);
    const fn = await startNodeFunction(dir, config, "/healthcheck/[subset]", { ...childEnv(), DATABASE_URL: runningServices().databaseUrl }, "/healthcheck/readiness");
    stops.push(fn.stop);
    const response = await fetch(`${fn.baseUrl}/healthcheck/readiness?format=json`);
    const body = (await response.json()) as HealthBody;
    assert.equal(response.status, 200, JSON.stringify(body) + fn.output());
    assert.deepEqual(Object.keys(body.checks).sort(), ["memory", "postgres"]);
    assert.equal(body.checks.postgres?.[0]?.status, "pass");
    assert.equal(response.headers.get("cache-control"), NO_STORE);
    assert.equal((await fetch(`${fn.baseUrl}/healthcheck/nope`)).status, 404);
  });

  it("the liveness short-circuit answers from the built middleware; the app's own proxy logic still runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "probekit-vercel-middleware-"));
    const config = materialise(installedApp(), functionDir("_middleware"), dir);
    const proxy = await startNodeFunction(dir, config, "/_middleware", childEnv(), "/healthcheck/liveness");
    stops.push(proxy.stop);
    const live = await fetch(`${proxy.baseUrl}/healthcheck/liveness`);
    assert.equal(live.status, 200);
    assert.equal(live.headers.get(LIVENESS_HEADER), "short-circuit");
    assert.equal(await live.text(), '{"status":"ok"}');
    // The app's own logic: a page without a session is sent to /login; a health route goes on to its function.
    const page = await fetch(`${proxy.baseUrl}/some-page`, { redirect: "manual" });
    assert.equal(page.status, 307);
    assert.equal(new URL(page.headers.get("location") ?? "", proxy.baseUrl).pathname, "/login");
    const readiness = await fetch(`${proxy.baseUrl}/healthcheck/readiness`, { redirect: "manual" });
    assert.equal(readiness.headers.get("x-middleware-next"), "1");
    assert.equal(readiness.headers.has(LIVENESS_HEADER), false);
    const post = await fetch(`${proxy.baseUrl}/healthcheck/liveness`, { method: "POST", redirect: "manual" });
    assert.equal(post.headers.has(LIVENESS_HEADER), false, "a POST is not a probe: it goes on to the app");
  });

  it("the edge function runs inside edge-runtime: readiness reaches Upstash and the app's liveness (served by the built middleware)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "probekit-vercel-middleware-"));
    const proxy = await startNodeFunction(dir, materialise(installedApp(), functionDir("_middleware"), dir), "/_middleware", childEnv(), "/healthcheck/liveness");
    stops.push(proxy.stop);
    const { upstash } = runningServices();
    const edge = edgeFunction(functionDir("edge/healthcheck/[subset]"), { PORT: new URL(proxy.baseUrl).port, UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token });
    const response = await edge.dispatchFetch("https://app.vercel.test/edge/healthcheck/readiness?format=json");
    const body = (await response.json()) as HealthBody;
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(Object.keys(body.checks).sort(), ["app", "upstash"]);
    assert.equal((await edge.dispatchFetch("https://app.vercel.test/edge/healthcheck/nope")).status, 404);
    await upstash.stop();
    try {
      await sleep(1_100); // past cacheTtlMs: the next probe runs the checks again
      const down = await edge.dispatchFetch("https://app.vercel.test/edge/healthcheck/readiness?format=json");
      const downBody = JSON.stringify(await down.json());
      assert.equal(down.status, 500, downBody);
      assert.match(downBody, /"output":"unavailable: connection refused"/);
    } finally {
      await upstash.start();
    }
  });
});

// ---------------------------------------------------------------- the app

/**
 * Lays out the packed repository (what `npm pack` ships) with app-example inside
 * it, so app-example's own `file:..` and lockfile work unchanged, and installs it.
 */
async function installAppExample(): Promise<string> {
  const workdir = await freshWorkdir("app-example-");
  const tarball = await packTarball(workdir);
  await runCommand("tar", "tar", ["-xzf", tarball, "-C", workdir], { cwd: workdir, timeoutMs: MINUTE });
  const dir = join(workdir, "package", "app-example");
  await cp(APP_EXAMPLE, dir, { recursive: true, filter: (source) => !NOT_COPIED.has(source.slice(APP_EXAMPLE.length + 1).split("/")[0]!) });
  // `npm run example`'s script sits beside app-example, as in the repository.
  await mkdir(join(workdir, "package/scripts"), { recursive: true });
  await cp(join(REPO_ROOT, "scripts/example.mjs"), join(workdir, "package/scripts/example.mjs"));
  await runCommand("npm install (app-example)", "npm", ["install", "--no-audit", "--no-fund"], { cwd: dir, timeoutMs: 10 * MINUTE });
  assert.equal(existsSync(join(dir, "node_modules/probekit/dist/index.js")), true, "probekit is not installed in app-example");
  return dir;
}

/**
 * The README's Dockerfile, step by step: the standalone server, its static files,
 * the health config bundled for the CLI (its packages stay imports, resolved from
 * the traced node_modules), and the CLI's one file.
 */
async function assembleStandalone(dir: string, container: string): Promise<void> {
  await cp(join(dir, ".next/standalone"), container, { recursive: true });
  await cp(join(dir, ".next/static"), join(container, ".next/static"), { recursive: true });
  await runCommand(
    "esbuild health.config.ts",
    join(dir, "node_modules/.bin/esbuild"),
    ["health.config.ts", "--bundle", "--platform=node", "--format=esm", "--packages=external", `--outfile=${join(container, "health.config.mjs")}`],
    { cwd: dir, timeoutMs: 2 * MINUTE },
  );
  await cp(join(dir, "node_modules/probekit/dist/cli"), join(container, "node_modules/probekit/dist/cli"), { recursive: true });
}

function containerEnv(): NodeJS.ProcessEnv {
  const { databaseUrl, redis } = runningServices();
  return {
    ...childEnv(),
    HOSTNAME: "127.0.0.1",
    NODE_ENV: "production",
    NEXT_MANUAL_SIG_HANDLE: "1",
    DRAIN_MS: String(STANDALONE_DRAIN_MS),
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url(),
  };
}

function installedApp(): string {
  assert.ok(appDir, "app-example was not installed: see the first before hook's error");
  return appDir;
}

function runningServices() {
  assert.ok(services, "the services did not start: see the first before hook's error");
  return services;
}

async function waitFor(condition: () => boolean, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(tail(message(), 40));
    await sleep(100);
  }
}
