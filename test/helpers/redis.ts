/**
 * A throwaway redis-server for integration tests: 127.0.0.1, a free port, no
 * persistence, a password (so wrong-password faults are real). Started and
 * stopped by PID; restart() brings it back on the same port.
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

function redisBinary(): string {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("redis-server is not installed: apt-get install redis-server (.ci/run does)");
  return found;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const binary = redisBinary();
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", REDIS_PASSWORD, "--protected-mode", "no"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 15_000;
    while (!output.includes("Ready to accept connections")) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not start within 15 s:\n${output}`);
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
