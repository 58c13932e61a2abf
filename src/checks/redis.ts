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
import { redisEntry } from "../internal/redis-entry.js";
import { ownedTcp } from "../internal/redis-tcp.js";
import { ownedUpstash } from "../internal/upstash-client.js";

export type { CacheRoundtripOptions, IoRedisLike, NodeRedisLike, RedisPingOptions, RedisSource, UpstashLike } from "../internal/redis.js";

/** PING and a cache round trip over ioredis (else redis) for a URL, Upstash REST, or the app's client. */
export const { redisPing, cacheRoundtrip } = redisEntry({ tcp: ownedTcp, upstash: ownedUpstash }, "probekit/checks/redis");
