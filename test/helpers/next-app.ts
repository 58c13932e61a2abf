/**
 * Shared by the end-to-end tests that install, build and start real apps: a work
 * folder outside the repository, the packed tarball, commands run to completion with
 * their output kept for the report, servers in their own process group.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/**
 * Outside the repository: from inside it, Node, webpack and Turbopack would find every
 * package of its node_modules (the drivers an app did not install among them) by
 * walking up, and "only the drivers it installed" would prove nothing.
 */
export const WORK_ROOT = join(tmpdir(), "probekit-e2e");
export const MINUTE = 60_000;

/** What every health response of the apps must carry (probekit's NO_STORE, written out: the tests pin it). */
export const NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0";
export const LIVENESS_HEADER = "x-probekit-liveness";
/** The Accept header a browser sends for a page. */
export const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

/** A health JSON body as far as the e2e tests read it. */
export interface HealthBody {
  status: string;
  checks: Record<string, { status: string; output?: string }[]>;
}

type Get = (path: string, init?: RequestInit) => Promise<Response>;

/**
 * GET and HEAD /healthcheck/liveness/: Next answers a trailing slash with its own
 * 308 to the bare path before the proxy or middleware runs; a probe that follows
 * it must land on the short-circuit, never on the app's /login.
 */
export async function assertTrailingSlashReachesLiveness(get: Get): Promise<void> {
  for (const method of ["GET", "HEAD"]) {
    const response = await get("/healthcheck/liveness/", { method, redirect: "follow" });
    assert.equal(response.status, 200, `${method} /healthcheck/liveness/`);
    assert.equal(new URL(response.url).pathname, "/healthcheck/liveness", `${method} /healthcheck/liveness/ ended on ${response.url}`);
    assert.equal(response.headers.get(LIVENESS_HEADER), "short-circuit", `${method}: missing ${LIVENESS_HEADER}`);
    assert.equal(await response.text(), method === "GET" ? '{"status":"ok"}' : "");
  }
}

/** Everything but a liveness probe reaches the app's own proxy or middleware, which redirects it to /login. */
export async function assertAppRedirectsToLogin(get: Get, baseUrl: string): Promise<void> {
  const requests: [string, RequestInit?][] = [["/some-page"], ["/healthcheck/liveness-and-more"], ["/healthcheck/liveness", { method: "POST" }]];
  for (const [path, init] of requests) {
    const response = await get(path, init);
    const what = `${init?.method ?? "GET"} ${path}`;
    assert.equal(response.status, 307, what);
    assert.equal(new URL(response.headers.get("location") ?? "", baseUrl).pathname, "/login", what);
    assert.equal(response.headers.has(LIVENESS_HEADER), false, what);
  }
}

/** A new directory under WORK_ROOT; earlier runs' directories of the same prefix are removed first. */
export async function freshWorkdir(prefix: string): Promise<string> {
  await mkdir(WORK_ROOT, { recursive: true });
  for (const entry of await readdir(WORK_ROOT)) {
    if (entry.startsWith(prefix)) await rm(join(WORK_ROOT, entry), { recursive: true, force: true });
  }
  return mkdtemp(join(WORK_ROOT, prefix));
}

/** `npm pack` of the repo into `workdir`; returns the tarball's path. */
export async function packTarball(workdir: string): Promise<string> {
  const output = await runCommand("npm pack", "npm", ["pack", "--json", "--pack-destination", workdir], { cwd: REPO_ROOT, timeoutMs: 2 * MINUTE });
  const [packed] = JSON.parse(output.stdout) as { filename: string }[];
  assert.ok(packed, `npm pack printed no package:\n${output.all}`);
  return join(workdir, packed.filename);
}

export function nextBin(dir: string): string {
  // Run next's own script rather than npx, so the server's PID is the one we hold.
  return join(dir, "node_modules/next/dist/bin/next");
}

export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NO_COLOR: "1" };
  // The test runner's own variables mean nothing to npm or Next (a NODE_ENV of "test" makes next build warn).
  delete env.NODE_ENV;
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** `next build`'s route table as route → symbol (`ƒ` dynamic, `○` static, `◐` partial prerender). */
export function routeTable(buildOutput: string): Map<string, string> {
  const table = new Map<string, string>();
  for (const line of stripAnsi(buildOutput).split("\n")) {
    const match = /^[┌├└│]\s+(\S)\s+(\/\S*)/.exec(line);
    if (match) table.set(match[2]!, match[1]!);
  }
  return table;
}

// ---------------------------------------------------------------- processes

/**
 * Runs a command to completion and resolves with its output. A non-zero exit or
 * a timeout rejects with the tail of the output, so a failed install or build
 * says why in the test report.
 */
export function runCommand(label: string, command: string, args: string[], options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? childEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
    const output = collectOutput(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, options.timeoutMs);
    const fail = (reason: string) =>
      reject(new Error(`${label} ${reason}: \`${command} ${args.join(" ")}\` in ${options.cwd}\n--- last lines of its output ---\n${tail(output.all(), 60)}`));
    child.on("error", (error) => {
      clearTimeout(timer);
      fail(`could not start (${error.message})`);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
      if (timedOut) fail(`timed out after ${options.timeoutMs / 1000} s`);
      else if (code !== 0) fail(`failed (exit ${code ?? signal}) after ${seconds} s`);
      else {
        log(`${label}: ${seconds} s`);
        resolve({ all: output.all(), stdout: output.stdout() });
      }
    });
  });
}

export interface CommandOutput {
  /** stdout and stderr interleaved as they came. */
  all: string;
  stdout: string;
}

/** Collects a child's output as it comes. */
export function collectOutput(child: ChildProcess): { all: () => string; stdout: () => string } {
  let all = "";
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    all += chunk.toString("utf8");
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    all += chunk.toString("utf8");
  });
  return { all: () => all, stdout: () => stdout };
}

export async function waitUntilAnswering(url: string, server: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`the server exited (${server.exitCode ?? server.signalCode}) before answering\n--- its output ---\n${tail(output(), 60)}`);
    }
    try {
      const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new Error(`the server did not answer ${url} within ${timeoutMs / 1000} s\n--- its output ---\n${tail(output(), 60)}`);
}

/** Stops a process group this file started: SIGTERM, then SIGKILL if it lingers. */
export async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  killGroup(child, "SIGTERM");
  const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!stopped) {
    killGroup(child, "SIGKILL");
    await exited;
  }
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // A negative PID signals the group the detached child leads.
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}


// ---------------------------------------------------------------- small helpers

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function tail(text: string, lines: number): string {
  return stripAnsi(text).trimEnd().split("\n").slice(-lines).join("\n");
}

export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

export function log(message: string): void {
  process.stderr.write(`# e2e: ${message}\n`);
}

/** Throws unless `npm run build` has produced dist/ (the tarball and the CLI come from it). */
export function assertDistBuilt(): void {
  const missing = ["index.js", "next/index.js", "middleware/index.js", "cli/index.js"].filter((file) => !existsSync(join(REPO_ROOT, "dist", file)));
  if (missing.length > 0) {
    throw new Error(`dist/ is not built (missing ${missing.map((file) => `dist/${file}`).join(", ")}): run \`npm run build\` first (\`npm test\` does)`);
  }
}

/**
 * Starts a server in its own process group (so stopping it stops what it started)
 * and resolves once `readyUrl` answers below 500; rejects with its output if it
 * exits or does not answer in time.
 */
export async function startServer(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; readyUrl: string; timeoutMs?: number },
): Promise<{ server: ChildProcess; output: () => string }> {
  const server = spawn(command, args, { cwd: options.cwd, env: options.env ?? childEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
  const output = collectOutput(server).all;
  try {
    await waitUntilAnswering(options.readyUrl, server, output, options.timeoutMs ?? 2 * MINUTE);
  } catch (error) {
    await stopProcessGroup(server);
    throw error;
  }
  return { server, output };
}
