/**
 * A throwaway redis-server for integration tests: 127.0.0.1, a free port, no
 * persistence, a password (so wrong-password faults are real). Started and
 * stopped by PID; restart() brings it back on the same port. A replica of another
 * one (read-only, as Redis makes replicas) or extra server arguments on request.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { stopChild } from "./child-process.ts";
import { freePort } from "./net.ts";

export const REDIS_PASSWORD = "probekit-redis-password";

export interface RedisServer {
  port: number;
  /** redis://:password@127.0.0.1:port/db */
  url(password?: string, db?: number): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface RedisOptions {
  /** Replicate this server: start() then waits for the first full sync. */
  replicaOf?: RedisServer;
  /** More redis-server arguments, e.g. `["--enable-debug-command", "yes"]`. */
  args?: string[];
}

function redisBinary(): string {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("redis-server is not installed: apt-get install redis-server (.ci/run does)");
  return found;
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const binary = redisBinary();
  let child: ChildProcess | undefined;
  // Diskless load: a replica otherwise writes the primary's data to dump.rdb in the working directory.
  const replica = options.replicaOf === undefined ? [] : ["--replicaof", "127.0.0.1", String(options.replicaOf.port), "--masterauth", REDIS_PASSWORD, "--repl-diskless-load", "swapdb"];
  const ready = options.replicaOf === undefined ? ["Ready to accept connections"] : ["Ready to accept connections", "MASTER <-> REPLICA sync: Finished with success"];

  const start = async () => {
    // A primary sends a replica its data at once, not after diskless sync's default 5 s wait for more replicas.
    const primary = ["--repl-diskless-sync-delay", "0"];
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", REDIS_PASSWORD, "--protected-mode", "no", ...primary, ...replica, ...(options.args ?? [])];
    child = spawn(binary, args, {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 15_000;
    while (!ready.every((line) => output.includes(line))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${output}`);
      if (Date.now() > deadline) {
        // Left running, it would hold the test process open.
        await stopChild(child, "SIGKILL");
        throw new Error(`redis-server did not start within 15 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stop = () => stopChild(child);
  await start();
  return {
    port,
    url: (password = REDIS_PASSWORD, db = 0) => `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`,
    stop,
    start,
  };
}
