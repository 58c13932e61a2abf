/**
 * `startHealthRefresh`: runs named subsets in the background, so probes and scrapes
 * answer the latest report at once and status events and metrics flow even when
 * nobody probes. Opt-in, never at import; timers are unref'd, so they never keep a
 * process alive.
 */
import type { HealthConfig } from "./config.js";
import { registerRefresh } from "./refresh-registry.js";
import { addRefreshInterval, refreshSubset } from "./runner.js";
import { isShuttingDown } from "./shutdown.js";
import { MAX_TIMER_MS, subsetList } from "./util.js";

export interface HealthRefreshOptions {
  /** The subsets to keep fresh; each must exist in the config. */
  subsets: readonly string[];
  /**
   * Time between the end of one run of a subset and the start of the next, in ms.
   * A report is answered without a run for up to two intervals after it finished.
   */
  intervalMs: number;
}

/**
 * Runs each named subset now and then every `intervalMs`, until `stop()`, the
 * shutdown drain or `closeHealthChecks`. For long-lived servers (next start, a
 * standalone or Node server, a worker); on serverless, where timers do not survive
 * between invocations, use `createHealthRoute(config, { after })` instead.
 *
 * @example
 * // instrumentation.ts, or the server's entry
 * const stop = startHealthRefresh(config, { subsets: ["readiness", "integrations"], intervalMs: 5000 });
 */
export function startHealthRefresh(config: HealthConfig, options: HealthRefreshOptions): () => void {
  const who = "probekit: startHealthRefresh";
  const subsets = subsetList(config, options?.subsets, who);
  const intervalMs = options.intervalMs;
  if (!(Number.isInteger(intervalMs) && intervalMs >= 1 && intervalMs <= MAX_TIMER_MS)) {
    throw new TypeError(`${who}: intervalMs must be a whole number of milliseconds between 1 and ${MAX_TIMER_MS}, got ${String(intervalMs)}`);
  }
  let stopped = false;
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const removals = subsets.map((subset) => addRefreshInterval(config, subset, intervalMs));

  const tick = (subset: string) => {
    timers.delete(subset);
    if (stopped) return;
    // Draining: readiness answers 503 without running anything; nothing to refresh.
    if (isShuttingDown()) return stop();
    refreshSubset(config, subset).then(
      () => schedule(subset),
      () => schedule(subset),
    );
  };
  const schedule = (subset: string) => {
    if (stopped) return;
    const timer = setTimeout(tick, intervalMs, subset);
    unref(timer);
    timers.set(subset, timer);
  };

  const unregister = registerRefresh({ config, stop: () => stop() });
  function stop(): void {
    if (stopped) return;
    stopped = true;
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    for (const remove of removals) remove();
    unregister();
  }
  for (const subset of subsets) tick(subset);
  return stop;
}

/** Lets the process exit with the timer pending: Node and Bun have `unref()`; Deno's timers are numbers. */
function unref(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === "object" && timer !== null && typeof (timer as { unref?: unknown }).unref === "function") (timer as { unref(): void }).unref();
  else (globalThis as { Deno?: { unrefTimer?(id: unknown): void } }).Deno?.unrefTimer?.(timer);
}
