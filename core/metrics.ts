import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One metric of a registry as plain data, as a worker thread posts it (structured-cloneable). */
export interface MetricSnapshot {
  name: string;
  help: string;
  /** `counter`, `gauge`, `histogram` or `summary`. */
  type: string;
  values: Array<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }>;
}
export type MetricsSnapshot = MetricSnapshot[];

/**
 * One Prometheus registry per thread. Services declare their metrics through this module so
 * names share the `livepulse_` prefix and nothing is registered twice. Worker threads of the
 * process keep registries of their own; their snapshots are merged into this one's /metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly threadSources = new Set<() => Promise<MetricsSnapshot>>();

  /** `processMetrics: false` for a worker thread: CPU, memory and handles are the process's, reported once by the main thread. */
  constructor(
    readonly defaultLabels: Record<string, string> = {},
    { processMetrics = true }: { processMetrics?: boolean } = {},
  ) {
    this.registry.setDefaultLabels(defaultLabels);
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'livepulse_' });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return (
      this.existing(name) ?? new Counter({ name: `livepulse_${name}`, help, labelNames, registers: [this.registry] })
    );
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return (
      this.existing(name) ?? new Gauge({ name: `livepulse_${name}`, help, labelNames, registers: [this.registry] })
    );
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets?: number[],
  ): Histogram<L> {
    return (
      this.existing(name) ??
      new Histogram({
        name: `livepulse_${name}`,
        help,
        labelNames,
        registers: [this.registry],
        ...(buckets ? { buckets } : {}),
      })
    );
  }

  /** Adds a worker thread's metrics to /metrics until the returned function is called. */
  addThreadSource(source: () => Promise<MetricsSnapshot>): () => void {
    this.threadSources.add(source);
    return () => this.threadSources.delete(source);
  }

  /** The Prometheus text of this registry, with the worker threads' metrics summed in. */
  async exposition(): Promise<string> {
    if (this.threadSources.size === 0) return this.registry.metrics();
    const threads = await Promise.all([...this.threadSources].map((source) => source()));
    return mergeSnapshots([await this.snapshot(), ...threads]).metrics();
  }

  /** This registry's metrics as plain data, default labels included. */
  async snapshot(): Promise<MetricsSnapshot> {
    // prom-client's typings call `type` an enum; at run time it is the type's name.
    return (await this.registry.getMetricsAsJSON()).map(({ name, help, type, values }) => ({
      name,
      help,
      type: String(type),
      values,
    }));
  }

  private existing<M>(name: string): M | undefined {
    return this.registry.getSingleMetric(`livepulse_${name}`) as M | undefined;
  }
}

/**
 * The threads' metrics as one registry: series with the same name and labels are summed
 * (counters, histogram buckets, gauges such as views in memory), as prom-client's cluster
 * aggregation does for processes.
 */
export function mergeSnapshots(snapshots: MetricsSnapshot[]): Registry {
  return AggregatorRegistry.aggregate(
    snapshots.map((snapshot) => snapshot.map((metric) => ({ ...metric, aggregator: 'sum' as const }))),
  );
}

/**
 * A thread's snapshot without the gauge values of partitions it does not hold (any more): a
 * partition's figures come from the thread that holds it, not summed with a stale copy from the
 * one that held it before a rebalance. Gauges without a `partition` label, counters and
 * histograms are kept whole.
 */
export function heldPartitionsOnly(snapshot: MetricsSnapshot, held: ReadonlySet<number>): MetricsSnapshot {
  return snapshot.map((metric) => {
    if (metric.type !== 'gauge') return metric;
    return {
      ...metric,
      values: metric.values.filter(
        (value) => value.labels.partition === undefined || held.has(Number(value.labels.partition)),
      ),
    };
  });
}

/** The counters and histograms of a snapshot: what a thread counted, which stays counted after it ended. */
export function countsOnly(snapshot: MetricsSnapshot): MetricsSnapshot {
  return snapshot.filter((metric) => metric.type === 'counter' || metric.type === 'histogram');
}
