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
import { cacheRoundtripCheck, redisPingCheck, type CacheRoundtripOptions, type RedisPingOptions } from "../internal/redis.js";

export type { CacheRoundtripOptions, RedisPingOptions, UpstashLike } from "../internal/redis.js";

/**
 * PING over Upstash REST (or the app's @upstash/redis client); passes on PONG.
 *
 * @example
 * redisPing({ redis: Redis.fromEnv() });
 */
export function redisPing(options: RedisPingOptions): Check {
  return redisPingCheck(options);
}

/**
 * A unique key set, read back, compared and deleted over Upstash REST. Named `cache:<name>`.
 *
 * @example
 * cacheRoundtrip({ name: "sessions", upstash: { url: process.env.KV_REST_API_URL!, token: process.env.KV_REST_API_TOKEN! } });
 */
export function cacheRoundtrip(options: CacheRoundtripOptions): Check {
  return cacheRoundtripCheck(options);
}
