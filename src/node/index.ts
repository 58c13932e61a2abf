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
import { answerHealthRequest, answerHealthRequestNow, NO_STORE, type HealthAnswer, type HealthRequestParts } from "../core/handler.js";
import { closeHealthChecks } from "../core/runner.js";
import { isShuttingDown, setShuttingDown } from "../core/shutdown.js";
import { LIVENESS_HEADER } from "../middleware/index.js";

export interface NodeHandlerOptions {
  /**
   * The path under which `<basePath>/<subset>` is served.
   * @default the folder of the config's livenessPath ("/healthcheck")
   */
  basePath?: string;
  /** Serve this one subset at `basePath` itself instead of `<basePath>/<subset>`. */
  subset?: string;
}

/** Connect/Express's `next`: called for every request this handler does not serve. */
export type NextFunction = (error?: unknown) => void;

export type NodeHealthHandler = (request: IncomingMessage, response: ServerResponse, next?: NextFunction) => void;

const LIVENESS_BODY = '{"status":"ok"}';
const LIVENESS_HEADERS = { "Content-Type": "application/json", "Cache-Control": NO_STORE, [LIVENESS_HEADER]: "short-circuit" };

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
  const basePath = trimSlash(options.basePath ?? livenessPath.slice(0, livenessPath.lastIndexOf("/")));
  const prefix = `${basePath}/`;
  const fixedSubset = options.subset;

  return (request, response, next) => {
    const { pathname, query } = splitTarget(originalUrl(request));
    const method = request.method ?? "GET";
    if (pathname === livenessPath || pathname === `${livenessPath}/`) {
      if (method === "GET" || method === "HEAD") {
        response.writeHead(200, LIVENESS_HEADERS);
        response.end(method === "HEAD" ? undefined : LIVENESS_BODY);
        return;
      }
    }
    const served = fixedSubset === undefined ? pathname.startsWith(prefix) && pathname.length > prefix.length : trimSlash(pathname) === basePath;
    if (!served) {
      if (next) next();
      else send(response, { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": NO_STORE }, body: "not found\n" });
      return;
    }
    const parts: HealthRequestParts = {
      method,
      pathname,
      format: query === "" ? null : new URLSearchParams(query).get("format"),
      accept: headerOf(request, "accept"),
      authorization: headerOf(request, "authorization"),
    };
    const options = fixedSubset === undefined ? {} : { subset: fixedSubset };
    const now = answerHealthRequestNow(parts, config, options);
    if (now !== undefined) {
      send(response, now);
      return;
    }
    answerHealthRequest(parts, config, options).then(
      (answer) => send(response, answer),
      () => send(response, { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": NO_STORE }, body: "internal error\n" }),
    );
  };
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
  const queryAt = target.indexOf("?");
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? "" : target.slice(queryAt + 1);
  if (rawPath.startsWith("/") && /^[A-Za-z0-9/_~:@!$&'()*+,;=-]*$/.test(rawPath) && !rawPath.includes("//")) {
    return { pathname: rawPath, query };
  }
  try {
    const url = new URL(target, "http://localhost");
    return { pathname: url.pathname, query: url.search.slice(1) };
  } catch {
    return { pathname: "/", query: "" };
  }
}

/** A header's lines joined with ", ", as Fetch's `Headers.get` gives them (node:http keeps only the first Authorization). */
function headerOf(request: IncomingMessage, name: "accept" | "authorization"): string | null {
  const lines = request.headersDistinct[name];
  return lines === undefined ? null : lines.join(", ");
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
   * How long, after the drain, in-flight requests get to finish before the process exits anyway.
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
  const drainMs = options.drainMs ?? 5000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  if (!(Number.isFinite(drainMs) && drainMs >= 0)) throw new TypeError(`probekit/node: drainMs must be >= 0, got ${drainMs}`);
  if (!(Number.isFinite(closeTimeoutMs) && closeTimeoutMs >= 0)) throw new TypeError(`probekit/node: closeTimeoutMs must be >= 0, got ${closeTimeoutMs}`);
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
    log(`probekit: shutting down: readiness fails for ${drainMs} ms, then the process exits`);
    await delay(drainMs);
    if (options.server) await closeServer(options.server, closeTimeoutMs);
    if (options.config) await closeHealthChecks(options.config).catch(() => {});
    let code = 0;
    try {
      await options.onDrained?.();
    } catch (error) {
      log(`probekit: onDrained failed: ${error instanceof Error ? error.message : String(error)}`);
      code = 1;
    }
    if (exit) process.exit(code);
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      log(`probekit: ${signal} again during the drain: exiting now`);
      process.exit(0);
    }
    void drain();
  };
  for (const signal of signals) process.on(signal, onSignal);

  return {
    drain,
    uninstall: () => {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };
}

/** Closes the server, waits up to `timeoutMs` for in-flight requests, and resolves either way. */
function closeServer(server: NonNullable<ShutdownDrainOptions["server"]>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    // Keep-alive connections with no request in flight would hold close() open.
    server.closeIdleConnections?.();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { isShuttingDown, setShuttingDown };
