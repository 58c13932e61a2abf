/**
 * A throwaway nats-server for integration tests (Debian's `nats-server`): 127.0.0.1, a
 * free port, a user with a password (so wrong-password faults are real). Started and
 * stopped by PID; start() after stop() brings it back on the same port; pause()/resume()
 * make it a hung host (SIGSTOP/SIGCONT).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { stopChild } from "./child-process.ts";
import { freePort } from "./net.ts";

export const NATS_USER = "probekit";
export const NATS_PASSWORD = "probekit-nats-password";

export interface NatsServer {
  port: number;
  /** nats://127.0.0.1:port */
  servers: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
}

function natsBinary(): string {
  if (existsSync("/usr/sbin/nats-server")) return "/usr/sbin/nats-server";
  const found = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("nats-server is not installed: apt-get install nats-server (.ci/run does)");
  return found;
}

export async function startNats(): Promise<NatsServer> {
  const port = await freePort();
  const binary = natsBinary();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(binary, ["-a", "127.0.0.1", "-p", String(port), "--user", NATS_USER, "--pass", NATS_PASSWORD, "--no_advertise"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 15_000;
    while (!output.includes("Server is ready")) {
      if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not start within 15 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stop = () => stopChild(child, "SIGKILL");
  await start();
  return {
    port,
    servers: `nats://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
  };
}
