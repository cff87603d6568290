import { describe, expect, it } from 'vitest';
import { Metrics } from '../metrics.ts';
import { partitionLag, withConsumerLagMetric } from './consumer-lag.ts';
import { EmbeddedBus } from './embedded-bus.ts';

describe('partitionLag', () => {
  it.each([
    {
      name: 'committed partitions: end minus committed',
      committed: [3, 10],
      end: [5, 10],
      startFrom: 'earliest' as const,
      lag: [2, 0],
    },
    {
      name: 'never committed, from the start: the whole log',
      committed: [-1, 4],
      end: [7, 4],
      startFrom: 'earliest' as const,
      lag: [7, 0],
    },
    {
      name: 'never committed, from the end: nothing owed',
      committed: [-1],
      end: [7],
      startFrom: 'latest' as const,
      lag: [0],
    },
    {
      name: 'a partition the offsets do not list yet',
      committed: [],
      end: [2],
      startFrom: 'earliest' as const,
      lag: [2],
    },
    {
      name: 'a committed offset past the end (a truncated log) is no negative lag',
      committed: [9],
      end: [5],
      startFrom: 'earliest' as const,
      lag: [0],
    },
  ])('$name', ({ committed, end, startFrom, lag }) => {
    expect(partitionLag(committed, end, startFrom)).toEqual(lag);
  });
});

describe('withConsumerLagMetric', () => {
  it('reports the lag of the groups consumed through it, and forgets a group once stopped', async () => {
    const inner = new EmbeddedBus({
      defaultPartitions: 2,
      maxRetainedMessages: 1_000,
      publish: { lingerMs: 1, maxBatchMessages: 100, maxBufferedMessages: 1_000 },
    });
    await inner.ensureTopics([{ name: 't', partitions: 2 }]);
    const metrics = new Metrics();
    const bus = withConsumerLagMetric(inner, metrics);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // A handler that holds its first batch: nothing is committed while it waits.
    const subscription = await bus.subscribe({ groupId: 'g', topics: ['t'], handleBatch: () => held });
    await bus.publish('t', [
      { key: 'a', value: Buffer.from('1') },
      { key: 'b', value: Buffer.from('2') },
      { key: 'c', value: Buffer.from('3') },
    ]);
    const lagOf = async () => {
      const metric = await metrics.registry.getSingleMetric('livepulse_bus_consumer_lag_messages')!.get();
      return metric.values.filter((v) => v.labels.group === 'g').reduce((sum, v) => sum + v.value, 0);
    };
    expect(await lagOf()).toBe(3);
    release();
    await subscription.stop();
    expect(await lagOf()).toBe(0);
    await inner.close();
  });
});
