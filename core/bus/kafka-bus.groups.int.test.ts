import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import type { DeliveredMessage, Subscription } from './bus.ts';
import { KafkaBus, type KafkaBusOptions } from './kafka-bus.ts';
import { PlatformaticKafkaBus } from './platformatic-kafka-bus.ts';

/**
 * Two deployments on one Kafka cluster, told apart by KAFKA_TOPIC_PREFIX, run services with the
 * same group ids (`viewer-analytics`, `clickhouse-sink`, …). Each must consume all of its own
 * topics: a group shared across prefixes lets one deployment's member be assigned the other's
 * partitions, which it never reads (kafkajs: "Consumer group received unsubscribed topics").
 */
const tuning = { lingerMs: 2, maxBatchMessages: 500, maxBufferedMessages: 10_000 };
const open: Array<KafkaBus | PlatformaticKafkaBus> = [];
const subscriptions: Subscription[] = [];
afterAll(async () => {
  await Promise.all(subscriptions.map((s) => s.stop().catch(() => undefined)));
  await Promise.all(open.map((bus) => bus.close()));
});

const clients = [
  { name: 'kafkajs', open: (options: KafkaBusOptions) => new KafkaBus(options) },
  { name: '@platformatic/kafka', open: (options: KafkaBusOptions) => new PlatformaticKafkaBus(options) },
];

for (const client of clients) {
  function deployment(prefix: string): KafkaBus | PlatformaticKafkaBus {
    const bus = client.open({
      brokers: [testServices().kafkaBrokers],
      clientId: `groups-${prefix}`,
      topicPrefix: prefix,
      defaultPartitions: 4,
      replicationFactor: 1,
      publish: tuning,
    });
    open.push(bus);
    return bus;
  }

  describe(`kafka bus on ${client.name}: consumer groups of deployments that share a cluster`, () => {
    it('each deployment reads every message of its own topics with the same group id at the same time', {
      timeout: 180_000,
    }, async () => {
      const run = randomUUID().slice(0, 8);
      const groupId = `shared-service-${run}`;
      const deployments = [deployment(`groups-a-${run}.`), deployment(`groups-b-${run}.`)];
      const received = deployments.map(() => new Set<string>());
      for (const [i, bus] of deployments.entries()) {
        await bus.ensureTopics([{ name: 'events', partitions: 4 }]);
        subscriptions.push(
          await bus.subscribe({
            groupId,
            topics: ['events'],
            handleBatch: ({ messages }: { messages: DeliveredMessage[] }) => {
              for (const m of messages) received[i]!.add(m.value.toString());
              return Promise.resolve();
            },
          }),
        );
      }
      await Promise.all(subscriptions.map((s) => s.ready()));
      for (const [i, bus] of deployments.entries()) {
        await bus.publish(
          'events',
          Array.from({ length: 200 }, (_, n) => ({ key: `key-${n}`, value: Buffer.from(`${i}:${n}`) })),
        );
      }
      await waitFor('both deployments to read all of their messages', () => received.every((set) => set.size === 200), {
        timeoutMs: 60_000,
      });
      for (const [i, set] of received.entries())
        expect([...set].every((value) => value.startsWith(`${i}:`))).toBe(true);
      // The group's commits are the deployment's own: each sees its own topic's offsets.
      for (const bus of deployments) {
        await waitFor(
          'the commits',
          async () => (await bus.committedOffsets(groupId, 'events')).reduce((n, o) => n + Math.max(0, o), 0) === 200,
          { timeoutMs: 30_000 },
        );
      }
    });

    it('takes over the commits a deployment made under the unprefixed group id before upgrading', {
      timeout: 180_000,
    }, async () => {
      const run = randomUUID().slice(0, 8);
      const prefix = `groups-up-${run}.`;
      const groupId = `upgraded-service-${run}`;
      const bus = deployment(prefix);
      await bus.ensureTopics([{ name: 'events', partitions: 2 }]);
      await bus.publish(
        'events',
        Array.from({ length: 40 }, (_, n) => ({ key: `key-${n}`, value: Buffer.from(`old-${n}`), partition: n % 2 })),
      );
      // What the previous version committed: the group id without the prefix, on the prefixed topic.
      const admin = new Kafka({
        brokers: [testServices().kafkaBrokers],
        clientId: 'groups-admin',
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        await admin.setOffsets({
          groupId,
          topic: `${prefix}events`,
          partitions: [
            { partition: 0, offset: '20' },
            { partition: 1, offset: '20' },
          ],
        });
      } finally {
        await admin.disconnect();
      }
      await bus.publish(
        'events',
        Array.from({ length: 10 }, (_, n) => ({ key: `key-${n}`, value: Buffer.from(`new-${n}`), partition: n % 2 })),
      );
      const received: string[] = [];
      subscriptions.push(
        await bus.subscribe({
          groupId,
          topics: ['events'],
          handleBatch: ({ messages }: { messages: DeliveredMessage[] }) => {
            for (const m of messages) received.push(m.value.toString());
            return Promise.resolve();
          },
        }),
      );
      await waitFor('the messages after the old commits', () => received.length >= 10, { timeoutMs: 60_000 });
      expect(received.sort()).toEqual(Array.from({ length: 10 }, (_, n) => `new-${n}`).sort());
      expect(await bus.committedOffsets(groupId, 'events')).toEqual([25, 25]);
    });
  });
}
