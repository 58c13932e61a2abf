/**
 * probekit/checks/upstash: `redisPing` and `cacheRoundtrip` for Upstash Redis over
 * its REST API (@upstash/redis, imported on the first run), edge-safe: for Vercel
 * Edge routes, middleware and Workers. The same checks as probekit/checks/redis,
 * without the TCP drivers.
 *
 * @example
 * import { redisPing } from "probekit/checks/upstash";
 * redisPing({ upstash: { url: process.env.UPSTASH_REDIS_REST_URL!, token: process.env.UPSTASH_REDIS_REST_TOKEN! } });
 */
import type { Check } from "../core/check.js";
import { cacheRoundtripCheck, redisPingCheck, type CacheRoundtripOptions, type RedisDrivers, type RedisPingOptions } from "../internal/redis.js";
import { clusterHeartbeatWith, type ClusterHeartbeatOptions } from "../internal/redis-heartbeat.js";
import { ownedUpstash } from "../internal/upstash-client.js";

export type { ClusterHeartbeatOptions } from "../internal/redis-heartbeat.js";

const WHO = "probekit/checks/upstash";
const DRIVERS: RedisDrivers = { upstash: ownedUpstash, otherEntry: { tcp: "probekit/checks/ioredis or …/node-redis" } };

export type { CacheRoundtripOptions, RedisPingOptions, UpstashLike } from "../internal/redis.js";

/**
 * PING over Upstash REST (or the app's @upstash/redis client); passes on PONG.
 *
 * @example
 * redisPing({ redis: Redis.fromEnv() });
 */
export function redisPing(options: RedisPingOptions): Check {
  return redisPingCheck(options, DRIVERS, WHO);
}

/**
 * A unique key set, read back, compared and deleted over Upstash REST. Named `cache:<name>`.
 *
 * @example
 * cacheRoundtrip({ name: "sessions", upstash: { url: process.env.KV_REST_API_URL!, token: process.env.KV_REST_API_TOKEN! } });
 */
export function cacheRoundtrip(options: CacheRoundtripOptions): Check {
  return cacheRoundtripCheck(options, DRIVERS, WHO);
}

/**
 * For the web tier: passes while some worker of the cluster has a fresh heartbeat,
 * read over Upstash REST (workers publish with probekit/checks/heartbeat's
 * publishHeartbeat, given the same Upstash credentials).
 *
 * @example
 * clusterHeartbeat({ cluster: "emails", upstash: { url: process.env.UPSTASH_REDIS_REST_URL!, token: process.env.UPSTASH_REDIS_REST_TOKEN! } });
 */
export function clusterHeartbeat(options: ClusterHeartbeatOptions): Check {
  return clusterHeartbeatWith(DRIVERS, WHO, options);
}
