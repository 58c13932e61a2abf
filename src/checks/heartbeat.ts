/**
 * probekit/checks/heartbeat: liveness for processes that bind no port (Node only).
 * The worker touches a file on a timer; the exec probe checks the file is fresh,
 * so a wedged event loop or a dead worker fails its liveness probe. Or the worker
 * publishes to Redis, and the web tier checks that some worker of the cluster is
 * alive (`clusterHeartbeat`), the worker that it is itself (`localHeartbeat`).
 *
 * This entry brings every Redis driver for the Redis heartbeats; an app without all
 * of them that bundles probekit imports the file heartbeats from
 * probekit/checks/file-heartbeat and the Redis ones from …/ioredis, …/node-redis or
 * …/upstash instead.
 *
 * @example
 * // worker.ts
 * import { startFileHeartbeat } from "probekit/checks/heartbeat";
 * const stop = startFileHeartbeat();
 * // health.config.ts
 * defineHealthConfig({ subsets: { liveness: [fileHeartbeat()] } });
 * // Kubernetes: exec probe `probekit -s liveness --skip-checks`
 */
import { hostname } from "node:os";
import type { Check } from "../core/check.js";
import type { RedisDrivers } from "../internal/redis.js";
import { clusterHeartbeatWith, localHeartbeatWith, publishHeartbeatWith, type ClusterHeartbeatOptions, type LocalHeartbeatOptions, type PublishHeartbeatOptions } from "../internal/redis-heartbeat.js";
import { ownedTcp } from "../internal/redis-tcp.js";
import { ownedUpstash } from "../internal/upstash-client.js";

export { fileHeartbeat, startFileHeartbeat } from "./file-heartbeat.js";
export type { FileHeartbeatOptions, FileHeartbeatWriterOptions } from "./file-heartbeat.js";
export type { ClusterHeartbeatOptions, LocalHeartbeatOptions, PublishHeartbeatOptions } from "../internal/redis-heartbeat.js";

const WHO = "probekit/checks/heartbeat";
const DRIVERS: RedisDrivers = { tcp: ownedTcp, upstash: ownedUpstash, hostname };

/**
 * For a worker: publishes "this host is alive" to Redis now and every
 * `intervalMs`, on a timer that never keeps the process alive. Returns stop(),
 * which also closes a client it built from a URL.
 *
 * @example
 * const stop = publishHeartbeat({ url: process.env.REDIS_URL, cluster: "emails", status: () => worker.isRunning() ? "running" : "stopping" });
 */
export function publishHeartbeat(options: PublishHeartbeatOptions): () => Promise<void> {
  return publishHeartbeatWith(DRIVERS, WHO, options);
}

/**
 * For the web tier: passes while at least one worker of the cluster has a fresh
 * heartbeat with a healthy status.
 *
 * @example
 * clusterHeartbeat({ url: process.env.REDIS_URL, cluster: "emails" });
 */
export function clusterHeartbeat(options: ClusterHeartbeatOptions): Check {
  return clusterHeartbeatWith(DRIVERS, WHO, options);
}

/**
 * For the worker's own liveness probe: passes while this host's heartbeat is
 * fresh (and not an unhealthy status).
 *
 * @example
 * // liveness subset of the worker, probed with `probekit -s liveness --skip-checks`
 * localHeartbeat({ url: process.env.REDIS_URL, cluster: "emails" });
 */
export function localHeartbeat(options: LocalHeartbeatOptions): Check {
  return localHeartbeatWith(DRIVERS, WHO, options);
}
