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
import { ServiceUnavailable } from "../core/errors.js";
import { cacheRoundtripCheck, commandOps, lastErrors, redisPingCheck, type CacheRoundtripOptions, type OwnedClient, type RedisPingOptions, type RedisSource } from "../internal/redis.js";
import { driverTimeoutMs } from "../core/util.js";

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

/** Builds the client a check owns from a URL: ioredis when installed (or asked for), else node-redis. */
export async function ownedTcp(url: string, driver: RedisSource["driver"], timeoutMs: number): Promise<OwnedClient> {
  const connectTimeout = driverTimeoutMs(timeoutMs);
  const owned = driver === "redis" ? await nodeRedisClient(url, connectTimeout) : await ioredisClient(url, connectTimeout, driver === "ioredis");
  lastErrors.set(owned.ops, owned.lastError);
  return owned;
}

interface OwnedTcpClient extends OwnedClient {
  /** The last connection error the client emitted: commands often fail with a vaguer one. */
  lastError(): unknown;
}



async function ioredisClient(url: string, connectTimeout: number, required: boolean): Promise<OwnedTcpClient> {
  let Redis: typeof import("ioredis").Redis;
  try {
    ({ Redis } = await import("ioredis"));
  } catch (error) {
    if (required) throw new ServiceUnavailable("cannot load ioredis", { cause: error });
    return nodeRedisClient(url, connectTimeout);
  }
  let last: unknown;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout,
    // Fail a command instead of queueing it while the server is away; reconnect in the background.
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    connectionName: "probekit",
  });
  client.on("error", (error: unknown) => void (last = error));
  client.on("ready", () => void (last = undefined));
  return { ops: commandOps((args) => client.call(args[0]!, ...args.slice(1))), lastError: () => last, close: async () => client.disconnect() };
}

async function nodeRedisClient(url: string, connectTimeout: number): Promise<OwnedTcpClient> {
  const { createClient } = await import("redis").catch((error: unknown) => {
    throw new ServiceUnavailable("cannot load a Redis client (install ioredis or redis)", { cause: error });
  });
  let last: unknown;
  const client = createClient({
    url,
    name: "probekit",
    disableOfflineQueue: true,
    socket: { connectTimeout, reconnectStrategy: (retries: number) => Math.min(retries * 200, 2000) },
  });
  const errors = new EventTarget();
  client.on("error", (error: unknown) => {
    last = error;
    errors.dispatchEvent(new Event("error"));
  });
  client.on("ready", () => void (last = undefined));
  const connecting = client.connect().catch((error: unknown) => void (last = error));
  // Until the client is ready, a command waits for the connection to succeed or fail; while
  // it is reconnecting after a failure, it fails at once with that failure.
  const whenReady = async () => {
    if (client.isReady) return;
    if (last !== undefined) throw last;
    await new Promise<void>((resolve, reject) => {
      const onError = () => reject(last);
      errors.addEventListener("error", onError, { once: true });
      void connecting.then(() => {
        errors.removeEventListener("error", onError);
        resolve();
      });
    });
  };
  return {
    ops: commandOps(async (args) => {
      await whenReady();
      return client.sendCommand(args);
    }),
    lastError: () => last,
    close: async () => {
      // destroy() since redis v5; disconnect() before.
      const closable = client as unknown as { destroy?(): void; disconnect?(): Promise<void> };
      if (typeof closable.destroy === "function") closable.destroy();
      else await closable.disconnect?.().catch(() => {});
    },
  };
}

