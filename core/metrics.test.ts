import { describe, expect, it } from 'vitest';
import { countsOnly, heldPartitionsOnly, Metrics, type MetricsSnapshot } from './metrics.ts';

/** A worker thread's registry: its own counters, gauges and histograms, no process metrics. */
async function threadSnapshot(
  events: number,
  views: Record<number, number>,
  batchSeconds: number[],
): Promise<MetricsSnapshot> {
  const metrics = new Metrics({ service: 'viewer-analytics' }, { processMetrics: false });
  metrics.counter('events_total', 'events', ['outcome']).inc({ outcome: 'applied' }, events);
  const gauge = metrics.gauge('views', 'views', ['partition']);
  for (const [partition, count] of Object.entries(views)) gauge.set({ partition }, count);
  const histogram = metrics.histogram('batch_seconds', 'batch', [], [0.1, 1]);
  for (const seconds of batchSeconds) histogram.observe(seconds);
  return metrics.snapshot();
}

describe('metrics of worker threads', () => {
  it('/metrics sums the threads into the main registry: counters, histogram buckets, per-partition gauges', async () => {
    const main = new Metrics({ service: 'viewer-analytics' });
    main.counter('events_total', 'events', ['outcome']).inc({ outcome: 'applied' }, 1);
    const threads = [await threadSnapshot(10, { 0: 5, 1: 7 }, [0.05, 0.5]), await threadSnapshot(32, { 2: 11 }, [2])];
    main.addThreadSource(() => Promise.resolve(threads[0]!));
    const remove = main.addThreadSource(() => Promise.resolve(threads[1]!));
    const text = await main.exposition();
    expect(text).toContain('livepulse_events_total{outcome="applied",service="viewer-analytics"} 43');
    expect(text).toContain('livepulse_views{partition="0",service="viewer-analytics"} 5');
    expect(text).toContain('livepulse_views{partition="2",service="viewer-analytics"} 11');
    expect(text).toContain('livepulse_batch_seconds_bucket{le="0.1",service="viewer-analytics"} 1');
    expect(text).toContain('livepulse_batch_seconds_bucket{le="1",service="viewer-analytics"} 2');
    expect(text).toContain('livepulse_batch_seconds_count{service="viewer-analytics"} 3');
    // The main thread's process metrics are still there, once.
    expect(text.match(/^livepulse_process_cpu_user_seconds_total/gm)).toHaveLength(1);
    remove();
    expect(await main.exposition()).toContain(
      'livepulse_events_total{outcome="applied",service="viewer-analytics"} 11',
    );
  });

  it.each([
    ['a partition held: kept', [0, 1], { 0: 5, 1: 7 }],
    ['a partition given up in a rebalance: dropped, the holder reports it', [1], { 1: 7 }],
    ['none held: no per-partition values', [], {}],
  ] as const)('heldPartitionsOnly: %s', async (_name, held, expected) => {
    const snapshot = heldPartitionsOnly(await threadSnapshot(3, { 0: 5, 1: 7 }, []), new Set(held));
    const views = snapshot.find((m) => m.name === 'livepulse_views')!;
    expect(Object.fromEntries(views.values.map((v) => [v.labels.partition, v.value]))).toEqual(expected);
    // Counters and gauges without a partition are never filtered.
    expect(snapshot.find((m) => m.name === 'livepulse_events_total')!.values[0]!.value).toBe(3);
  });

  it('countsOnly keeps what a crashed thread counted (counters, histograms), not its gauges', async () => {
    expect(
      countsOnly(await threadSnapshot(3, { 0: 5 }, [0.2]))
        .map((m) => m.name)
        .sort(),
    ).toEqual(['livepulse_batch_seconds', 'livepulse_events_total']);
  });
});
