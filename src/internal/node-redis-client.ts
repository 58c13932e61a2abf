/**
 * The node-redis (`redis`) client a check owns for a `redis://` URL (internal),
 * imported only by the entries that bring it: probekit/checks/node-redis, and
 * …/redis and …/heartbeat, which take whichever Redis client is installed.
 */
import { ServiceUnavailable } from "../core/errors.js";
import { driverTimeoutMs } from "../core/util.js";
import { loadPeer, peerMessage } from "./peer.js";
import { commandOps, remembered, type OwnedClient, type OwnedTcpClient, type RedisSource } from "./redis.js";

/** The TCP factory of probekit/checks/node-redis: node-redis only. */
export async function ownedNodeRedis(url: string, _driver: RedisSource["driver"], timeoutMs: number, who: string): Promise<OwnedClient> {
  return remembered(await nodeRedisClient(url, driverTimeoutMs(timeoutMs), who));
}

/** The node-redis client a check owns for a URL. */
export async function nodeRedisClient(url: string, connectTimeout: number, who: string, alternative?: string): Promise<OwnedTcpClient> {
  let createClient: typeof import("redis").createClient;
  try {
    createClient = await loadPeer(who, "redis", () => import("redis"), "createClient");
  } catch (error) {
    throw alternative === undefined ? error : new ServiceUnavailable(peerMessage(who, alternative, "redis"), { cause: error });
  }
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
