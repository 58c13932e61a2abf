/**
 * Serves a Worker with the real workerd (npm `workerd`, which ships the binary): the
 * Worker is bundled by esbuild as wrangler would (the `workerd` and `worker` export
 * conditions, `nodejs_compat`'s node: modules left to the runtime), written with a
 * config.capnp whose outbound network allows loopback, and started on a free port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { freePort } from "./net.ts";

export interface WorkerdServer {
  url: string;
  /** What workerd printed (its logs, uncaught errors). */
  output(): string;
  close(): Promise<void>;
}

function workerdBinary(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@cloudflare/workerd-linux-64/package.json")), "bin", "workerd");
}

export async function serveWorker(entry: string, bindings: Record<string, string>): Promise<WorkerdServer> {
  const dir = mkdtempSync(join(tmpdir(), "probekit-workerd-"));
  await build({
    entryPoints: [entry],
    outfile: join(dir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["node:*", "cloudflare:*"],
    logLevel: "silent",
  });
  const port = await freePort();
  const text = (value: string) => JSON.stringify(value);
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [${Object.entries(bindings).map(([name, value]) => `(name = ${text(name)}, text = ${text(value)})`).join(", ")}],
  globalOutbound = "internet",
);
`,
  );
  const child: ChildProcess = spawn(workerdBinary(), ["serve", join(dir, "config.capnp"), "--verbose"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`workerd did not answer within 20 s:\n${output}`);
    const up = await fetch(`${url}/healthcheck/liveness`).then((response) => response.ok, () => false);
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    output: () => output,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
