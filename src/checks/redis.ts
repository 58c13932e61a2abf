/**
 * probekit/checks/redis: Redis reachability (`redisPing`) and a working cache
 * (`cacheRoundtrip`), over TCP with the app's ioredis or node-redis client (or a
 * URL, for which the check builds a client), or over Upstash REST. Node (TCP);
 * on the edge import the same checks from probekit/checks/upstash.
 *
 * @example
 * import { redisPing, cacheRoundtrip } from "probekit/checks/redis";
 * redisPing({ url: process.env.REDIS_URL });
 * cacheRoundtrip({ name: "sessions", redis: ioredisClient });
 */
import type { Check } from "../core/check.js";
import { cacheRoundtripCheck, redisPingCheck, type CacheRoundtripOptions, type RedisPingOptions } from "../internal/redis.js";
import { ownedTcp } from "../internal/redis-tcp.js";

export type { CacheRoundtripOptions, IoRedisLike, NodeRedisLike, RedisPingOptions, RedisSource, UpstashLike } from "../internal/redis.js";

/**
 * PING over TCP or Upstash REST; passes on PONG.
 *
 * @example
 * redisPing({ redis: ioredisClient });
 * redisPing({ upstash: { url: process.env.UPSTASH_REDIS_REST_URL!, token: process.env.UPSTASH_REDIS_REST_TOKEN! } });
 */
export function redisPing(options: RedisPingOptions): Check {
  return redisPingCheck(options, ownedTcp);
}

/**
 * Sets a key unique to this run (with a TTL), reads it back, compares, deletes:
 * no shared key, so concurrent pods and runs never race. Named `cache:<name>`.
 *
 * @example
 * cacheRoundtrip({ name: "sessions", url: process.env.SESSION_REDIS_URL });
 */
export function cacheRoundtrip(options: CacheRoundtripOptions): Check {
  return cacheRoundtripCheck(options, ownedTcp);
}
