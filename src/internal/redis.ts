/**
 * What the Redis checks share, whatever carries the commands: the structural
 * client types, one command interface over ioredis, node-redis and
 * @upstash/redis, safe error names, and the check builders. No TCP driver is
 * referenced here, so the Upstash entry (checks/upstash) stays edge-safe; the
 * Node entry (checks/redis) adds the clients it builds from a URL.
 */
import { builtinCheck, type Check, type CheckContext, type CommonCheckOptions } from "../core/check.js";
import { isHealthCheckError, ServiceReturnedUnexpectedResult, ServiceUnavailable, type HealthCheckError } from "../core/errors.js";
import { ownedClient } from "./owned-client.js";
import { errorCode, guarded, safeError } from "./safe-errors.js";

/** An ioredis client (or Cluster): raw commands through `call`. */
export interface IoRedisLike {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/** A node-redis (`redis` v4+) client: raw commands through `sendCommand`. */
export interface NodeRedisLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/** An @upstash/redis client: the typed methods used here. */
export interface UpstashLike {
  ping(): Promise<unknown>;
  get(key: string): Promise<unknown>;
  set(key: string, value: string, options: { px: number }): Promise<unknown>;
  del(...keys: string[]): Promise<unknown>;
  mget(...keys: string[]): Promise<unknown[]>;
  zadd(key: string, member: { score: number; member: string }): Promise<unknown>;
  zrange(key: string, start: number, stop: number): Promise<unknown[]>;
  zremrangebyscore(key: string, min: number | string, max: number | string): Promise<unknown>;
  pexpire(key: string, milliseconds: number): Promise<unknown>;
}

/** Where a Redis check connects: the app's client, a URL, or Upstash REST credentials. Exactly one. */
export interface RedisSource {
  /** The app's ioredis, node-redis or @upstash/redis client. */
  redis?: IoRedisLike | NodeRedisLike | UpstashLike;
  /** `redis://` / `rediss://` URL: the check owns a client (ioredis if installed, else redis). */
  url?: string;
  /** Upstash REST credentials: the check owns an @upstash/redis client (edge-safe). */
  upstash?: { url: string; token: string };
  /** For `url`: which package builds the client. @default "ioredis" when installed, else "redis" */
  driver?: "ioredis" | "redis";
}

/** The commands the Redis checks need, whatever the client. */
export interface RedisOps {
  ping(): Promise<unknown>;
  setPx(key: string, value: string, ttlMs: number): Promise<unknown>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<unknown>;
  mget(keys: string[]): Promise<(string | null)[]>;
  zadd(key: string, score: number, member: string): Promise<unknown>;
  zrange(key: string, stop: number): Promise<string[]>;
  zremrangebyscoreBelow(key: string, max: number): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
}

/** A source resolved: its commands (an owned client is built on first use) and how to close what it owns. */
export interface RedisConnector {
  ops(context: Pick<CheckContext, "timeoutMs">): Promise<RedisOps>;
  close(): Promise<void>;
}

/**
 * Resolves a source to its commands, building an owned client on first use (with
 * timeouts below the check's). A programmer mistake in the options throws at once.
 */
/** Builds a TCP client from a URL: supplied by a Node entry; absent on the edge. */
export type TcpClientFactory = (url: string, driver: RedisSource["driver"], timeoutMs: number, who: string) => Promise<OwnedClient>;

/** Builds an Upstash REST client from its credentials: supplied by the entries that bring @upstash/redis. */
export type UpstashClientFactory = (credentials: { url: string; token: string }, timeoutMs: number, who: string) => Promise<OwnedClient>;

/**
 * The drivers an entry brings. Each public entry imports only its own, so a bundler
 * never meets an `import()` of a package the app did not install.
 */
export interface RedisDrivers {
  tcp?: TcpClientFactory;
  upstash?: UpstashClientFactory;
  /** Where the other kind of source is served from, for the message when it is asked for here. */
  otherEntry?: { tcp?: string; upstash?: string };
  /** This host's name, for the heartbeats (os.hostname on Node). */
  hostname?: () => string;
}

export function redisConnector(source: RedisSource, who: string, drivers: RedisDrivers): RedisConnector {
  // `url: process.env.REDIS_URL` unset at build time is not a mistake here: it fails at run time.
  const given = [source.redis, source.url, source.upstash].filter((value) => value !== undefined);
  if (given.length > 1) throw new TypeError(`${who}: pass only one of redis (a client), url or upstash`);
  if (source.redis !== undefined) {
    const ops = opsForClient(source.redis, who);
    return { ops: () => Promise.resolve(ops), close: () => Promise.resolve() };
  }
  const owned = ownedClient({
    create: (timeoutMs: number) => (source.upstash !== undefined ? upstashClient(drivers, source.upstash, timeoutMs, who) : tcpClient(drivers, source, timeoutMs, who)),
    close: (client) => client.close(),
  });
  return {
    ops: async ({ timeoutMs }) => (await owned.get(timeoutMs)).ops,
    close: () => owned.close(),
  };
}

function opsForClient(client: IoRedisLike | NodeRedisLike | UpstashLike, who: string): RedisOps {
  if (typeof (client as IoRedisLike).call === "function") {
    const io = client as IoRedisLike;
    return commandOps((args) => io.call(args[0]!, ...args.slice(1)));
  }
  if (typeof (client as NodeRedisLike).sendCommand === "function") {
    const nodeRedis = client as NodeRedisLike;
    return commandOps((args) => nodeRedis.sendCommand(args));
  }
  if (typeof (client as UpstashLike).zrange === "function" && typeof (client as UpstashLike).ping === "function") return upstashOps(client as UpstashLike);
  throw new TypeError(`${who}: redis must be an ioredis, node-redis or @upstash/redis client`);
}

/** TCP clients speak raw commands, so every client shares one implementation. */
export function commandOps(send: (args: string[]) => Promise<unknown>): RedisOps {
  const text = (value: unknown) => (value == null ? null : typeof value === "string" ? value : String(value));
  return {
    ping: () => send(["PING"]),
    setPx: (key, value, ttlMs) => send(["SET", key, value, "PX", String(ttlMs)]),
    get: async (key) => text(await send(["GET", key])),
    del: (key) => send(["DEL", key]),
    mget: async (keys) => (keys.length === 0 ? [] : ((await send(["MGET", ...keys])) as unknown[]).map(text)),
    zadd: (key, score, member) => send(["ZADD", key, String(score), member]),
    zrange: async (key, stop) => ((await send(["ZRANGE", key, "0", String(stop)])) as unknown[]).map(String),
    zremrangebyscoreBelow: (key, max) => send(["ZREMRANGEBYSCORE", key, "-inf", `(${max}`]),
    pexpire: (key, ms) => send(["PEXPIRE", key, String(ms)]),
  };
}

export function upstashOps(client: UpstashLike): RedisOps {
  // With automatic deserialization on (the default of a user's client), "123" comes back as 123.
  const text = (value: unknown) => (value == null ? null : typeof value === "string" ? value : JSON.stringify(value));
  return {
    ping: () => client.ping(),
    setPx: (key, value, ttlMs) => client.set(key, value, { px: ttlMs }),
    get: async (key) => text(await client.get(key)),
    del: (key) => client.del(key),
    mget: async (keys) => (keys.length === 0 ? [] : (await client.mget(...keys)).map(text)),
    zadd: (key, score, member) => client.zadd(key, { score, member }),
    zrange: async (key, stop) => (await client.zrange(key, 0, stop)).map(String),
    zremrangebyscoreBelow: (key, max) => client.zremrangebyscore(key, "-inf", `(${max}`),
    pexpire: (key, ms) => client.pexpire(key, ms),
  };
}

function tcpClient(drivers: RedisDrivers, source: RedisSource, timeoutMs: number, who: string): Promise<OwnedClient> {
  if (!source.url) return Promise.reject(new ServiceUnavailable("no Redis URL configured"));
  if (drivers.tcp === undefined) {
    return Promise.reject(new ServiceUnavailable(`a Redis URL needs TCP: use ${drivers.otherEntry?.tcp ?? "probekit/checks/ioredis or …/node-redis"} on Node, or Upstash on the edge`));
  }
  return drivers.tcp(source.url, source.driver, timeoutMs, who);
}

function upstashClient(drivers: RedisDrivers, credentials: { url: string; token: string }, timeoutMs: number, who: string): Promise<OwnedClient> {
  if (!credentials.url || !credentials.token) return Promise.reject(new ServiceUnavailable("no Upstash URL or token configured"));
  if (drivers.upstash === undefined) return Promise.reject(new ServiceUnavailable(`Upstash credentials need ${drivers.otherEntry?.upstash ?? "probekit/checks/upstash"}`));
  return drivers.upstash(credentials, timeoutMs, who);
}

/** The last connection error of an owned TCP client, by its commands: commands often fail with a vaguer one. */
export const lastErrors = new WeakMap<RedisOps, () => unknown>();

export interface OwnedClient {
  ops: RedisOps;
  close(): Promise<void>;
}

/** A client a check owns for a URL (ioredis or node-redis). */
export interface OwnedTcpClient extends OwnedClient {
  /** The last connection error the client emitted: commands often fail with a vaguer one. */
  lastError(): unknown;
}

/**
 * Keeps the client's last connection error beside its commands, for the messages. Here,
 * not in either client's file: an entry importing that file reaches its driver's `import()`.
 */
export function remembered(owned: OwnedTcpClient): OwnedClient {
  lastErrors.set(owned.ops, owned.lastError);
  return owned;
}

/** Reply error prefixes (https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors) with safe names. */
const REPLY_MESSAGES: readonly (readonly [RegExp, string])[] = [
  [/^(WRONGPASS|NOAUTH|invalid password|ERR (AUTH|invalid password|Client sent AUTH))|Unauthorized/i, "authentication failed"],
  [/^NOPERM/, "permission denied"],
  [/^LOADING/, "redis is loading its data"],
  [/^READONLY/, "redis is read-only (a replica)"],
  [/^OOM/, "redis is out of memory"],
  [/^MASTERDOWN/, "redis has lost its primary"],
  [/^ERR max number of clients/i, "too many connections"],
];

/** Runs a Redis operation, bounded by the check's signal, with safe failure messages. */
export function redisCall<T>(ops: RedisOps, context: Pick<CheckContext, "signal">, operation: (ops: RedisOps) => Promise<T>): Promise<T> {
  return guarded(context.signal, () => operation(ops), (error) => safeRedisError(error, lastErrors.get(ops)?.()));
}

/** A ServiceUnavailable naming what failed, never the server's address or the credentials. */
export function safeRedisError(error: unknown, connectionError?: unknown): HealthCheckError {
  if (isHealthCheckError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const reply = REPLY_MESSAGES.find(([pattern]) => pattern.test(message));
  if (reply === undefined && errorCode(error) === undefined && connectionError !== undefined) {
    // The command only says the connection is closed; the client's last error says why.
    return safeError(new Error(message, { cause: connectionError }), { fallback: "connection failed" });
  }
  return safeError(error, { patterns: [...REPLY_MESSAGES, [/timed? ?out|TimeoutError/i, "connection timed out"]], fallback: "command failed" });
}

export interface RedisPingOptions extends CommonCheckOptions, RedisSource {}

/**
 * PING over TCP or Upstash REST; passes on PONG.
 *
 * @example
 * redisPing({ redis: ioredisClient });
 * redisPing({ upstash: { url: process.env.UPSTASH_REDIS_REST_URL!, token: process.env.UPSTASH_REDIS_REST_TOKEN! } });
 */
export function redisPingCheck(options: RedisPingOptions, drivers: RedisDrivers, who: string): Check {
  const connector = redisConnector(options, who, drivers);
  return builtinCheck(
    options,
    { name: "redis", componentType: "datastore" },
    async (context) => {
      const ops = await connector.ops(context);
      const reply = await redisCall(ops, context, (redis) => redis.ping());
      if (String(reply).toUpperCase() !== "PONG") throw new ServiceReturnedUnexpectedResult("PING did not answer PONG");
    },
    connector.close,
  );
}

export interface CacheRoundtripOptions extends Omit<CommonCheckOptions, "name">, RedisSource {
  /**
   * The cache's name (the Python per-alias CacheBackend): the check is called `cache:<name>`, one per cache.
   * @default "default"
   */
  name?: string;
  /**
   * Lifetime of the probe key, in case the delete never happens.
   * @default 10000
   */
  ttlMs?: number;
}

/**
 * Sets a key unique to this run (with a TTL), reads it back, compares, deletes:
 * no shared key, so concurrent pods and runs never race.
 *
 * @example
 * cacheRoundtrip({ name: "sessions", url: process.env.SESSION_REDIS_URL });
 */
export function cacheRoundtripCheck(options: CacheRoundtripOptions, drivers: RedisDrivers, who: string): Check {
  const connector = redisConnector(options, who, drivers);
  const cacheName = options.name ?? "default";
  const ttlMs = options.ttlMs ?? 10_000;
  return builtinCheck(
    { ...options, name: `cache:${cacheName}` },
    { name: `cache:${cacheName}`, componentType: "datastore" },
    async (context) => {
      const ops = await connector.ops(context);
      const key = `probekit:cache:${cacheName}:${crypto.randomUUID()}`;
      const value = `probekit:${crypto.randomUUID()}`;
      await redisCall(ops, context, async (redis) => {
        try {
          await redis.setPx(key, value, ttlMs);
          const read = await redis.get(key);
          if (read !== value) throw new ServiceReturnedUnexpectedResult(read === null ? "the value just set is missing" : "the value read back differs");
        } finally {
          await redis.del(key).catch(() => {});
        }
      });
    },
    connector.close,
  );
}
