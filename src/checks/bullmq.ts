/**
 * probekit/checks/bullmq: does each BullMQ queue have at least one live worker?
 * The Node counterpart of django-health-check's Celery ping: BullMQ names every
 * worker's Redis connection after its queue, so the queue's worker list (CLIENT
 * LIST) shows who is listening right now. bullmq is imported on the first run.
 *
 * @example
 * import { bullmqWorkers } from "probekit/checks/bullmq";
 * bullmqWorkers({ queues: ["emails", "billing"], connection: { host: "redis", port: 6379 } });
 */
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable } from "../core/errors.js";
import { ownedClient } from "../internal/owned-client.js";
import { loadPeer } from "../internal/peer.js";
import { safeRedisError } from "../internal/redis.js";
import { guarded } from "../internal/safe-errors.js";

export interface BullmqWorkersOptions extends CommonCheckOptions {
  /** One queue name… */
  queue?: string;
  /** …or several: each must have a worker. */
  queues?: readonly string[];
  /** What BullMQ's `Queue` takes as `connection`: ioredis options or an ioredis instance. */
  connection: unknown;
  /** BullMQ's key prefix. @default "bull" */
  prefix?: string;
}

/** The part of a BullMQ `Queue` the check uses. */
interface QueueLike {
  getWorkersCount(): Promise<number>;
  close(): Promise<void>;
  disconnect(): Promise<void>;
  on(event: "error", listener: (error: unknown) => void): unknown;
}

/**
 * Fails with `No worker for queue X` for every named queue nobody is consuming.
 *
 * @example
 * bullmqWorkers({ queue: "emails", connection: redisConnection, critical: false });
 */
export function bullmqWorkers(options: BullmqWorkersOptions): Check {
  const who = "probekit/checks/bullmq";
  const names = [...(options.queues ?? []), ...(options.queue === undefined ? [] : [options.queue])];
  if (names.length === 0) throw new TypeError(`${who}: name a queue (queue) or queues (queues)`);
  if (options.connection === undefined || options.connection === null) throw new TypeError(`${who}: connection is required (ioredis options or instance)`);
  const queues = ownedClient({
    create: async () => {
      const Queue = await loadPeer(who, "bullmq", () => import("bullmq"), "Queue");
      return names.map((name) => {
        const queue = new Queue(name, { connection: options.connection as never, prefix: options.prefix }) as unknown as QueueLike;
        // Connection errors surface in the check's result; unheard, BullMQ would print each retry.
        queue.on("error", () => {});
        return queue;
      });
    },
    // close() waits for a connection that may never come (a wrong password retries forever): then cut it.
    close: (opened) => Promise.all(opened.map((queue) => queue.close().catch(() => queue.disconnect().catch(() => {})))),
    closeDeadlineMs: 1000,
    onCloseLate: (opened) => Promise.all(opened.map((queue) => queue.disconnect().catch(() => {}))),
  });
  return builtinCheck(
    options,
    { name: names.length === 1 ? `bullmq:${names[0]}` : "bullmq", componentType: "component" },
    async ({ signal }) => {
      const opened = await queues.get();
      const counts = await guarded(signal, () => Promise.all(opened.map((queue) => queue.getWorkersCount())), (error) => safeRedisError(error));
      const idle = names.filter((_, index) => counts[index] === 0);
      if (idle.length > 0) throw new ServiceUnavailable(idle.map((name) => `No worker for queue ${name}`).join("; "));
      const total = counts.reduce((sum, count) => sum + count, 0);
      return { observedValue: total, observedUnit: "workers", output: names.map((name, index) => `${name}: ${counts[index]}`).join(", ") };
    },
    () => queues.close(),
  );
}
