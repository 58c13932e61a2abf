/**
 * The background refreshes running in this process, kept on `globalThis` under a
 * registry symbol (as the drain flag is), so the drain stops them whichever copy of
 * probekit a bundler gave the module that started them.
 */
import type { HealthConfig } from "./config.js";

const REFRESHES = Symbol.for("probekit.refreshes");

interface RunningRefresh {
  config: HealthConfig;
  stop(): void;
}

function running(): Set<RunningRefresh> {
  const holder = globalThis as { [REFRESHES]?: Set<RunningRefresh> };
  return (holder[REFRESHES] ??= new Set());
}

/** Registers a refresh; the returned function unregisters it. */
export function registerRefresh(refresh: RunningRefresh): () => void {
  running().add(refresh);
  return () => running().delete(refresh);
}

/** Stops the refreshes of one config, or with no config every refresh in the process (the drain). */
export function stopHealthRefreshes(config?: HealthConfig): void {
  for (const refresh of [...running()]) if (config === undefined || refresh.config === config) refresh.stop();
}
