/**
 * Runs what `vercel build` produces (the Build Output API, .vercel/output) the way
 * Vercel does, as far as a test can: a Node function from its launcher, materialised
 * from its `.vc-config.json` `filePathMap`, behind an HTTP server that adds the
 * `x-matched-path` header Vercel's router adds; the proxy (Next's middleware, a Node
 * function with `useWebApi`) from its Web-API launcher; an edge function inside
 * Vercel's edge-runtime with the few globals Vercel's edge provides (AsyncLocalStorage,
 * the node: modules it supports) — these shims are test code.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as asyncHooks from "node:async_hooks";
import * as buffer from "node:buffer";
import * as events from "node:events";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as util from "node:util";
import assert from "node:assert";
import { dirname, join, resolve } from "node:path";
import { EdgeRuntime } from "edge-runtime";
import { freePort } from "./net.ts";
import { startServer, stopProcessGroup } from "./next-app.ts";

export interface VcConfig {
  runtime: string;
  handler?: string;
  entrypoint?: string;
  launcherType?: string;
  useWebApi?: boolean;
  filePathMap?: Record<string, string>;
  environment?: Record<string, string>;
}

export function readVcConfig(funcDir: string): VcConfig {
  return JSON.parse(readFileSync(join(funcDir, ".vc-config.json"), "utf8")) as VcConfig;
}

/** The function folder with every file its filePathMap names copied in, as Vercel deploys it. */
export function materialise(appDir: string, funcDir: string, into: string): VcConfig {
  const config = readVcConfig(funcDir);
  cpSync(funcDir, into, { recursive: true });
  for (const [to, from] of Object.entries(config.filePathMap ?? {})) {
    const target = join(into, to);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(resolve(appDir, from), target, { recursive: true, verbatimSymlinks: true });
  }
  return config;
}

const NODE_RUNNER = `
const http = require("node:http");
const { Readable } = require("node:stream");
const [launcher, matchedPath, webApi] = process.argv.slice(2);
const handler = require(launcher);
const server = http.createServer(async (req, res) => {
  if (webApi !== "1") {
    // Vercel's router tells Next's minimal-mode server which route matched.
    req.headers["x-matched-path"] = matchedPath;
    return handler(req, res);
  }
  const url = "http://" + (req.headers.host ?? "localhost") + req.url;
  const response = await handler(new Request(url, { method: req.method, headers: req.headers }));
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) Readable.fromWeb(response.body).pipe(res);
  else res.end();
});
server.listen(Number(process.env.PORT), "127.0.0.1");
`;

/** Starts a materialised Node function behind an HTTP server on a free port, once `readyPath` answers below 500. */
export async function startNodeFunction(dir: string, config: VcConfig, matchedPath: string, env: NodeJS.ProcessEnv, readyPath: string): Promise<{ baseUrl: string; server: ChildProcess; output: () => string; stop(): Promise<void> }> {
  const runner = join(dir, "probekit-test-runner.cjs");
  writeFileSync(runner, NODE_RUNNER);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const started = await startServer(process.execPath, [runner, join(dir, config.handler!), matchedPath, config.useWebApi ? "1" : "0"], {
    cwd: dir,
    env: { ...env, PORT: String(port) },
    readyUrl: `${baseUrl}${readyPath}`,
  });
  return { baseUrl, ...started, stop: () => stopProcessGroup(started.server) };
}

const EDGE_NODE_MODULES: Record<string, unknown> = { async_hooks: asyncHooks, buffer, events, util, assert };

/** An edge function of the build output inside edge-runtime; `env` is its process.env (read when it loads). */
export function edgeFunction(funcDir: string, env: Record<string, string>): EdgeRuntime {
  const config = readVcConfig(funcDir);
  assert.equal(config.runtime, "edge");
  const source = readFileSync(join(funcDir, config.entrypoint ?? "index.js"), "utf8");
  // The entry is an ES module whose default export is the handler: made a global for the script runtime.
  const code = source.replace(/\n\s*export default \(function \(\) \{/, "\nglobalThis.__vercelEdgeHandler = (function () {");
  assert.notEqual(code, source, "the edge function's default export was not found");
  const dispatch = `addEventListener("fetch", (event) => event.respondWith(globalThis.__vercelEdgeHandler(event.request, { waitUntil: (promise) => event.waitUntil(promise) })));`;
  return new EdgeRuntime({
    initialCode: `${code}\n${dispatch}`,
    extend: (context) =>
      Object.assign(context, {
        AsyncLocalStorage: asyncHooks.AsyncLocalStorage,
        process: { env: { ...config.environment, ...env } },
        require: (name: string) => {
          const found = EDGE_NODE_MODULES[name.replace(/^node:/, "")];
          if (found === undefined) throw new Error(`${name} is not available on Vercel's edge`);
          return found;
        },
      }),
  });
}
