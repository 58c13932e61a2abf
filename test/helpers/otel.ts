/**
 * The real OpenTelemetry metrics SDK, read on demand: a MeterProvider with a pull
 * reader whose collect() is what an exporter would send, flattened to points.
 */
import { MeterProvider, MetricReader, type DataPoint } from "@opentelemetry/sdk-metrics";

class PullReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Point {
  name: string;
  unit: string;
  attributes: Record<string, unknown>;
  value: number;
}

export function otelSdk() {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    meter: provider.getMeter("probekit-test"),
    provider,
    /** One collection, as an export would make it: every point of every instrument. */
    async collect(): Promise<Point[]> {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, "collection failed");
      const points: Point[] = [];
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          for (const point of metric.dataPoints as DataPoint<number>[]) {
            points.push({ name: metric.descriptor.name, unit: metric.descriptor.unit, attributes: { ...point.attributes }, value: point.value });
          }
        }
      }
      return points;
    },
    shutdown: () => provider.shutdown(),
  };
}

/** The value of the one point with these attributes, or undefined. */
export function valueOf(points: readonly Point[], name: string, attributes: Record<string, unknown>): number | undefined {
  const matching = points.filter((point) => point.name === name && Object.entries(attributes).every(([key, value]) => point.attributes[key] === value));
  if (matching.length > 1) throw new Error(`${matching.length} points of ${name} match ${JSON.stringify(attributes)}`);
  return matching[0]?.value;
}
