/**
 * Runs once per server process, before the first request (Node runtime only):
 *
 * - the shutdown drain: on SIGTERM readiness answers 503 `shutting down` for DRAIN_MS
 *   (5 s) while liveness and pages are still served, then the server exits 0, so
 *   Kubernetes takes the pod out of its Service before connections drop. Needs
 *   NEXT_MANUAL_SIG_HANDLE=1 (the start scripts set it), or Next exits at once;
 * - with HEALTH_REFRESH_MS, a background refresh of readiness and integrations: probes
 *   and scrapes answer the latest report at once, and status changes are logged even
 *   when nobody probes;
 * - with OTEL_PROMETHEUS_PORT, health as OpenTelemetry metrics, exported by the SDK's
 *   Prometheus exporter on that port (any other reader, OTLP for one, works the same).
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { default: config } = await import("./health.config");
  const { installShutdownDrain } = await import("probekit/node");
  installShutdownDrain({ drainMs: Number(process.env.DRAIN_MS ?? 5000), config });

  if (process.env.HEALTH_REFRESH_MS) {
    const { startHealthRefresh } = await import("probekit");
    startHealthRefresh(config, { subsets: ["readiness", "integrations"], intervalMs: Number(process.env.HEALTH_REFRESH_MS) });
  }

  if (process.env.OTEL_PROMETHEUS_PORT) {
    const { metrics } = await import("@opentelemetry/api");
    const { MeterProvider } = await import("@opentelemetry/sdk-metrics");
    const { PrometheusExporter } = await import("@opentelemetry/exporter-prometheus");
    const { registerHealthMetrics } = await import("probekit/otel");
    const exporter = new PrometheusExporter({ host: "127.0.0.1", port: Number(process.env.OTEL_PROMETHEUS_PORT) });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
    registerHealthMetrics(config, { subsets: ["readiness", "integrations"] });
  }
}
