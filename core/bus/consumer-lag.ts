import { Gauge } from 'prom-client';
import type { Metrics } from '../metrics.ts';
import { forwardingBus, type Bus, type SubscribeOptions, type Subscription } from './bus.ts';

/**
 * Consumer lag — messages a group has yet to read — as the Prometheus gauge
 * `livepulse_bus_consumer_lag_messages{group,topic,partition}`, computed at scrape time from the
 * bus's committed and end offsets for every group this process consumes with. Every member of a
 * group reports the same figures (offsets are the group's), so boards take `max by (group, …)`.
 * Scaling on lag (KEDA) reads Kafka directly; this is for boards and alerts.
 */

/** Lag per partition; a partition the group never committed counts from the start, or is 0 for a group that starts at the end. */
export function partitionLag(
  committed: readonly number[],
  end: readonly number[],
  startFrom: SubscribeOptions['startFrom'] = 'earliest',
): number[] {
  return end.map((last, partition) => {
    const next = committed[partition] ?? -1;
    if (next < 0) return startFrom === 'latest' ? 0 : last;
    return Math.max(0, last - next);
  });
}

interface TrackedGroup {
  groupId: string;
  topics: string[];
  startFrom: SubscribeOptions['startFrom'];
  members: number;
}

/**
 * Wraps a bus so that every subscription made through it is tracked for the lag gauge; the
 * returned bus is otherwise the same. A group is reported while at least one subscription to it
 * is running in this process.
 */
export function withConsumerLagMetric(bus: Bus, metrics: Metrics): Bus {
  const groups = new Map<string, TrackedGroup>();
  const gaugeName = 'livepulse_bus_consumer_lag_messages';
  if (!metrics.registry.getSingleMetric(gaugeName)) {
    new Gauge({
      name: gaugeName,
      help: 'Messages a consumer group has yet to read, per topic and partition (end offset minus committed offset)',
      labelNames: ['group', 'topic', 'partition'],
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const group of groups.values()) {
          for (const topic of group.topics) {
            // A scrape must not fail because the bus is briefly unreachable; that shows in /readyz.
            const offsets = await Promise.all([
              bus.committedOffsets(group.groupId, topic),
              bus.endOffsets(topic),
            ]).catch(() => null);
            if (!offsets) continue;
            partitionLag(offsets[0], offsets[1], group.startFrom).forEach((lag, partition) =>
              this.set({ group: group.groupId, topic, partition: String(partition) }, lag),
            );
          }
        }
      },
    });
  }
  const track = (options: SubscribeOptions, subscription: Subscription): Subscription => {
    const key = `${options.groupId}\u0000${[...options.topics].sort().join(',')}`;
    const tracked = groups.get(key) ?? {
      groupId: options.groupId,
      topics: [...options.topics],
      startFrom: options.startFrom,
      members: 0,
    };
    tracked.members += 1;
    groups.set(key, tracked);
    let stopped = false;
    // Every method is listed, not spread: a spread of a class instance drops its prototype methods.
    return {
      ready: () => subscription.ready(),
      assignedPartitions: () => subscription.assignedPartitions(),
      commit: (topic, partition, nextOffset) => subscription.commit(topic, partition, nextOffset),
      readAgain: (topic, partition) => subscription.readAgain(topic, partition),
      async stop() {
        if (!stopped) {
          stopped = true;
          tracked.members -= 1;
          if (tracked.members === 0) groups.delete(key);
        }
        await subscription.stop();
      },
    };
  };
  return forwardingBus(bus, { subscribe: async (options) => track(options, await bus.subscribe(options)) });
}
