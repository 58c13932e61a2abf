/**
 * probekit/checks/ioredis: the Redis checks and heartbeats over ioredis only (Node):
 * `redisPing`, `cacheRoundtrip`, `publishHeartbeat`, `clusterHeartbeat`,
 * `localHeartbeat`. It imports no other driver, so an app that has only `ioredis`
 * builds with Turbopack or webpack and no `serverExternalPackages`.
 *
 * @example
 * import { redisPing, cacheRoundtrip } from "probekit/checks/ioredis";
 * redisPing({ url: process.env.REDIS_URL });
 * cacheRoundtrip({ name: "sessions", url: process.env.SESSION_REDIS_URL });
 */
import { hostname } from "node:os";
import { ownedIoredis } from "../internal/ioredis-client.js";
import { redisEntry } from "../internal/redis-entry.js";

export type { CacheRoundtripOptions, IoRedisLike, NodeRedisLike, RedisPingOptions, RedisSource } from "../internal/redis.js";
export type { ClusterHeartbeatOptions, LocalHeartbeatOptions, PublishHeartbeatOptions } from "../internal/redis-heartbeat.js";

export const { redisPing, cacheRoundtrip, publishHeartbeat, clusterHeartbeat, localHeartbeat } = redisEntry(
  { tcp: ownedIoredis, otherEntry: { upstash: "probekit/checks/upstash" }, hostname },
  "probekit/checks/ioredis",
);
