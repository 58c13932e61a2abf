/**
 * bullmqWorkers against real BullMQ workers on a real redis-server: a queue with a
 * worker passes, one without (or whose worker closed) fails with "No worker for
 * queue X", and a stopped Redis fails within the timeout.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Worker } from "bullmq";
import { type Check } from "../../src/index.ts";
import { bullmqWorkers } from "../../src/checks/bullmq.ts";
import { blackHole } from "../helpers/net.ts";
import { REDIS_PASSWORD, startRedis, type RedisServer } from "../helpers/redis.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let redis: RedisServer;
let connection: { host: string; port: number; password: string };
const ran = new Set<Check>();
const workers: Worker[] = [];

before(async () => {
  redis = await startRedis();
  connection = { host: "127.0.0.1", port: redis.port, password: REDIS_PASSWORD };
});
after(async () => {
  await Promise.all([...ran].map((check) => check.close?.()));
  await Promise.all(workers.map((worker) => worker.close()));
  await redis?.stop();
});

async function run(check: Check, timeoutMs = 3000) {
  ran.add(check);
  return runCheckOnce(check, timeoutMs);
}

async function startWorker(queue: string): Promise<Worker> {
  const worker = new Worker(queue, async () => {}, { connection: { ...connection, maxRetriesPerRequest: null } });
  worker.on("error", () => {});
  workers.push(worker);
  await worker.waitUntilReady();
  return worker;
}

describe("bullmqWorkers", () => {
  it("passes when every queue has a worker, and names the idle ones", async () => {
    await startWorker("emails");
    await startWorker("billing");
    const both = await run(bullmqWorkers({ queues: ["emails", "billing"], connection }));
    assert.equal(both.status, "pass", both.detail);
    assert.equal(both.output, "emails: 1, billing: 1");
    const one = await run(bullmqWorkers({ queue: "emails", connection }));
    assert.equal(one.name, "bullmq:emails");
    const idle = await run(bullmqWorkers({ queues: ["emails", "reports", "exports"], connection }));
    assert.equal(idle.output, "unavailable: No worker for queue reports; No worker for queue exports");
  });

  it("fails once the queue's only worker closes", async () => {
    const worker = await startWorker("thumbnails");
    const check = bullmqWorkers({ queue: "thumbnails", connection });
    assert.equal((await run(check)).status, "pass");
    await worker.close();
    assert.equal((await run(check)).output, "unavailable: No worker for queue thumbnails");
  });

  it("wrong password: 'authentication failed' or a bounded timeout, never the password", async () => {
    const result = await run(bullmqWorkers({ queue: "emails", connection: { ...connection, password: "wrong", maxRetriesPerRequest: 1 } }), 1500);
    assert.equal(result.status, "fail");
    assert.match(result.output, /^unavailable: (authentication failed|timed out after 1500 ms)$/);
    assert.ok(!result.output.includes("wrong"));
  });

  it("Redis stopped: fails within the timeout", async () => {
    const check = bullmqWorkers({ queue: "emails", connection });
    assert.equal((await run(check)).status, "pass");
    await redis.stop();
    try {
      const started = performance.now();
      const result = await run(check, 800);
      assert.equal(result.status, "fail");
      assert.ok(performance.now() - started < 800 + 400);
    } finally {
      await redis.start();
    }
    // The queue's connection comes back on its own: a later run passes again.
    let result = await run(check);
    for (let attempt = 0; result.status !== "pass" && attempt < 30; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      result = await run(check);
    }
    assert.equal(result.status, "pass", result.detail);
  });

  it("a listener that never answers: fails within the timeout", async () => {
    const hole = await blackHole();
    const { port } = hole;
    try {
      const started = performance.now();
      const result = await run(bullmqWorkers({ queue: "emails", connection: { host: "127.0.0.1", port, connectTimeout: 300 } }), 600);
      assert.equal(result.status, "fail");
      assert.match(result.output, /^unavailable: (connection timed out|timed out after 600 ms)$/);
      assert.ok(performance.now() - started < 600 + 400);
    } finally {
      hole.close();
    }
  });

  it("rejects missing queue names or connection when defined", () => {
    assert.throws(() => bullmqWorkers({ connection }), /name a queue/);
    assert.throws(() => bullmqWorkers({ queue: "x", connection: undefined }), /connection is required/);
  });
});
