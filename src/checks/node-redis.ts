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
import { ownedNodeRedis } from "../internal/node-redis-client.js";
import { redisEntry } from "../internal/redis-entry.js";

export type { CacheRoundtripOptions, IoRedisLike, NodeRedisLike, RedisPingOptions, RedisSource } from "../internal/redis.js";
export type { ClusterHeartbeatOptions, LocalHeartbeatOptions, PublishHeartbeatOptions } from "../internal/redis-heartbeat.js";

export const { redisPing, cacheRoundtrip, publishHeartbeat, clusterHeartbeat, localHeartbeat } = redisEntry(
  { tcp: ownedNodeRedis, otherEntry: { upstash: "probekit/checks/upstash" }, hostname },
  "probekit/checks/node-redis",
);
