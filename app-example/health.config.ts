/**
 * One config for the web app's route handlers and for the `probekit` CLI
 * (the worker's exec probes). With no environment it needs no outside service;
 * DATABASE_URL and REDIS_URL each add their check.
 *
 * Next bundles instrumentation.ts apart from the routes, and each bundle evaluates
 * this file: the config is kept on globalThis (as a PrismaClient is), so the
 * background refresh, the metrics and the drain started there act on the very
 * config the routes serve.
 */
import { defineHealthConfig, type Check, type HealthConfig } from "probekit";
import { fileHeartbeat } from "probekit/checks/file-heartbeat";
import { httpEndpoint } from "probekit/checks/http";
import { postgresHeartbeat } from "probekit/checks/postgres";
import { cacheRoundtrip } from "probekit/checks/ioredis";
import { diskUsage, memory } from "probekit/checks/system";

const { DATABASE_URL, REDIS_URL } = process.env;

/** Where this server listens, for the check that requests one of its own pages. */
const ownOrigin = `http://127.0.0.1:${process.env.PORT ?? 3000}`;

/** What the worker (worker.ts) touches every second; the CLI checks it inside the worker's container. */
export const workerHeartbeatFile = process.env.WORKER_HEARTBEAT_FILE ?? "/tmp/worker_heartbeat";

const database: Check[] = DATABASE_URL ? [postgresHeartbeat({ url: DATABASE_URL })] : [];
const cache: Check[] = REDIS_URL ? [cacheRoundtrip({ name: "default", url: REDIS_URL })] : [];

const shared = globalThis as { probekitConfig?: HealthConfig };

export default (shared.probekitConfig ??= defineHealthConfig({
  // Every change of a check's or a subset's status, as one JSON line for the log collector.
  onStatusChange: (event) => console.info(JSON.stringify({ msg: "probekit status change", ...event })),
  subsets: {
    // The web pod's /healthcheck/liveness is answered by withLiveness in proxy.ts
    // before this config is read. This subset is the worker's exec probe
    // (`probekit -s liveness`): its heartbeat file is fresh.
    liveness: [
      fileHeartbeat({
        file: workerHeartbeatFile,
        maxAgeMs: Number(process.env.WORKER_HEARTBEAT_MAX_AGE_MS ?? 60_000),
      }),
    ],
    // What this app cannot serve a request without.
    readiness: [memory(), ...database],
    // Everything it talks to; a failing non-critical check only warns.
    integrations: [
      memory(),
      ...database,
      ...cache,
      diskUsage({ critical: false }),
      // A route of this app renders (the route handler and the page share one server).
      httpEndpoint({ name: "login-page", url: `${ownOrigin}/login`, expectStatus: 200 }),
    ],
  },
}));
