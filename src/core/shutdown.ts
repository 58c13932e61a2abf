/**
 * Whether this process is shutting down. One flag per process, kept on
 * `globalThis` under a registry symbol, so every copy of probekit a bundler made
 * (a route module, instrumentation.ts, the node adapter) sees the same one.
 * Edge-safe: nothing here touches Node.
 */

const STATE = Symbol.for("probekit.shutdown");

interface ShutdownState {
  /** When the drain began (ms since the epoch), or undefined while serving normally. */
  since?: number;
}

function state(): ShutdownState {
  const holder = globalThis as { [STATE]?: ShutdownState };
  return (holder[STATE] ??= {});
}

/** True once a shutdown drain has begun: readiness answers 503 `shutting down` from then on. */
export function isShuttingDown(): boolean {
  return state().since !== undefined;
}

/** Starts (or with `false`, ends) the drain for this process. Called by installShutdownDrain; tests call it directly. */
export function setShuttingDown(on: boolean): void {
  state().since = on ? Date.now() : undefined;
}
