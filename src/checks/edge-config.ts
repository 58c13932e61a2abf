/**
 * probekit/checks/edge-config: can the app read its Vercel Edge Config right now?
 * Edge-safe: @vercel/edge-config is imported lazily and only `fetch` is used.
 *
 * The client's reads are built to survive an outage: `get()` and `digest()`
 * answer from an in-process copy for a week (`staleIfError`), in development from
 * an in-memory copy, and on Vercel from a copy embedded at build time. So the
 * check asks with `has(key, { consistentRead: true })`, the one call that skips
 * every local copy (no embedded or development cache) and goes out as a plain
 * `HEAD` outside the client's stale-if-error cache (`get()` and `digest()` with
 * `consistentRead` still fall back to it on a network error). A client the check
 * builds itself also sets `staleIfError: false` and `cache: "no-store"`.
 *
 * @example
 * import { edgeConfig } from "probekit/checks/edge-config";
 * edgeConfig(); // reads process.env.EDGE_CONFIG when it runs
 */
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceReturnedUnexpectedResult, ServiceUnavailable, type HealthCheckError } from "../core/errors.js";
import { loadPeer } from "../internal/peer.js";
import { guarded, safeError } from "../internal/safe-errors.js";
import { abortable, readEnv } from "../core/util.js";

/** The part of an @vercel/edge-config client (`createClient(…)`) the check uses. */
export interface EdgeConfigReader {
  has(key: string, options?: { consistentRead?: boolean }): Promise<boolean>;
}

export interface EdgeConfigOptions extends CommonCheckOptions {
  /**
   * An Edge Config connection string; the check then owns a client made for
   * probing (no stale answers). An empty string fails the check as unconfigured.
   * @default process.env.EDGE_CONFIG, read when the check runs
   */
  connectionString?: string;
  /** The app's own client from `createClient()`, instead of a connection string. */
  client?: EdgeConfigReader;
  /**
   * An item that must exist: the check fails when it is missing. Without it the
   * check asks for a key nobody uses, and any answer from the service passes.
   */
  key?: string;
}

/** Asked for when no key is given: absent or present, an answer proves the service reads. */
const PROBE_KEY = "probekit-health-check";

/** Edge Config keys are letters, digits, `_` and `-`; the client puts them in the URL path unescaped. */
const VALID_KEY = /^[\w-]{1,256}$/;

/**
 * Passes when Edge Config answers a consistent read (and, with `key`, that the item exists).
 *
 * @example
 * edgeConfig({ key: "feature-flags", critical: false });
 * @example
 * import { createClient } from "@vercel/edge-config";
 * edgeConfig({ client: createClient(process.env.FLAGS_EDGE_CONFIG), name: "flags" });
 */
export function edgeConfig(options: EdgeConfigOptions = {}): Check {
  const who = "probekit/checks/edge-config";
  if (options.client !== undefined && options.connectionString !== undefined) throw new TypeError(`${who}: pass client or connectionString, not both`);
  if (options.client !== undefined && typeof options.client.has !== "function") throw new TypeError(`${who}: client must be an @vercel/edge-config client (with has())`);
  if (options.key !== undefined && !VALID_KEY.test(options.key)) throw new TypeError(`${who}: key must be 1–256 letters, digits, _ or -`);
  const key = options.key ?? PROBE_KEY;
  const given = options.client;
  const client = given !== undefined ? () => Promise.resolve(given) : ownedClient(() => options.connectionString ?? readEnv("EDGE_CONFIG"));

  return builtinCheck(options, { name: "edge-config", componentType: "component" }, async ({ signal }) => {
    const reader = await client();
    // The client takes no abort signal: on timeout the check returns at once, and the
    // abandoned request ends when the service answers or fetch gives up on it.
    // Promise.resolve().then(): a client that throws synchronously still fails as data.
    const found = await guarded(signal, () => abortable(Promise.resolve().then(() => reader.has(key, { consistentRead: true })), signal), safeEdgeConfigError);
    if (options.key !== undefined && !found) throw new ServiceReturnedUnexpectedResult(`item ${JSON.stringify(options.key)} not found`);
  });
}

/** A client built on first run from the connection string current at that run, rebuilt if it changes. */
function ownedClient(connectionString: () => string | undefined): () => Promise<EdgeConfigReader> {
  let owned: { connectionString: string; client: Promise<EdgeConfigReader> } | undefined;
  return () => {
    const current = connectionString();
    if (!current) return Promise.reject(new ServiceUnavailable("no Edge Config connection string configured"));
    if (owned?.connectionString !== current) {
      const entry = { connectionString: current, client: createOwnedClient(current) };
      entry.client.catch(() => {
        if (owned === entry) owned = undefined;
      });
      owned = entry;
    }
    return owned.client;
  };
}

async function createOwnedClient(connectionString: string): Promise<EdgeConfigReader> {
  const createClient = await loadPeer("probekit/checks/edge-config", "@vercel/edge-config", () => import("@vercel/edge-config"), "createClient");
  try {
    return createClient(connectionString, {
      // The defaults answer get()/digest() from a week-old copy when the service is down.
      staleIfError: false,
      cache: "no-store",
      // Development's in-memory copy; also keeps the client off `process.env.NODE_ENV`, which edge runtimes may lack.
      disableDevelopmentCache: true,
    });
  } catch (error) {
    // The client's message names no part of the string; ours neither.
    throw new ServiceUnavailable("invalid Edge Config connection string", { cause: error });
  }
}

/** The client's errors, named without its text (which may carry hosts): see ERRORS and UnexpectedNetworkError in @vercel/edge-config. */
function safeEdgeConfigError(error: unknown): HealthCheckError {
  // Read as data, not with instanceof: on the edge the error may come from another realm.
  const raw = typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined;
  const message = typeof raw === "string" ? raw : "";
  if (message === "@vercel/edge-config: Unauthorized") return new ServiceUnavailable("unauthorized", { cause: error });
  if (message === "@vercel/edge-config: Edge Config not found") return new ServiceUnavailable("edge config not found", { cause: error });
  const status = /^@vercel\/edge-config: Unexpected error due to response with status code (\d{3})$/.exec(message)?.[1];
  if (status !== undefined) return new ServiceUnavailable(status === "401" || status === "403" ? "unauthorized" : `status ${status}`, { cause: error });
  return safeError(error, { fallback: "request failed" });
}
