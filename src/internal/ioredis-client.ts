/**
 * The ioredis client a check owns for a `redis://` URL (internal), imported only by
 * the entries that bring ioredis: probekit/checks/ioredis, and …/redis and
 * …/heartbeat, which take whichever Redis client is installed.
 */
import { driverTimeoutMs } from "../core/util.js";
import { loadPeer } from "./peer.js";
import { commandOps, remembered, type OwnedClient, type OwnedTcpClient, type RedisSource } from "./redis.js";

/** The TCP factory of probekit/checks/ioredis: ioredis only. */
export async function ownedIoredis(url: string, _driver: RedisSource["driver"], timeoutMs: number, who: string): Promise<OwnedClient> {
  return remembered(await ioredisClient(url, driverTimeoutMs(timeoutMs), who));
}

/** The ioredis client a check owns for a URL. */
export async function ioredisClient(url: string, connectTimeout: number, who: string): Promise<OwnedTcpClient> {
  const Redis = await loadPeer(who, "ioredis", () => import("ioredis"), "Redis");
  let last: unknown;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout,
    // Fail a command instead of queueing it while the server is away; reconnect in the background.
    maxRetriesPerRequest: 0,
    // No ready check: it holds commands while the server loads its data, so a client that
    // connects during a load (after a restart) would time out instead of saying so.
    enableReadyCheck: false,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    connectionName: "probekit",
  });
  client.on("error", (error: unknown) => void (last = error));
  client.on("ready", () => void (last = undefined));
  return { ops: commandOps((args) => client.call(args[0]!, ...args.slice(1))), lastError: () => last, close: async () => client.disconnect() };
}
