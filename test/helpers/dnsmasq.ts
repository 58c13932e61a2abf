/**
 * A throwaway dnsmasq for integration tests (Debian's `dnsmasq`): answers on a free
 * 127.0.0.1 port from the records given, no system config, no upstream: a name under
 * app.test it does not know is NXDOMAIN, any other name is REFUSED. Started and stopped
 * by PID; pause()/resume() make it a hung server (SIGSTOP/SIGCONT).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { existsSync } from "node:fs";
import { Resolver } from "node:dns/promises";
import { freePort } from "./net.ts";

export interface DnsServer {
  port: number;
  /** 127.0.0.1:port, as Resolver.setServers takes it. */
  server: string;
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
}

function dnsmasqBinary(): string {
  if (existsSync("/usr/sbin/dnsmasq")) return "/usr/sbin/dnsmasq";
  const found = spawnSync("sh", ["-c", "command -v dnsmasq"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("dnsmasq is not installed: apt-get install dnsmasq (.ci/run does)");
  return found;
}

/** `records`: dnsmasq options such as `--host-record=api.app.test,10.1.2.3` (without the leading dashes is fine too). */
export async function startDnsmasq(records: string[]): Promise<DnsServer> {
  const port = await freePort();
  const user = process.getuid?.() === 0 ? ["--user=root"] : [];
  const child: ChildProcess = spawn(
    dnsmasqBinary(),
    [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--no-poll",
      "--pid-file=",
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--local=/app.test/",
      "--log-facility=-",
      ...user,
      ...records.map((record) => (record.startsWith("--") ? record : `--${record}`)),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`dnsmasq did not answer within 15 s:\n${output}`);
    // Any answer, NXDOMAIN included, means it is serving.
    const answered = await resolver.resolve4("probekit-ready.app.test").then(
      () => true,
      (error: { code?: string }) => error.code === "ENOTFOUND" || error.code === "ENODATA",
    );
    if (answered) break;
  }
  return {
    port,
    server: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
  };
}

/** A UDP port that takes queries and never answers. */
export async function silentDnsServer(): Promise<{ server: string; close(): void }> {
  const socket: Socket = createSocket("udp4");
  socket.on("message", () => {});
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { server: `127.0.0.1:${socket.address().port}`, close: () => socket.close() };
}
