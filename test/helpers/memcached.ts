/**
 * A throwaway memcached for integration tests (Debian's `memcached`): 127.0.0.1, a
 * free port, TCP only, 16 MB. Started and stopped by PID; start() after stop() brings
 * it back on the same port; pause()/resume() make it a hung host (SIGSTOP/SIGCONT).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { stopChild } from "./child-process.ts";
import { freePort } from "./net.ts";

export interface MemcachedServer {
  port: number;
  /** host:port, as memjs takes a server list. */
  servers: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
}

function memcachedBinary(): string {
  const found = spawnSync("sh", ["-c", "command -v memcached || ls /usr/bin/memcached"], { encoding: "utf8" }).stdout.trim().split("\n")[0];
  if (!found) throw new Error("memcached is not installed: apt-get install memcached (.ci/run does)");
  return found;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function startMemcached(): Promise<MemcachedServer> {
  const port = await freePort();
  const binary = memcachedBinary();
  let child: ChildProcess | undefined;
  const start = async () => {
    // memcached will not run as root unless told which user to be.
    const user = process.getuid?.() === 0 ? ["-u", "nobody"] : [];
    child = spawn(binary, ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "16", ...user], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 15_000;
    while (!(await listening(port))) {
      if (child.exitCode !== null) throw new Error(`memcached exited (${child.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`memcached did not start within 15 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stop = () => stopChild(child, "SIGKILL");
  await start();
  return {
    port,
    servers: `127.0.0.1:${port}`,
    stop,
    start,
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
  };
}
