/**
 * probekit/checks/memcached: can the app write to its memcached and read back what it
 * wrote? With the app's memjs client, or a server list, for which it owns a memjs
 * client made on the first run. Needs Node's TCP sockets (memjs): not the edge runtime.
 *
 * @example
 * import { memcachedRoundtrip } from "probekit/checks/memcached";
 * memcachedRoundtrip({ servers: process.env.MEMCACHE_SERVERS });
 */
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceReturnedUnexpectedResult, ServiceUnavailable, type HealthCheckError } from "../core/errors.js";
import { ownedClient } from "../internal/owned-client.js";
import { loadPeer } from "../internal/peer.js";
import { guarded, safeError } from "../internal/safe-errors.js";

/** The part of a memjs `Client` the check uses (its promise API). */
export interface MemjsClient {
  set(key: string, value: string, options: { expires?: number }): Promise<boolean>;
  get(key: string): Promise<{ value: Uint8Array | string | null }>;
  delete(key: string): Promise<boolean>;
}

/** What the check reaches of memjs's servers to cut a socket a hung server holds (memjs's own timeout only ends it). */
interface MemjsServer {
  error(error: Error): void;
}

interface OwnedMemjsClient extends MemjsClient {
  servers: MemjsServer[];
  close(): void;
}

type CreateClient = (servers: string, options: Record<string, unknown>) => OwnedMemjsClient;

export interface MemcachedRoundtripOptions extends CommonCheckOptions {
  /** The app's memjs client. */
  client?: MemjsClient;
  /**
   * memjs's server list, `host:port` or `user:password@host:port`, comma-separated: the
   * check then owns a memjs client (`memjs` must be installed). Never shown in a report.
   */
  servers?: string;
  /** How long the key lives if the delete never happens, in seconds. @default 10 */
  expiresS?: number;
  /** @default "memcached" */
  name?: string;
}

const WHO = "probekit/checks/memcached";

/**
 * Sets a key unique to the run, reads it back, compares and deletes it — no shared
 * key, so pods never race. An owned client's sockets are destroyed when a run times
 * out and when the check is closed, so a hung server never keeps the process alive.
 *
 * @example
 * memcachedRoundtrip({ client: memjs.Client.create(process.env.MEMCACHE_SERVERS) });
 */
export function memcachedRoundtrip(options: MemcachedRoundtripOptions): Check {
  if (options.client !== undefined && options.servers !== undefined) throw new TypeError(`${WHO}: pass only one of client or servers`);
  if (options.client !== undefined && typeof options.client.set !== "function") throw new TypeError(`${WHO}: client must be a memjs client (with set, get and delete)`);
  const expires = options.expiresS ?? 10;
  if (!Number.isInteger(expires) || expires < 1) throw new TypeError(`${WHO}: expiresS must be a whole number of seconds >= 1, got ${expires}`);
  const servers = options.servers ?? "";
  const owned =
    options.client === undefined
      ? ownedClient({
          async create(timeoutMs: number) {
            // An unset MEMCACHE_SERVERS is a deploy mistake the probe reports, not a crash at import.
            if (servers === "") throw new ServiceUnavailable("no memcached servers configured");
            const Client = await loadPeer(WHO, "memjs", () => import("memjs") as unknown as Promise<{ Client: { create: CreateClient } }>, "Client");
            // memjs's own timeouts end a socket without destroying it (a paused server then
            // holds the process open); they are set past the check's, which destroys instead.
            const seconds = (timeoutMs + 1000) / 1000;
            return Client.create(servers, { retries: 1, failover: false, timeout: seconds, conntimeout: seconds, keepAlive: true, logger: { log() {} } });
          },
          close: (client) => cut(client, "closed"),
        })
      : undefined;
  return builtinCheck(
    options,
    { name: "memcached", componentType: "datastore" },
    async ({ signal, timeoutMs }) => {
      const client = options.client ?? (await owned!.get(timeoutMs));
      const onAbort = () => cut(client as OwnedMemjsClient, "timed out");
      if (owned !== undefined) signal.addEventListener("abort", onAbort, { once: true });
      const key = `probekit:${crypto.randomUUID()}`;
      const value = crypto.randomUUID();
      try {
        await guarded(signal, () => roundtrip(client, key, value, expires, signal), safeMemcachedError);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    },
    owned === undefined ? undefined : () => owned.close(),
  );
}

async function roundtrip(client: MemjsClient, key: string, value: string, expires: number, signal: AbortSignal): Promise<void> {
  try {
    if ((await client.set(key, value, { expires })) !== true) throw new ServiceReturnedUnexpectedResult("the set was not stored");
    const read = (await client.get(key)).value;
    if (read === null || read === undefined) throw new ServiceReturnedUnexpectedResult("the value just set is missing");
    const text = typeof read === "string" ? read : new TextDecoder().decode(read);
    if (text !== value) throw new ServiceReturnedUnexpectedResult("the value read back differs");
  } finally {
    // After a timeout the key is left to expire: a delete would open a new socket to the hung server.
    if (!signal.aborted) await client.delete(key).catch(() => {});
  }
}

/** Destroys every socket of an owned client (memjs's server error path), failing what is pending on them. */
function cut(client: OwnedMemjsClient, why: string): void {
  for (const server of client.servers ?? []) server.error(new Error(`probekit: ${why}`));
}

/** memjs's failures come as messages without codes, beyond Node's network errors. */
function safeMemcachedError(error: unknown): HealthCheckError {
  return safeError(error, {
    patterns: [
      [/No servers available/, "no memcached servers configured"],
      [/authentication failed/i, "authentication failed"],
      [/socket timed out connecting/, "connection timed out"],
      [/socket timed out waiting/, "timed out waiting for the server"],
      [/out of memory/i, "memcached is out of memory"],
    ],
    fallback: "command failed",
  });
}
