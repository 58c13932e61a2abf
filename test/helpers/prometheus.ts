/**
 * A throwaway Prometheus 2.x server for integration tests: Debian's
 * /usr/bin/prometheus on 127.0.0.1 and a free port, with its own config, TSDB
 * and log in a temp dir, scraping the jobs the caller names every second.
 * Read through its HTTP API (query, series, targets); stopped by PID.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net.ts";

/** Starting, the first scrape (after the discovery manager's 5 s delay) and queries are slow on a 2-core machine. */
const START_TIMEOUT_MS = 30_000;
const WAIT_TIMEOUT_MS = 30_000;
const POLL_MS = 200;
const REQUEST_TIMEOUT_MS = 5_000;

export interface ScrapeJob {
  /** The job label of every series it scrapes. */
  name: string;
  /** host:port */
  target: string;
  /** @default "/metrics" */
  metricsPath?: string;
  /** Query parameters added to each scrape, e.g. `{ format: ["openmetrics"] }`. */
  params?: Record<string, string[]>;
}

/** One series of an instant vector, its value as a number. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
  /** Seconds since the Unix epoch. */
  time: number;
}

/** An entry of `/api/v1/targets`' activeTargets. */
export interface Target {
  scrapePool: string;
  scrapeUrl: string;
  labels: Record<string, string>;
  health: "up" | "down" | "unknown";
  lastError: string;
  /** RFC 3339 */
  lastScrape: string;
  lastScrapeDuration: number;
}

export interface PrometheusServer {
  port: number;
  /** What `prometheus --version` says, e.g. "2.42.0+ds". */
  version: string;
  /** When the process was started (ms since the epoch): the beginning of every range worth querying. */
  startedAt: number;
  /** Runs an instant query (`/api/v1/query`); throws unless the result is a vector. */
  query(promql: string): Promise<Sample[]>;
  /** Polls `promql` until `predicate` holds for its result, and returns that result. */
  waitFor(promql: string, predicate: (samples: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>;
  /** Every series matching the selector with a sample since `startSeconds` (`/api/v1/series`), stale ones included. */
  series(selector: string, startSeconds?: number): Promise<Record<string, string>[]>;
  /** The scrape targets and the outcome of their latest scrape. */
  targets(): Promise<Target[]>;
  /** Any other GET on the HTTP API: `/api/v1/<path>`' data. */
  api<T = unknown>(path: string, params?: Record<string, string | string[]>): Promise<T>;
  /** The last lines of its log. */
  logTail(lines?: number): string;
  /** Kills the process by PID and removes the temp dir. */
  stop(): Promise<void>;
}

function prometheusBinary(): string {
  const found = existsSync("/usr/bin/prometheus") ? "/usr/bin/prometheus" : spawnSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  // A developer may install it by hand; CI has no excuse (.ci/run installs it), so the message says which one failed.
  if (process.env.CI === "true") throw new Error("prometheus is not installed (no /usr/bin/prometheus or prometheus on PATH) on CI: .ci/run must install the Debian package prometheus");
  throw new Error("prometheus is not installed (no /usr/bin/prometheus or prometheus on PATH): apt-get install prometheus (.ci/run does)");
}

function scrapeConfig(jobs: readonly ScrapeJob[]): string {
  // JSON is YAML: no YAML writer needed.
  return JSON.stringify(
    {
      global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
      scrape_configs: jobs.map((job) => ({
        job_name: job.name,
        metrics_path: job.metricsPath ?? "/metrics",
        ...(job.params === undefined ? {} : { params: job.params }),
        static_configs: [{ targets: [job.target] }],
      })),
    },
    null,
    2,
  );
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts Prometheus scraping `jobs` and resolves once `/-/ready` answers 200.
 *
 * @example
 * const prometheus = await startPrometheus([{ name: "app", target: "127.0.0.1:3000", metricsPath: "/metrics" }]);
 * await prometheus.waitFor('up{job="app"}', (samples) => samples[0]?.value === 1);
 * await prometheus.stop();
 */
export async function startPrometheus(jobs: readonly ScrapeJob[]): Promise<PrometheusServer> {
  const binary = prometheusBinary();
  const version = /version (\S+)/.exec(spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout)?.[1] ?? "unknown";
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), "probekit-prometheus-"));
  const configFile = join(root, "prometheus.yml");
  const logFile = join(root, "prometheus.log");
  writeFileSync(configFile, scrapeConfig(jobs));
  const base = `http://127.0.0.1:${port}`;

  // Its log goes straight to a file: nothing to pump, and the file survives a crash for the error message.
  const logFd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(binary, [`--config.file=${configFile}`, `--storage.tsdb.path=${join(root, "data")}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: ["ignore", logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const startedAt = Date.now();
  let stopped = false;
  let spawnError: Error | undefined;
  child.once("error", (error) => (spawnError = error));

  const logTail = (lines = 20) => {
    try {
      return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  };
  const failure = (message: string) => new Error(`prometheus ${version} on ${port}: ${message}\n--- prometheus log (tail) ---\n${logTail()}`);
  const exitedWith = () => child.exitCode ?? child.signalCode ?? (spawnError === undefined ? null : spawnError.message);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exitedWith() === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(root, { recursive: true, force: true });
  };

  async function api<T>(path: string, params: Record<string, string | string[]> = {}): Promise<T> {
    const url = new URL(`/api/v1/${path.replace(/^\//, "")}`, base);
    for (const [name, value] of Object.entries(params)) for (const one of [value].flat()) url.searchParams.append(name, one);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
      throw failure(`GET ${url.pathname}${url.search} failed: ${String(error)}`);
    }
    const body = (await response.json().catch(() => undefined)) as { status?: string; data?: T; errorType?: string; error?: string } | undefined;
    if (body?.status !== "success") throw failure(`GET ${url.pathname}${url.search} answered ${response.status}: ${body?.errorType ?? ""} ${body?.error ?? ""}`);
    return body.data as T;
  }

  const query = async (promql: string): Promise<Sample[]> => {
    const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>("query", { query: promql });
    if (data.resultType !== "vector") throw failure(`${promql} is a ${data.resultType}, not a vector`);
    return data.result.map(({ metric, value: [time, value] }) => ({ metric, value: Number(value), time }));
  };

  const targets = async () => (await api<{ activeTargets: Target[] }>("targets", { state: "active" })).activeTargets;

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exitedWith() !== null) throw failure(`exited (${exitedWith()}) before it was ready`);
      const ready = await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw failure(`not ready within ${START_TIMEOUT_MS} ms`);
      await delay(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    port,
    version,
    startedAt,
    query,
    async waitFor(promql, predicate, timeoutMs = WAIT_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      let last: Sample[] | string = "(no answer yet)";
      for (;;) {
        try {
          last = await query(promql);
          if (predicate(last)) return last;
        } catch (error) {
          last = String(error);
        }
        if (exitedWith() !== null) throw failure(`exited (${exitedWith()}) while waiting for ${promql}`);
        if (Date.now() > deadline) {
          const scrapes = await targets().then(
            (all) => all.map((target) => `${target.scrapePool} ${target.health} lastScrape=${target.lastScrape} lastError=${JSON.stringify(target.lastError)}`).join("\n"),
            (error) => String(error),
          );
          throw failure(`${promql} did not satisfy the predicate within ${timeoutMs} ms; last result: ${JSON.stringify(last)}\ntargets:\n${scrapes}`);
        }
        await delay(POLL_MS);
      }
    },
    series: (selector, startSeconds = Math.floor(startedAt / 1000) - 1) => api<Record<string, string>[]>("series", { "match[]": selector, start: String(startSeconds) }),
    targets,
    api,
    logTail,
    stop,
  };
}
