import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process. Services declare their metrics through this module so
 * names share the `livepulse_` prefix and nothing is registered twice.
 */
export class Metrics {
  readonly registry = new Registry();

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    collectDefaultMetrics({ register: this.registry, prefix: 'livepulse_' });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.existing(name) ?? new Counter({ name: `livepulse_${name}`, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.existing(name) ?? new Gauge({ name: `livepulse_${name}`, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return (
      this.existing(name) ??
      new Histogram({ name: `livepulse_${name}`, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) })
    );
  }

  private existing<M>(name: string): M | undefined {
    return this.registry.getSingleMetric(`livepulse_${name}`) as M | undefined;
  }
}
