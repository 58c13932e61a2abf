/**
 * The @upstash/redis client a check owns for REST credentials (internal), imported
 * only by the entries that bring @upstash/redis. Edge-safe.
 */
import { driverTimeoutMs } from "../core/util.js";
import { loadPeer } from "./peer.js";
import { upstashOps, type OwnedClient, type UpstashLike } from "./redis.js";

export async function ownedUpstash(credentials: { url: string; token: string }, timeoutMs: number, who: string): Promise<OwnedClient> {
  const Redis = await loadPeer(who, "@upstash/redis", () => import("@upstash/redis"), "Redis");
  const client = new Redis({
    url: credentials.url,
    token: credentials.token,
    // The default five retries take ~4.4 s to fail; a probe wants the first answer.
    retry: { retries: 0 },
    // A plain signal does not surface as a timeout in this client (it returns a fake result); a signal factory does.
    // Below the check's timeout, so the failure says what timed out.
    signal: () => AbortSignal.timeout(driverTimeoutMs(timeoutMs)),
    automaticDeserialization: false,
    enableTelemetry: false,
  });
  // Stateless HTTP: nothing to close.
  return { ops: upstashOps(client as unknown as UpstashLike), close: async () => {} };
}
