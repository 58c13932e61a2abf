/**
 * Shutdown drain: on SIGTERM readiness answers 503 `shutting down` for DRAIN_MS
 * (5 s) while liveness and pages are still served, then the server exits 0, so
 * Kubernetes takes the pod out of its Service before connections drop. Needs
 * NEXT_MANUAL_SIG_HANDLE=1 (the start scripts set it), or Next exits at once.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { installShutdownDrain } = await import("probekit/node");
    installShutdownDrain({ drainMs: Number(process.env.DRAIN_MS ?? 5000) });
  }
}
