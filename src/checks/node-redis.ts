/**
 * probekit/checks/node-redis: the Redis checks and heartbeats over node-redis (the `redis` package) only (Node):
 * `redisPing`, `cacheRoundtrip`, `publishHeartbeat`, `clusterHeartbeat`,
 * `localHeartbeat`. It imports no other driver, so an app that has only `redis`
 * builds with Turbopack or webpack and no `serverExternalPackages`.
 *
 * @example
 * import { redisPing, cacheRoundtrip } from "probekit/checks/node-redis";
 * redisPing({ url: process.env.REDIS_URL });
 * cacheRoundtrip({ name: "sessions", url: process.env.SESSION_REDIS_URL });
 */
import { hostname } from "node:os";
import type { Check } from "../core/check.js";
import { ownedNodeRedis } from "../internal/node-redis-client.js";
import { cacheRoundtripCheck, redisPingCheck, type CacheRoundtripOptions, type RedisDrivers, type RedisPingOptions } from "../internal/redis.js";
import { clusterHeartbeatWith, localHeartbeatWith, publishHeartbeatWith, type ClusterHeartbeatOptions, type LocalHeartbeatOptions, type PublishHeartbeatOptions } from "../internal/redis-heartbeat.js";

export type { CacheRoundtripOptions, IoRedisLike, NodeRedisLike, RedisPingOptions, RedisSource } from "../internal/redis.js";
export type { ClusterHeartbeatOptions, LocalHeartbeatOptions, PublishHeartbeatOptions } from "../internal/redis-heartbeat.js";

const WHO = "probekit/checks/node-redis";
const DRIVERS: RedisDrivers = { tcp: ownedNodeRedis, otherEntry: { upstash: "probekit/checks/upstash" }, hostname };

/**
 * PING with the app's client (`redis`) or a client this check owns for `url`; passes on PONG.
 *
 * @example
 * redisPing({ url: process.env.REDIS_URL });
 */
export function redisPing(options: RedisPingOptions): Check {
  return redisPingCheck(options, DRIVERS, WHO);
}

/**
 * Sets a key unique to this run (with a TTL), reads it back, compares, deletes. Named `cache:<name>`.
 *
 * @example
 * cacheRoundtrip({ url: process.env.REDIS_URL });
 */
export function cacheRoundtrip(options: CacheRoundtripOptions): Check {
  return cacheRoundtripCheck(options, DRIVERS, WHO);
}

/**
 * For a worker: publishes "this host is alive" now and every `intervalMs`; returns stop().
 *
 * @example
 * const stop = publishHeartbeat({ url: process.env.REDIS_URL, cluster: "emails" });
 */
export function publishHeartbeat(options: PublishHeartbeatOptions): () => Promise<void> {
  return publishHeartbeatWith(DRIVERS, WHO, options);
}

/**
 * For the web tier: passes while some worker of the cluster has a fresh, healthy heartbeat.
 *
 * @example
 * clusterHeartbeat({ url: process.env.REDIS_URL, cluster: "emails" });
 */
export function clusterHeartbeat(options: ClusterHeartbeatOptions): Check {
  return clusterHeartbeatWith(DRIVERS, WHO, options);
}

/**
 * For the worker's own liveness probe: passes while this host's heartbeat is fresh.
 *
 * @example
 * localHeartbeat({ url: process.env.REDIS_URL, cluster: "emails" });
 */
export function localHeartbeat(options: LocalHeartbeatOptions): Check {
  return localHeartbeatWith(DRIVERS, WHO, options);
}
