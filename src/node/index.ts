/**
 * probekit/node: health endpoints straight on `node:http` (and as Express/Connect
 * middleware) without building Fetch `Request`/`Response` objects, and the
 * shutdown drain for Node servers and `next start`. The rules themselves are the
 * core's (`answerHealthRequest`): this file only reads requests and writes answers.
 *
 * @example
 * import { createServer } from "node:http";
 * import { createNodeHandler, installShutdownDrain } from "probekit/node";
 * const server = createServer(createNodeHandler(config)).listen(3000);
 * installShutdownDrain({ server, config });
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HealthConfig } from "../core/config.js";
import { answerMetricsNowOrLater, answerNowOrLater, NO_STORE, type HealthAnswer, type HealthRequestParts } from "../core/handler.js";
import { stopHealthRefreshes } from "../core/refresh-registry.js";
import { closeHealthChecks } from "../core/runner.js";
import { isShuttingDown, setShuttingDown } from "../core/shutdown.js";
import { LATE, MAX_TIMER_MS, SERVED_PATH, subsetList, withDeadline } from "../core/util.js";
import { isLivenessPath, LIVENESS_BODY, LIVENESS_HEADERS } from "../middleware/index.js";
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_DRAIN_MS } from "./defaults.js";

export interface NodeHandlerOptions {
  /**
   * The path under which `<basePath>/<subset>` is served.
   * @default the folder of the config's livenessPath ("/healthcheck")
   */
  basePath?: string;
  /** Serve this one subset at `basePath` itself instead of `<basePath>/<subset>`. */
  subset?: string;
  /** Serve one scrape of `metricsSubsets` at this path (e.g. `"/metrics"`). */
  metricsPath?: string;
  /** The subsets the metrics path runs and exposes; required with `metricsPath`. */
  metricsSubsets?: readonly string[];
}

/** Connect/Express's `next`: called for every request this handler does not serve. */
export type NextFunction = (error?: unknown) => void;

export type NodeHealthHandler = (request: IncomingMessage, response: ServerResponse, next?: NextFunction) => void;

/**
 * A `node:http` request listener (or Express/Connect middleware) serving the
 * liveness path and `<basePath>/<subset>` with the same statuses, headers and
 * bodies as `handleHealthRequest`. Other paths go to `next()`, or get a 404
 * when there is no `next`.
 *
 * @example
 * app.use(createNodeHandler(config)); // Express: /healthcheck/liveness, /healthcheck/readiness, …
 */
export function createNodeHandler(config: HealthConfig, options: NodeHandlerOptions = {}): NodeHealthHandler {
  const livenessPath = trimSlash(config.options.livenessPath);
  // "/" and "" both mean the root: subsets at /<subset>.
  const basePath = trimSlash(options.basePath ?? livenessPath.slice(0, livenessPath.lastIndexOf("/"))).replace(/^\/$/, "");
  const prefix = `${basePath}/`;
  const fixedSubset = options.subset;
  const metrics = metricsRoute(config, options);
  if (metrics !== undefined) {
    // A metrics answer is always 200: at a probe's path it would hide every failure.
    const taken = fixedSubset === undefined ? Object.keys(config.subsets).map((subset) => `${prefix}${subset}`) : [basePath || "/"];
    if (metrics.path === livenessPath || taken.includes(metrics.path)) {
      throw new TypeError(`probekit/node: metricsPath ${JSON.stringify(metrics.path)} is a probe's path; serve the metrics apart, e.g. "/metrics"`);
    }
  }

  return (request, response, next) => {
    const { pathname, query } = splitTarget(originalUrl(request));
    const method = request.method ?? "GET";
    if (metrics !== undefined && trimSlash(pathname) === metrics.path) {
      const parts = { method, format: formatOf(query), accept: headerOf(request, "accept") };
      const answer = answerMetricsNowOrLater(parts, config, metrics.subsets);
      if (answer instanceof Promise) answer.then((answer) => send(response, answer), () => send(response, INTERNAL_ERROR));
      else send(response, answer);
      return;
    }
    if (isLivenessPath(pathname, livenessPath)) {
      if (method === "GET" || method === "HEAD") {
        response.writeHead(200, LIVENESS_HEADERS);
        response.end(method === "HEAD" ? undefined : LIVENESS_BODY);
        return;
      }
    }
    const served = fixedSubset === undefined ? pathname.startsWith(prefix) && pathname.length > prefix.length : trimSlash(pathname) === (basePath || "/");
    if (!served) {
      if (next) next();
      else send(response, { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": NO_STORE }, body: "not found\n" });
      return;
    }
    const parts: HealthRequestParts = {
      method,
      pathname,
      format: formatOf(query),
      accept: headerOf(request, "accept"),
      authorization: headerOf(request, "authorization"),
    };
    const answer = answerNowOrLater(parts, config, fixedSubset === undefined ? {} : { subset: fixedSubset });
    if (!(answer instanceof Promise)) {
      send(response, answer);
      return;
    }
    answer.then(
      (answer) => send(response, answer),
      () => send(response, INTERNAL_ERROR),
    );
  };
}

const INTERNAL_ERROR: HealthAnswer = { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": NO_STORE }, body: "internal error\n" };

function formatOf(query: string): string | null {
  return query === "" ? null : new URLSearchParams(query).get("format");
}

/** The metrics path and its subsets, checked when the handler is created. */
function metricsRoute(config: HealthConfig, options: NodeHandlerOptions): { path: string; subsets: readonly string[] } | undefined {
  const { metricsPath, metricsSubsets } = options;
  if (metricsPath === undefined) {
    if (metricsSubsets !== undefined) throw new TypeError("probekit/node: metricsSubsets needs a metricsPath to serve them at, e.g. \"/metrics\"");
    return undefined;
  }
  if (typeof metricsPath !== "string" || !SERVED_PATH.test(metricsPath)) {
    throw new TypeError(`probekit/node: metricsPath must be a path starting with / (no spaces, query or fragment), got ${JSON.stringify(metricsPath)}`);
  }
  return { path: trimSlash(metricsPath), subsets: subsetList(config, metricsSubsets, "probekit/node: metricsSubsets") };
}

function send(response: ServerResponse, answer: HealthAnswer): void {
  // The client may have gone while the checks ran; there is nobody to answer.
  if (response.destroyed || response.headersSent) return;
  response.writeHead(answer.status, answer.headers);
  response.end(answer.body ?? undefined);
}

/** Express keeps the full path in `originalUrl` when it strips a mount path from `url`. */
function originalUrl(request: IncomingMessage): string {
  return (request as IncomingMessage & { originalUrl?: string }).originalUrl ?? request.url ?? "/";
}

/**
 * The pathname as `URL.pathname` would give it, and the raw query. The common
 * case (no dot, percent sign, backslash or other odd character) skips the URL parser.
 */
function splitTarget(target: string): { pathname: string; query: string } {
  // A fragment is never part of the path or the query (Request.url has none either).
  const hashAt = target.indexOf("#");
  const withoutHash = hashAt === -1 ? target : target.slice(0, hashAt);
  const queryAt = withoutHash.indexOf("?");
  const rawPath = queryAt === -1 ? withoutHash : withoutHash.slice(0, queryAt);
  const query = queryAt === -1 ? "" : withoutHash.slice(queryAt + 1);
  if (rawPath.startsWith("/") && /^[A-Za-z0-9/_~:@!$&'()*+,;=-]*$/.test(rawPath) && !rawPath.includes("//")) {
    return { pathname: rawPath, query };
  }
  try {
    // Origin + target, as Fetch bridges build Request.url: "//x/y" is a path here, not a host.
    const url = new URL(withoutHash.startsWith("/") ? `http://localhost${withoutHash}` : withoutHash);
    return { pathname: url.pathname, query: url.search.slice(1) };
  } catch {
    return { pathname: "/", query: "" };
  }
}

/**
 * A header's lines joined with ", ", as Fetch's `Headers.get` gives them. node:http
 * already joins repeated Accept lines; it keeps only the first Authorization, so that
 * one is read from `headersDistinct` — only when there is one (building it costs every probe).
 */
function headerOf(request: IncomingMessage, name: "accept" | "authorization"): string | null {
  const value = request.headers[name];
  if (value === undefined) return null;
  if (name === "accept") return value;
  return request.headersDistinct.authorization?.join(", ") ?? value;
}

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

// ---------------------------------------------------------------------------
// Shutdown drain

export interface ShutdownDrainOptions {
  /**
   * How long readiness answers 503 `shutting down` before the process exits,
   * while liveness and every other request are still served. Give it at least
   * the readiness probe's period × failureThreshold, so Kubernetes has taken the
   * pod out of its Service first.
   * @default 5000
   */
  drainMs?: number;
  /** A server to close once the drain is over: no new connections, in-flight requests finish, then exit. */
  server?: { close(callback?: (error?: Error) => void): unknown; closeIdleConnections?(): void };
  /**
   * How long, after the drain, closing may take (in-flight requests, the checks' clients,
   * `onDrained`) before the process exits anyway.
   * @default 10000
   */
  closeTimeoutMs?: number;
  /** Checks that own clients (pools, connections) are closed before the exit. */
  config?: HealthConfig;
  /** @default ["SIGTERM"] */
  signals?: NodeJS.Signals[];
  /**
   * Exit the process when done (code 0). `false` leaves that to `onDrained`.
   * @default true
   */
  exit?: boolean;
  /** Called when the drain is over and the server closed, before the exit (code 1 if it throws). */
  onDrained?: () => void | Promise<void>;
  /** Where the drain reports what it does. @default console.error */
  log?: (message: string) => void;
}

export interface ShutdownDrain {
  /** Starts the drain now, as the signal would; resolves when it is over. */
  drain(): Promise<void>;
  /** Removes the signal listeners (the drain state stays as it is). */
  uninstall(): void;
}

/**
 * On SIGTERM, readiness starts failing at once (`503`, `shutting down`) while
 * liveness and every other request are still served, for `drainMs`; then the
 * server (if given) closes, owned check clients close, and the process exits 0.
 * A second signal exits at once.
 *
 * For `next start` or the standalone server, call it from `instrumentation.ts`
 * and start the server with `NEXT_MANUAL_SIG_HANDLE=1`, or Next exits on SIGTERM
 * before the drain can begin.
 *
 * @example
 * // instrumentation.ts
 * export async function register() {
 *   if (process.env.NEXT_RUNTIME === "nodejs") {
 *     const { installShutdownDrain } = await import("probekit/node");
 *     installShutdownDrain({ drainMs: 5000 });
 *   }
 * }
 */
export function installShutdownDrain(options: ShutdownDrainOptions = {}): ShutdownDrain {
  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  for (const [name, value] of [["drainMs", drainMs], ["closeTimeoutMs", closeTimeoutMs]] as const) {
    if (!(Number.isFinite(value) && value >= 0 && value <= MAX_TIMER_MS)) throw new TypeError(`probekit/node: ${name} must be between 0 and ${MAX_TIMER_MS}, got ${value}`);
  }
  // One drain per process: a second install (a module evaluated twice, a dev reload) gets the first.
  const registry = globalThis as { [INSTALLED]?: ShutdownDrain };
  const installed = registry[INSTALLED];
  if (installed) return installed;

  const signals = options.signals ?? ["SIGTERM"];
  const log = options.log ?? ((message: string) => console.error(message));
  const exit = options.exit ?? true;

  if (process.env.NEXT_RUNTIME === "nodejs" && !process.env.NEXT_MANUAL_SIG_HANDLE) {
    log("probekit: installShutdownDrain under Next.js without NEXT_MANUAL_SIG_HANDLE=1: Next exits on SIGTERM before the drain can run");
  }

  let draining: Promise<void> | undefined;
  const drain = () => (draining ??= runDrain());

  async function runDrain(): Promise<void> {
    setShuttingDown(true);
    // Nothing runs checks while draining: readiness answers 503 without them.
    stopHealthRefreshes();
    log(`probekit: shutting down: readiness fails for ${drainMs} ms, then the process exits`);
    await delay(drainMs);
    // Closing the server, the checks' clients and onDrained share one deadline: a client
    // that never finishes closing must not keep the pod until Kubernetes kills it.
    const code = await withDeadline((async () => {
      if (options.server) await closeServer(options.server);
      if (options.config) await closeHealthChecks(options.config).catch(() => {});
      try {
        await options.onDrained?.();
        return 0;
      } catch (error) {
        log(`probekit: onDrained failed: ${error instanceof Error ? error.message : String(error)}`);
        return 1;
      }
    })(), closeTimeoutMs);
    if (code === LATE) log(`probekit: closing took longer than ${closeTimeoutMs} ms: exiting anyway`);
    if (exit) process.exit(code === LATE ? 0 : code);
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      log(`probekit: ${signal} again during the drain: exiting now`);
      process.exit(0);
    }
    void drain();
  };
  for (const signal of signals) process.on(signal, onSignal);

  const handle: ShutdownDrain = {
    drain,
    uninstall: () => {
      for (const signal of signals) process.off(signal, onSignal);
      if (registry[INSTALLED] === handle) delete registry[INSTALLED];
    },
  };
  registry[INSTALLED] = handle;
  return handle;
}

const INSTALLED = Symbol.for("probekit.shutdownDrain");

/** Closes the server and resolves once its in-flight requests are done. */
function closeServer(server: NonNullable<ShutdownDrainOptions["server"]>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections with no request in flight would hold close() open.
    server.closeIdleConnections?.();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { isShuttingDown, setShuttingDown };
