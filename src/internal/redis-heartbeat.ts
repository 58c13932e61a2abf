/**
 * The Redis heartbeats (the Django-Q pair: workers publish, the web tier checks),
 * built for whichever drivers an entry brings (internal: each public entry —
 * probekit/checks/heartbeat, …/ioredis, …/node-redis, …/upstash — passes its own).
 */
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable } from "../core/errors.js";
import { redisCall, redisConnector, type RedisDrivers, type RedisSource } from "./redis.js";

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
export function publishHeartbeatWith(drivers: RedisDrivers, who: string, options: PublishHeartbeatOptions): () => Promise<void> {
  const connector = redisConnector(options, who, drivers);
  if (!options.cluster) throw new TypeError(`${who}: cluster is required`);
  const host = options.host ?? hostOf(drivers, who);
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
export function clusterHeartbeatWith(drivers: RedisDrivers, who: string, options: ClusterHeartbeatOptions): Check {
  const { connector, unhealthy } = readerSetup(drivers, who, options);
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

/** This host's name: the Node entries pass os.hostname (the pod name in Kubernetes). */
function hostOf(drivers: RedisDrivers, who: string): string {
  if (drivers.hostname === undefined) throw new TypeError(`${who}: host is required here (no os.hostname() on this runtime)`);
  return drivers.hostname();
}

/** What both heartbeat checks need: a connection, a cluster, and the statuses that do not count as alive. */
function readerSetup(drivers: RedisDrivers, who: string, options: RedisSource & { cluster: string; unhealthyStatuses?: readonly string[] }) {
  const connector = redisConnector(options, who, drivers);
  if (!options.cluster) throw new TypeError(`${who}: cluster is required`);
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
export function localHeartbeatWith(drivers: RedisDrivers, who: string, options: LocalHeartbeatOptions): Check {
  const { connector, unhealthy } = readerSetup(drivers, who, options);
  return builtinCheck(
    options,
    // Not "heartbeat": a worker may list fileHeartbeat beside it.
    { name: `heartbeat:${options.cluster}`, componentType: "component" },
    async (context) => {
      const host = options.host ?? hostOf(drivers, who);
      const ops = await connector.ops(context);
      const status = await redisCall(ops, context, (redis) => redis.get(hostKey(options.cluster, host)));
      if (status === null) throw new ServiceUnavailable(`no fresh heartbeat from ${host}`);
      if (unhealthy.has(status.toLowerCase())) throw new ServiceUnavailable(`${host} reports ${status}`);
      return { output: status };
    },
    connector.close,
  );
}
