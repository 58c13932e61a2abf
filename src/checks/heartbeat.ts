/**
 * probekit/checks/heartbeat: liveness for processes that bind no port (Node only).
 * The worker touches a file on a timer; the exec probe checks the file is fresh,
 * so a wedged event loop or a dead worker fails its liveness probe. Or the worker
 * publishes to Redis, and the web tier checks that some worker of the cluster is
 * alive (`clusterHeartbeat`), the worker that it is itself (`localHeartbeat`).
 *
 * @example
 * // worker.ts
 * import { startFileHeartbeat } from "probekit/checks/heartbeat";
 * const stop = startFileHeartbeat();
 * // health.config.ts
 * defineHealthConfig({ subsets: { liveness: [fileHeartbeat()] } });
 * // Kubernetes: exec probe `probekit -s liveness --skip-checks`
 */
import { rename, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable } from "../core/errors.js";
import { redisCall, redisConnector, type RedisSource } from "../internal/redis.js";
import { ownedTcp } from "../internal/redis-tcp.js";

const DEFAULT_FILE = "/tmp/worker_heartbeat";

export interface FileHeartbeatWriterOptions {
  /** @default "/tmp/worker_heartbeat" */
  file?: string;
  /**
   * How often the file is touched, in milliseconds.
   * @default 1000
   */
  intervalMs?: number;
  /** Called when a write fails (a full or read-only disk); the heartbeat keeps trying. */
  onError?: (error: unknown) => void;
}

/**
 * Touches `file` now and every `intervalMs`, atomically (write, then rename), on a
 * timer that never keeps the process alive. Returns a function that stops it.
 *
 * @example
 * const stop = startFileHeartbeat({ file: "/tmp/worker_heartbeat" });
 * process.on("SIGTERM", () => { stop(); worker.close(); });
 */
export function startFileHeartbeat(options: FileHeartbeatWriterOptions = {}): () => void {
  const file = options.file ?? DEFAULT_FILE;
  const intervalMs = options.intervalMs ?? 1000;
  if (!(Number.isFinite(intervalMs) && intervalMs > 0)) throw new TypeError(`probekit/checks/heartbeat: intervalMs must be > 0, got ${intervalMs}`);
  const temp = `${file}.${process.pid}.tmp`;
  let writing = false;
  const beat = async () => {
    // A slow disk must not pile up writes.
    if (writing) return;
    writing = true;
    try {
      await writeFile(temp, `${new Date().toISOString()} pid=${process.pid}\n`);
      await rename(temp, file);
    } catch (error) {
      options.onError?.(error);
      await unlink(temp).catch(() => {});
    } finally {
      writing = false;
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export interface FileHeartbeatOptions extends CommonCheckOptions {
  /** @default "/tmp/worker_heartbeat" */
  file?: string;
  /**
   * The file is stale once it is older than this, in milliseconds.
   * @default 60000
   */
  maxAgeMs?: number;
}

/**
 * Passes while `file` was touched within `maxAgeMs`; fails with `missing` or
 * `stale (age=…s > max_age=…s)`.
 *
 * @example
 * fileHeartbeat({ maxAgeMs: 30_000 });
 */
export function fileHeartbeat(options: FileHeartbeatOptions = {}): Check {
  const file = options.file ?? DEFAULT_FILE;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  if (!(Number.isFinite(maxAgeMs) && maxAgeMs > 0)) throw new TypeError(`probekit/checks/heartbeat: maxAgeMs must be > 0, got ${maxAgeMs}`);
  return builtinCheck(options, { name: "heartbeat", componentType: "system" }, async () => {
    let modified: number;
    try {
      modified = (await stat(file)).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new ServiceUnavailable("missing", { cause: error });
      throw new ServiceUnavailable(`cannot read: ${(error as NodeJS.ErrnoException).code ?? "error"}`, { cause: error });
    }
    const ageMs = Math.max(0, Date.now() - modified);
    if (ageMs > maxAgeMs) throw new ServiceUnavailable(`stale (age=${seconds(ageMs)}s > max_age=${seconds(maxAgeMs)}s)`);
    return { observedValue: Math.round(ageMs), observedUnit: "ms", output: `fresh (age=${seconds(ageMs)}s)` };
  });
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

// ---------------------------------------------------------------------------
// Redis heartbeats (the Django-Q pair): workers publish, the web tier checks.
//
// Layout, per cluster, in one hash slot (the {cluster} tag keeps Redis Cluster happy):
//   probekit:heartbeat:{<cluster>}:members       sorted set of hosts, scored by last beat (ms)
//   probekit:heartbeat:{<cluster>}:host:<host>   the host's status, expiring after ttlMs
// Freshness is the key's TTL, kept by Redis itself, so workers' and checkers' clocks
// never need to agree; the sorted set lists members without KEYS or SCAN.

const membersKey = (cluster: string) => `probekit:heartbeat:{${cluster}}:members`;
const hostKey = (cluster: string, host: string) => `probekit:heartbeat:{${cluster}}:host:${host}`;
/** The most members a check reads: a bound, not a limit anyone should reach. */
const MAX_MEMBERS = 1000;

export interface PublishHeartbeatOptions extends RedisSource {
  /** The cluster (queue, deployment) the worker belongs to. */
  cluster: string;
  /** @default os.hostname() (the pod name in Kubernetes) */
  host?: string;
  /** @default 1000 */
  intervalMs?: number;
  /**
   * How long a beat stays fresh; keep it a few intervals long.
   * @default 3000
   */
  ttlMs?: number;
  /**
   * What the worker reports; a function is asked on every beat.
   * @default "running"
   */
  status?: string | (() => string);
  /** Called when a beat fails (Redis away); the heartbeat keeps trying. */
  onError?: (error: unknown) => void;
}

/**
 * For a worker: publishes "this host is alive" to Redis now and every
 * `intervalMs`, on a timer that never keeps the process alive. Returns stop(),
 * which also closes a client it built from a URL.
 *
 * @example
 * const stop = publishHeartbeat({ url: process.env.REDIS_URL, cluster: "emails", status: () => worker.isRunning() ? "running" : "stopping" });
 */
export function publishHeartbeat(options: PublishHeartbeatOptions): () => Promise<void> {
  const who = "probekit/checks/heartbeat";
  const connector = redisConnector(options, who, ownedTcp);
  if (!options.cluster) throw new TypeError(`${who}: cluster is required`);
  const host = options.host ?? hostname();
  const intervalMs = options.intervalMs ?? 1000;
  const ttlMs = options.ttlMs ?? 3000;
  if (!(intervalMs > 0 && ttlMs > 0)) throw new TypeError(`${who}: intervalMs and ttlMs must be > 0`);
  let beating = false;
  const beat = async () => {
    if (beating) return;
    beating = true;
    try {
      const ops = await connector.ops({ timeoutMs: Math.min(ttlMs, 5000) });
      const status = typeof options.status === "function" ? options.status() : (options.status ?? "running");
      const now = Date.now();
      await ops.setPx(hostKey(options.cluster, host), String(status), ttlMs);
      await ops.zadd(membersKey(options.cluster), now, host);
      // Forget hosts gone for long, and the whole set once every worker is gone.
      await ops.zremrangebyscoreBelow(membersKey(options.cluster), now - 10 * ttlMs);
      await ops.pexpire(membersKey(options.cluster), 10 * ttlMs);
    } catch (error) {
      options.onError?.(error);
    } finally {
      beating = false;
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await connector.close();
  };
}

export interface ClusterHeartbeatOptions extends CommonCheckOptions, RedisSource {
  cluster: string;
  /**
   * Statuses that do not count as a healthy worker (compared case-insensitively).
   * @default ["stopping", "stopped"]
   */
  unhealthyStatuses?: readonly string[];
}

/**
 * For the web tier: passes while at least one worker of the cluster has a fresh
 * heartbeat with a healthy status.
 *
 * @example
 * clusterHeartbeat({ url: process.env.REDIS_URL, cluster: "emails" });
 */
export function clusterHeartbeat(options: ClusterHeartbeatOptions): Check {
  const { connector, unhealthy } = readerSetup(options);
  return builtinCheck(
    options,
    { name: `workers:${options.cluster}`, componentType: "component" },
    async (context) => {
      const ops = await connector.ops(context);
      const statuses = await redisCall(ops, context, async (redis) => {
        const hosts = await redis.zrange(membersKey(options.cluster), MAX_MEMBERS - 1);
        return redis.mget(hosts.map((host) => hostKey(options.cluster, host)));
      });
      const fresh = statuses.filter((status): status is string => status !== null);
      const healthy = fresh.filter((status) => !unhealthy.has(status.toLowerCase()));
      if (fresh.length === 0) throw new ServiceUnavailable(`no fresh heartbeat from cluster ${options.cluster}`);
      if (healthy.length === 0) throw new ServiceUnavailable(`all ${fresh.length} workers of ${options.cluster} report ${[...new Set(fresh)].join(", ")}`);
      return { observedValue: healthy.length, observedUnit: "workers", output: `${healthy.length} worker${healthy.length === 1 ? "" : "s"} alive` };
    },
    connector.close,
  );
}

/** What both heartbeat checks need: a connection, a cluster, and the statuses that do not count as alive. */
function readerSetup(options: RedisSource & { cluster: string; unhealthyStatuses?: readonly string[] }) {
  const connector = redisConnector(options, "probekit/checks/heartbeat", ownedTcp);
  if (!options.cluster) throw new TypeError("probekit/checks/heartbeat: cluster is required");
  const unhealthy = new Set((options.unhealthyStatuses ?? ["stopping", "stopped"]).map((status) => status.toLowerCase()));
  return { connector, unhealthy };
}

export interface LocalHeartbeatOptions extends CommonCheckOptions, RedisSource {
  cluster: string;
  /** @default os.hostname() */
  host?: string;
  /** @default ["stopping", "stopped"] */
  unhealthyStatuses?: readonly string[];
}

/**
 * For the worker's own liveness probe: passes while this host's heartbeat is
 * fresh (and not an unhealthy status).
 *
 * @example
 * // liveness subset of the worker, probed with `probekit -s liveness --skip-checks`
 * localHeartbeat({ url: process.env.REDIS_URL, cluster: "emails" });
 */
export function localHeartbeat(options: LocalHeartbeatOptions): Check {
  const { connector, unhealthy } = readerSetup(options);
  return builtinCheck(
    options,
    // Not "heartbeat": a worker may list fileHeartbeat beside it.
    { name: `heartbeat:${options.cluster}`, componentType: "component" },
    async (context) => {
      const host = options.host ?? hostname();
      const ops = await connector.ops(context);
      const status = await redisCall(ops, context, (redis) => redis.get(hostKey(options.cluster, host)));
      if (status === null) throw new ServiceUnavailable(`no fresh heartbeat from ${host}`);
      if (unhealthy.has(status.toLowerCase())) throw new ServiceUnavailable(`${host} reports ${status}`);
      return { output: status };
    },
    connector.close,
  );
}
