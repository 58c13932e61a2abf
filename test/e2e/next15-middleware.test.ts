/**
 * End-to-end: the packed probekit tarball in a Next.js 15 app whose
 * `middleware.ts` (Next 15's name for the proxy; always the edge runtime there)
 * is wrapped in withLiveness, and whose health route runs in the edge runtime
 * with edge-safe checks: Upstash Redis over REST and an HTTP endpoint.
 *
 * Upstash is a local server speaking its REST protocol in front of a real
 * redis-server this file starts; the HTTP endpoint is a tiny server here. The
 * test stops and restarts the Upstash server to see the edge route fail safely
 * and recover.
 *
 * Slow: `npm install` and `next build` take minutes on a 2-core machine. Needs
 * dist/ (npm test builds it first), the npm registry and redis-server (missing,
 * it fails, like the integration tests: never a skip).
 */
import assert from "node:assert/strict";
import { spawnSync, type ChildProcess } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers/net.ts";
import {
  assertAppRedirectsToLogin,
  assertDistBuilt,
  assertTrailingSlashReachesLiveness,
  childEnv,
  freshWorkdir,
  type HealthBody,
  LIVENESS_HEADER,
  MINUTE,
  nextBin,
  NO_STORE,
  packTarball,
  routeTable,
  runCommand,
  startServer,
  stopProcessGroup,
} from "../helpers/next-app.ts";
import { REDIS_PASSWORD, startRedis, type RedisServer } from "../helpers/redis.ts";
import { startUpstashServer, type UpstashServer } from "../helpers/upstash-server.ts";

const FIXTURE_APP = fileURLToPath(new URL("./fixtures/next15-middleware", import.meta.url));
const WORKDIR_PREFIX = "next15-middleware-";

/** What the fixture app depends on besides the tarball. */
const APP_DEPENDENCIES = { next: "^15", react: "^19", "react-dom": "^19", "@upstash/redis": "^1.39.0" };
const APP_DEV_DEPENDENCIES = { typescript: "~5.9", "@types/react": "^19", "@types/node": "^20" };

const INSTALL_TIMEOUT_MS = 10 * MINUTE;
const BUILD_TIMEOUT_MS = 10 * MINUTE;
const START_TIMEOUT_MS = 2 * MINUTE;
const SETUP_TIMEOUT_MS = INSTALL_TIMEOUT_MS + BUILD_TIMEOUT_MS + START_TIMEOUT_MS + 2 * MINUTE;

/** Set by the fixture's own middleware function on what it lets through: the runtime it ran in. */
const RUNTIME_HEADER = "x-app-middleware-runtime";

interface Services {
  redis: RedisServer;
  upstash: UpstashServer;
  upstream: { url: string; requests: () => number; close: () => Promise<void> };
}

const services: Partial<Services> = {};
let app: { dir: string; baseUrl: string; buildOutput: string; server: ChildProcess; serverOutput: () => string } | undefined;

describe("probekit tarball in a Next.js 15 app (middleware.ts and an edge health route)", () => {
  before(async () => {
    // The services first: a missing redis-server fails here, before minutes of install and build.
    services.redis = await startRedis();
    services.upstash = await startUpstashServer(services.redis.url());
    services.upstream = await startUpstream();
    app = await setUpApp(services as Services);
  }, { timeout: SETUP_TIMEOUT_MS });

  after(async () => {
    if (app) await stopProcessGroup(app.server);
    await services.upstream?.close();
    await services.upstash?.close();
    await services.redis?.stop();
    // The workdir stays for inspection; the next run removes it.
  });

  describe("build", () => {
    it("builds middleware.ts and the health route for the edge runtime", async () => {
      const { buildOutput, dir } = runningApp();
      const manifest = JSON.parse(await readFile(join(dir, ".next/server/middleware-manifest.json"), "utf8")) as {
        middleware: Record<string, { name: string; matchers: { originalSource: string }[] }>;
        functions: Record<string, { name: string }>;
      };
      // This manifest lists what runs in the edge runtime: the middleware under "/", edge routes under `functions`.
      assert.equal(manifest.middleware["/"]?.name, "middleware", JSON.stringify(manifest));
      assert.deepEqual(
        manifest.middleware["/"]?.matchers.map((matcher) => matcher.originalSource),
        ["/((?!_next/static|_next/image|favicon.ico).*)"],
      );
      assert.ok(manifest.functions["/healthcheck/[subset]/route"], `the health route is not an edge function: ${JSON.stringify(manifest.functions)}`);
      const table = routeTable(buildOutput);
      assert.equal(table.get("/healthcheck/[subset]"), "ƒ", `next build should list the health route as ƒ (Dynamic):\n${buildOutput}`);
      assert.match(buildOutput, /ƒ Middleware/, "next build should report the middleware");
    });
  });

  describe("liveness (withLiveness in middleware.ts)", () => {
    it("GET /healthcheck/liveness → 200 {\"status\":\"ok\"} from the short-circuit, before the app's middleware", async () => {
      const response = await get("/healthcheck/liveness");
      assert.equal(response.status, 200);
      assert.equal(response.headers.get(LIVENESS_HEADER), "short-circuit");
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.equal(response.headers.get("cache-control"), NO_STORE);
      assert.equal(response.headers.has(RUNTIME_HEADER), false, "the app's own middleware function ran");
      assert.equal(await response.text(), '{"status":"ok"}');
    });

    it("HEAD /healthcheck/liveness → 200, empty body", async () => {
      const response = await get("/healthcheck/liveness", { method: "HEAD" });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get(LIVENESS_HEADER), "short-circuit");
      assert.equal(response.headers.get("cache-control"), NO_STORE);
      assert.equal(await response.text(), "");
    });

    it("GET and HEAD /healthcheck/liveness/ → 200 from the short-circuit", () => assertTrailingSlashReachesLiveness(get));

    it("everything else reaches the app's middleware, which redirects to /login", async () => {
      await assertAppRedirectsToLogin(get, baseUrl());
    });

    it("the app's middleware runs in the edge runtime", async () => {
      const response = await get("/login");
      assert.equal(response.status, 200, "the page the middleware redirects to");
      assert.equal(response.headers.get(RUNTIME_HEADER), "edge");
    });
  });

  describe("edge health route (app/healthcheck/[subset]/route.ts, runtime = \"edge\")", () => {
    it("GET readiness → 200 JSON, Upstash and the HTTP endpoint both passing, through the app's middleware", async () => {
      const { upstash, upstream } = running();
      const [upstashBefore, upstreamBefore] = [upstash.requests.length, upstream.requests()];
      const response = await get("/healthcheck/readiness", { headers: { accept: "application/json" } });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.equal(response.headers.get("cache-control"), NO_STORE);
      assert.equal(response.headers.get(RUNTIME_HEADER), "edge", "the app's middleware let the health route through");
      const body = JSON.parse(text) as HealthBody;
      assert.equal(body.status, "pass");
      assert.deepEqual(Object.keys(body.checks).sort(), ["redis", "upstream"]);
      assert.equal(body.checks.redis?.[0]?.status, "pass");
      assert.equal(body.checks.upstream?.[0]?.status, "pass");
      assert.equal(body.checks.upstream?.[0]?.output, "200");
      // Real traffic: the edge route reached both local servers.
      assert.ok(upstash.requests.length > upstashBefore, "the Upstash server saw no request");
      assert.ok(upstream.requests() > upstreamBefore, "the upstream saw no request");
    });

    it("HEAD → the status GET would give, with an empty body", async () => {
      for (const [path, status] of [["/healthcheck/readiness", 200], ["/healthcheck/nope", 404]] as const) {
        const response = await get(path, { method: "HEAD" });
        assert.equal(response.status, status, `HEAD ${path}`);
        assert.equal(response.headers.get("cache-control"), NO_STORE, `HEAD ${path}`);
        assert.equal(await response.text(), "", `HEAD ${path}`);
      }
    });

    it("an unknown subset → 404", async () => {
      const response = await get("/healthcheck/nope", { headers: { accept: "application/json" } });
      assert.equal(response.status, 404);
      assert.equal(response.headers.get("cache-control"), NO_STORE);
      assert.match(await response.text(), /unknown subset/);
    });

    it("Upstash stopped → 500 with a safe message only; started again → 200", async () => {
      const { upstash, redis } = running();
      const port = new URL(upstash.url).port;
      await upstash.stop();
      try {
        for (const accept of ["application/json", "text/html"]) {
          const response = await get("/healthcheck/readiness", { headers: { accept } });
          const text = await response.text();
          assert.equal(response.status, 500, text);
          assert.equal(response.headers.get("cache-control"), NO_STORE);
          for (const secret of [upstash.url, "127.0.0.1", port, upstash.token, REDIS_PASSWORD, String(redis.port)]) {
            assert.ok(!text.includes(secret), `the public body leaks ${JSON.stringify(secret)}:\n${text}`);
          }
          assert.ok(text.includes("unavailable: connection refused"), text);
          if (accept === "application/json") {
            const body = JSON.parse(text) as HealthBody;
            assert.equal(body.status, "fail");
            assert.equal(body.checks.redis?.[0]?.output, "unavailable: connection refused");
            assert.equal(body.checks.upstream?.[0]?.status, "pass", "only Upstash is down");
          }
        }
        assert.match(runningApp().serverOutput(), new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`), "the raw cause belongs in the server's log");
      } finally {
        await upstash.start();
      }
      const response = await get("/healthcheck/readiness", { headers: { accept: "application/json" } });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      assert.equal((JSON.parse(text) as HealthBody).status, "pass");
    });
  });

  describe("the probekit bin installed from the tarball, in the app", () => {
    it("probekit check finds health.config.ts and a middleware.ts whose matcher reaches liveness: no problems", () => {
      const { dir } = runningApp();
      const run = spawnSync(join(dir, "node_modules/.bin/probekit"), ["check"], { cwd: dir, encoding: "utf8", env: childEnv(), timeout: 60_000 });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.equal(run.stdout, "probekit: no problems found\n");
    });
  });
});

// ---------------------------------------------------------------- the app and its services

async function setUpApp({ upstash, upstream }: Services) {
  assertDistBuilt();
  const workdir = await freshWorkdir(WORKDIR_PREFIX);
  const tarball = await packTarball(workdir);
  const dir = join(workdir, "app");
  await cp(FIXTURE_APP, dir, { recursive: true });
  await writeAppPackageJson(dir, tarball);

  await runCommand("npm install", "npm", ["install", "--no-audit", "--no-fund"], { cwd: dir, timeoutMs: INSTALL_TIMEOUT_MS });
  const build = await runCommand("next build", process.execPath, [nextBin(dir), "build"], { cwd: dir, timeoutMs: BUILD_TIMEOUT_MS });

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...childEnv(),
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    UPSTREAM_URL: upstream.url,
  };
  const { server, output } = await startServer(process.execPath, [nextBin(dir), "start", "-H", "127.0.0.1", "-p", String(port)], {
    cwd: dir,
    env,
    readyUrl: `${baseUrl}/login`,
    timeoutMs: START_TIMEOUT_MS,
  });
  return { dir, baseUrl, buildOutput: build.all, server, serverOutput: output };
}

async function writeAppPackageJson(dir: string, tarball: string): Promise<void> {
  const packageJson = {
    name: "probekit-e2e-next15-middleware",
    private: true,
    scripts: { build: "next build", start: "next start" },
    dependencies: { probekit: `file:${tarball}`, ...APP_DEPENDENCIES },
    devDependencies: APP_DEV_DEPENDENCIES,
  };
  await writeFile(join(dir, "package.json"), `${JSON.stringify(packageJson, null, 2)}\n`);
}

/** The HTTP dependency the health route's httpEndpoint check requests: 200 to anything, counting requests. */
async function startUpstream(): Promise<Services["upstream"]> {
  let requests = 0;
  const server: Server = createServer((_request, response) => {
    requests++;
    response.writeHead(200, { "content-type": "text/plain" });
    response.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/health`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Next's fetch keeps connections alive; close() would otherwise wait for them.
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------- HTTP

function runningApp() {
  assert.ok(app, "the app did not start: see the error of the before hook");
  return app;
}

function running(): Services {
  runningApp();
  return services as Services;
}

function baseUrl(): string {
  return runningApp().baseUrl;
}

/** A request to the app; redirects are returned, not followed, unless `init` says otherwise. */
function get(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${baseUrl()}${path}`, { redirect: "manual", signal: AbortSignal.timeout(30_000), ...init });
}
