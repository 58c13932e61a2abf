/**
 * The TCP factory of the entries that take whichever Redis client is installed
 * (probekit/checks/redis and …/heartbeat, internal): ioredis when installed (or
 * asked for), else node-redis. A bundler sees both imports; the per-driver entries
 * (…/ioredis, …/node-redis) import one.
 */
import { driverTimeoutMs } from "../core/util.js";
import { ioredisClient } from "./ioredis-client.js";
import { nodeRedisClient } from "./node-redis-client.js";
import { remembered, type OwnedClient, type RedisSource } from "./redis.js";

/** Builds the client a check owns from a URL: ioredis when installed (or asked for), else node-redis. */
export async function ownedTcp(url: string, driver: RedisSource["driver"], timeoutMs: number, who: string): Promise<OwnedClient> {
  const connectTimeout = driverTimeoutMs(timeoutMs);
  if (driver === "redis") return remembered(await nodeRedisClient(url, connectTimeout, who));
  try {
    return remembered(await ioredisClient(url, connectTimeout, who));
  } catch (error) {
    // The one place a peer has an alternative: without ioredis, node-redis will do.
    if (driver === "ioredis" || !isMissingPeer(error)) throw error;
    return remembered(await nodeRedisClient(url, connectTimeout, who, "ioredis"));
  }
}

function isMissingPeer(error: unknown): boolean {
  return error instanceof Error && / cannot load "ioredis" /.test(error.message);
}
