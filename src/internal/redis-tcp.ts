/**
 * The Redis clients a check owns for a `redis://` URL (internal: not a subpath
 * export), shared by probekit/checks/redis and probekit/checks/heartbeat: ioredis
 * when installed (or asked for), else node-redis, with timeouts below the check's.
 */
import { ServiceUnavailable } from "../core/errors.js";
import { driverTimeoutMs } from "../core/util.js";
import { peerMessage } from "./peer.js";
import { commandOps, lastErrors, type OwnedClient, type RedisSource } from "./redis.js";

const WHO = "probekit/checks/redis";

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
    // The one place a peer has an alternative: without ioredis, node-redis will do.
    if (required) throw new ServiceUnavailable(peerMessage(WHO, "ioredis"), { cause: error });
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
    throw new ServiceUnavailable(peerMessage(WHO, "ioredis", "redis"), { cause: error });
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
