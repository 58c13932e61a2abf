/**
 * probekit/checks/file-heartbeat: liveness for processes that bind no port (Node
 * only), with no driver at all. The worker touches a file on a timer; the exec probe
 * checks the file is fresh, so a wedged event loop or a dead worker fails its
 * liveness probe. (probekit/checks/heartbeat has these too, beside the Redis
 * heartbeats, whose drivers a bundler then has to find.)
 *
 * @example
 * // worker.ts
 * import { startFileHeartbeat } from "probekit/checks/file-heartbeat";
 * const stop = startFileHeartbeat();
 * // health.config.ts
 * defineHealthConfig({ subsets: { liveness: [fileHeartbeat()] } });
 * // Kubernetes: exec probe `probekit -s liveness --skip-checks`
 */
import { rename, stat, unlink, writeFile } from "node:fs/promises";
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable } from "../core/errors.js";

const DEFAULT_FILE = "/tmp/worker_heartbeat";

export interface FileHeartbeatWriterOptions {
  /** @default "/tmp/worker_heartbeat" */
  file?: string;
  /**
   * How often the file is touched, in milliseconds.
   * @default 1000
   */
  intervalMs?: number;
  /** Called when a write fails (a full or read-only disk); the heartbeat keeps trying. */
  onError?: (error: unknown) => void;
}

/**
 * Touches `file` now and every `intervalMs`, atomically (write, then rename), on a
 * timer that never keeps the process alive. Returns a function that stops it.
 *
 * @example
 * const stop = startFileHeartbeat({ file: "/tmp/worker_heartbeat" });
 * process.on("SIGTERM", () => { stop(); worker.close(); });
 */
export function startFileHeartbeat(options: FileHeartbeatWriterOptions = {}): () => void {
  const file = options.file ?? DEFAULT_FILE;
  const intervalMs = options.intervalMs ?? 1000;
  if (!(Number.isFinite(intervalMs) && intervalMs > 0)) throw new TypeError(`probekit/checks/heartbeat: intervalMs must be > 0, got ${intervalMs}`);
  const temp = `${file}.${process.pid}.tmp`;
  let writing = false;
  const beat = async () => {
    // A slow disk must not pile up writes.
    if (writing) return;
    writing = true;
    try {
      await writeFile(temp, `${new Date().toISOString()} pid=${process.pid}\n`);
      await rename(temp, file);
    } catch (error) {
      options.onError?.(error);
      await unlink(temp).catch(() => {});
    } finally {
      writing = false;
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export interface FileHeartbeatOptions extends CommonCheckOptions {
  /** @default "/tmp/worker_heartbeat" */
  file?: string;
  /**
   * The file is stale once it is older than this, in milliseconds.
   * @default 60000
   */
  maxAgeMs?: number;
}

/**
 * Passes while `file` was touched within `maxAgeMs`; fails with `missing` or
 * `stale (age=…s > max_age=…s)`.
 *
 * @example
 * fileHeartbeat({ maxAgeMs: 30_000 });
 */
export function fileHeartbeat(options: FileHeartbeatOptions = {}): Check {
  const file = options.file ?? DEFAULT_FILE;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  if (!(Number.isFinite(maxAgeMs) && maxAgeMs > 0)) throw new TypeError(`probekit/checks/heartbeat: maxAgeMs must be > 0, got ${maxAgeMs}`);
  return builtinCheck(options, { name: "heartbeat", componentType: "system" }, async () => {
    let modified: number;
    try {
      modified = (await stat(file)).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new ServiceUnavailable("missing", { cause: error });
      throw new ServiceUnavailable(`cannot read: ${(error as NodeJS.ErrnoException).code ?? "error"}`, { cause: error });
    }
    const ageMs = Math.max(0, Date.now() - modified);
    if (ageMs > maxAgeMs) throw new ServiceUnavailable(`stale (age=${seconds(ageMs)}s > max_age=${seconds(maxAgeMs)}s)`);
    return { observedValue: Math.round(ageMs), observedUnit: "ms", output: `fresh (age=${seconds(ageMs)}s)` };
  });
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
