/**
 * The Redis checks and heartbeats of one public entry, made for the drivers it brings
 * (internal): probekit/checks/ioredis, …/node-redis, …/redis and …/heartbeat each
 * export these, differing only in the drivers behind them.
 */
import type { Check } from "../core/check.js";
import { cacheRoundtripCheck, redisPingCheck, type CacheRoundtripOptions, type RedisDrivers, type RedisPingOptions } from "./redis.js";
import { clusterHeartbeatWith, localHeartbeatWith, publishHeartbeatWith, type ClusterHeartbeatOptions, type LocalHeartbeatOptions, type PublishHeartbeatOptions } from "./redis-heartbeat.js";

export interface RedisEntry {
  /**
   * PING with the app's client (`redis`) or a client the check owns for `url`; passes on PONG.
   *
   * @example
   * redisPing({ url: process.env.REDIS_URL });
   */
  redisPing(options: RedisPingOptions): Check;
  /**
   * Sets a key unique to this run (with a TTL), reads it back, compares, deletes:
   * no shared key, so concurrent pods and runs never race. Named `cache:<name>`.
   *
   * @example
   * cacheRoundtrip({ name: "sessions", url: process.env.SESSION_REDIS_URL });
   */
  cacheRoundtrip(options: CacheRoundtripOptions): Check;
  /**
   * For a worker: publishes "this host is alive" to Redis now and every
   * `intervalMs`, on a timer that never keeps the process alive. Returns stop(),
   * which also closes a client it built from a URL.
   *
   * @example
   * const stop = publishHeartbeat({ url: process.env.REDIS_URL, cluster: "emails", status: () => worker.isRunning() ? "running" : "stopping" });
   */
  publishHeartbeat(options: PublishHeartbeatOptions): () => Promise<void>;
  /**
   * For the web tier: passes while at least one worker of the cluster has a fresh
   * heartbeat with a healthy status.
   *
   * @example
   * clusterHeartbeat({ url: process.env.REDIS_URL, cluster: "emails" });
   */
  clusterHeartbeat(options: ClusterHeartbeatOptions): Check;
  /**
   * For the worker's own liveness probe: passes while this host's heartbeat is
   * fresh (and not an unhealthy status).
   *
   * @example
   * // liveness subset of the worker, probed with `probekit -s liveness --skip-checks`
   * localHeartbeat({ url: process.env.REDIS_URL, cluster: "emails" });
   */
  localHeartbeat(options: LocalHeartbeatOptions): Check;
}

export function redisEntry(drivers: RedisDrivers, who: string): RedisEntry {
  return {
    redisPing: (options) => redisPingCheck(options, drivers, who),
    cacheRoundtrip: (options) => cacheRoundtripCheck(options, drivers, who),
    publishHeartbeat: (options) => publishHeartbeatWith(drivers, who, options),
    clusterHeartbeat: (options) => clusterHeartbeatWith(drivers, who, options),
    localHeartbeat: (options) => localHeartbeatWith(drivers, who, options),
  };
}
