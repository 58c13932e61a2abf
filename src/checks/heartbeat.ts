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
import { redisEntry } from "../internal/redis-entry.js";
import { ownedTcp } from "../internal/redis-tcp.js";
import { ownedUpstash } from "../internal/upstash-client.js";

export { fileHeartbeat, startFileHeartbeat } from "./file-heartbeat.js";
export type { FileHeartbeatOptions, FileHeartbeatWriterOptions } from "./file-heartbeat.js";
export type { ClusterHeartbeatOptions, LocalHeartbeatOptions, PublishHeartbeatOptions } from "../internal/redis-heartbeat.js";

export const { publishHeartbeat, clusterHeartbeat, localHeartbeat } = redisEntry({ tcp: ownedTcp, upstash: ownedUpstash, hostname }, "probekit/checks/heartbeat");
