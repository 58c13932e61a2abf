/**
 * probekit/checks/redis: Redis reachability (`redisPing`) and a working cache
 * (`cacheRoundtrip`), over TCP with the app's ioredis or node-redis client (or a
 * URL, for which the check builds a client), or over Upstash REST. Node (TCP);
 * on the edge import the same checks from probekit/checks/upstash.
 *
 * This entry brings every Redis driver (ioredis, else redis, and @upstash/redis), so
 * a bundler must find all of them or the package must stay unbundled
 * (`serverExternalPackages`); probekit/checks/ioredis, …/node-redis and …/upstash
 * each bring only theirs, and need no Next.js config.
 *
 * @example
 * import { redisPing, cacheRoundtrip } from "probekit/checks/redis";
 * redisPing({ url: process.env.REDIS_URL });
 * cacheRoundtrip({ name: "sessions", redis: ioredisClient });
 */
import type { Check } from "../core/check.js";
import { cacheRoundtripCheck, redisPingCheck, type CacheRoundtripOptions, type RedisDrivers, type RedisPingOptions } from "../internal/redis.js";
import { ownedTcp } from "../internal/redis-tcp.js";
import { ownedUpstash } from "../internal/upstash-client.js";

const WHO = "probekit/checks/redis";
const DRIVERS: RedisDrivers = { tcp: ownedTcp, upstash: ownedUpstash };

export type { CacheRoundtripOptions, IoRedisLike, NodeRedisLike, RedisPingOptions, RedisSource, UpstashLike } from "../internal/redis.js";

/**
 * PING over TCP or Upstash REST; passes on PONG.
 *
 * @example
 * redisPing({ redis: ioredisClient });
 * redisPing({ upstash: { url: process.env.UPSTASH_REDIS_REST_URL!, token: process.env.UPSTASH_REDIS_REST_TOKEN! } });
 */
export function redisPing(options: RedisPingOptions): Check {
  return redisPingCheck(options, DRIVERS, WHO);
}

/**
 * Sets a key unique to this run (with a TTL), reads it back, compares, deletes:
 * no shared key, so concurrent pods and runs never race. Named `cache:<name>`.
 *
 * @example
 * cacheRoundtrip({ name: "sessions", url: process.env.SESSION_REDIS_URL });
 */
export function cacheRoundtrip(options: CacheRoundtripOptions): Check {
  return cacheRoundtripCheck(options, DRIVERS, WHO);
}
