/** Child processes the tests start: a server they stop by PID, a script run in a fresh Node. */
import { spawn, type ChildProcess } from "node:child_process";

/** Signals a server started by a test and waits for it to exit; a no-op when it is not running. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/**
 * Runs an ES module script (TypeScript through tsx) in a fresh Node from the repository
 * root; resolves its exit code, its output and how long it lived. SIGKILL after `killAfterMs`:
 * a socket or timer it left open shows as a null code and a time near that. `env` is added
 * to this process's environment (what Node reads only at start, NODE_EXTRA_CA_CERTS).
 */
export function runScript(script: string, killAfterMs = 15_000, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; ms: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"], env: env === undefined ? undefined : { ...process.env, ...env } });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const started = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: performance.now() - started });
    });
  });
}
