import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import { BusUnavailableError, type Bus, type DeliveredMessage } from './bus.ts';
import { KafkaBus, type KafkaBusOptions } from './kafka-bus.ts';
import { partitionForKey } from './partitioner.ts';
import { PlatformaticKafkaBus } from './platformatic-kafka-bus.ts';

/** What both adapters share on one cluster: the contract runs each alone (bus.int.test.ts); these run them together. */
const opened: Bus[] = [];
const options = (): KafkaBusOptions => ({
  brokers: [testServices().kafkaBrokers],
  clientId: 'mixed-clients',
  topicPrefix: 'test-mixed.',
  defaultPartitions: 7,
  replicationFactor: 1,
  publish: { lingerMs: 5, maxBatchMessages: 500, maxBufferedMessages: 20_000 },
  producers: 3,
});
const kafkajs = () => opened[opened.push(new KafkaBus(options())) - 1]!;
const platformatic = () => opened[opened.push(new PlatformaticKafkaBus(options())) - 1]!;
afterEach(async () => {
  await Promise.all(opened.splice(0).map((bus) => bus.close()));
});

async function freshTopic(bus: Bus, partitions: number): Promise<string> {
  const topic = `mixed.${randomUUID().slice(0, 8)}`;
  await bus.ensureTopics([{ name: topic, partitions }]);
  return topic;
}

describe('kafka bus on @platformatic/kafka beside kafkajs', () => {
  it('places 3,000 keys over 7 partitions exactly where kafkajs and the embedded log do', async () => {
    const bus = platformatic();
    const topic = await freshTopic(bus, 7);
    const keys = Array.from({ length: 3_000 }, (_, i) => `view-${randomUUID()}-${i}`);
    await bus.publish(
      topic,
      keys.map((key) => ({ key, value: Buffer.from(key) })),
    );
    const misplaced: string[] = [];
    for (let partition = 0; partition < 7; partition++) {
      await bus.readPartition(topic, partition, (messages) => {
        for (const m of messages) if (partitionForKey(m.key!, 7) !== partition) misplaced.push(m.key!);
      });
    }
    expect(misplaced).toEqual([]);
    expect((await bus.endOffsets(topic)).reduce((a, b) => a + b, 0)).toBe(keys.length);
  });

  it('switches clients under one group: each reads on from where the other committed', async () => {
    const [before, after] = [kafkajs(), platformatic()];
    const topic = await freshTopic(before, 7);
    const groupId = `g-${randomUUID()}`;
    const round = (name: string) =>
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`${name}${i}`) }));
    for (const [reader, writer, name] of [
      [before, after, 'a'],
      [after, before, 'b'],
      [before, after, 'c'],
    ] as const) {
      await writer.publish(topic, round(name));
      const received: DeliveredMessage[] = [];
      const subscription = await reader.subscribe({
        groupId,
        topics: [topic],
        handleBatch: (batch) => {
          received.push(...batch.messages);
          return Promise.resolve();
        },
      });
      await waitFor(`round ${name}`, () => received.length >= 50);
      await waitFor(`round ${name} committed`, async () => {
        const [committed, end] = await Promise.all([reader.committedOffsets(groupId, topic), reader.endOffsets(topic)]);
        return end.every((e, p) => committed[p] === e);
      });
      await subscription.stop();
      expect(received.map((m) => m.value.toString()).sort()).toEqual(
        round(name)
          .map((m) => m.value.toString())
          .sort(),
      );
    }
  });

  it('shares one group between a kafkajs member and a platformatic member', async () => {
    const [one, two] = [kafkajs(), platformatic()];
    const topic = await freshTopic(one, 4);
    const groupId = `g-${randomUUID()}`;
    const received: Array<{ member: string; message: DeliveredMessage }> = [];
    const member = (bus: Bus, name: string) =>
      bus.subscribe({
        groupId,
        topics: [topic],
        handleBatch: (batch) => {
          received.push(...batch.messages.map((message) => ({ member: name, message })));
          return Promise.resolve();
        },
      });
    const a = await member(one, 'kafkajs');
    const b = await member(two, 'platformatic');
    await waitFor(
      'a settled assignment over both members',
      () => {
        const owned = [...(a.assignedPartitions()[topic] ?? []), ...(b.assignedPartitions()[topic] ?? [])];
        return (
          (a.assignedPartitions()[topic] ?? []).length > 0 &&
          (b.assignedPartitions()[topic] ?? []).length > 0 &&
          owned.sort().join() === '0,1,2,3'
        );
      },
      { timeoutMs: 60_000 },
    );
    await one.publish(
      topic,
      Array.from({ length: 200 }, (_, i) => ({ key: `key-${i % 40}`, value: Buffer.from(`v${i}`) })),
    );
    await waitFor('all 200 across both members', () => received.length >= 200, { timeoutMs: 60_000 });
    const partitionsOf = (name: string) =>
      new Set(received.filter((r) => r.member === name).map((r) => r.message.partition));
    expect(partitionsOf('kafkajs').size).toBeGreaterThan(0);
    expect(partitionsOf('platformatic').size).toBeGreaterThan(0);
    expect([...partitionsOf('kafkajs')].some((p) => partitionsOf('platformatic').has(p))).toBe(false);
    await Promise.all([a.stop(), b.stop()]);
  }, 120_000);

  for (const [client, open] of [
    ['kafkajs', kafkajs],
    ['platformatic', platformatic],
  ] as const) {
    it(`${client}: a group whose committed position retention deleted reads on from the log's start`, async () => {
      const bus = open();
      const topic = await freshTopic(bus, 1);
      const groupId = `g-${randomUUID()}`;
      await bus.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: 'one-key', value: Buffer.from(`m${i}`) })),
      );
      const first: string[] = [];
      const reader = await bus.subscribe({
        groupId,
        topics: [topic],
        commit: 'manual',
        handleBatch: (batch) => {
          first.push(...batch.messages.map((m) => m.value.toString()));
          return Promise.resolve();
        },
      });
      await waitFor('all 10', () => first.length >= 10);
      expect(await reader.commit(topic, 0, '2')).toBe(true);
      await reader.stop();

      const admin = new Kafka({
        brokers: [testServices().kafkaBrokers],
        clientId: 'delete-records',
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        const physical = `${options().topicPrefix}${topic}`;
        await admin.fetchTopicMetadata({ topics: [physical] });
        await admin.deleteTopicRecords({ topic: physical, partitions: [{ partition: 0, offset: '6' }] });
      } finally {
        await admin.disconnect();
      }
      const after: string[] = [];
      const resumed = await bus.subscribe({
        groupId,
        topics: [topic],
        handleBatch: (batch) => {
          after.push(...batch.messages.map((m) => m.value.toString()));
          return Promise.resolve();
        },
      });
      await waitFor('m6 to m9 from the log start', () => after.length >= 4, { timeoutMs: 60_000 });
      await resumed.stop();
      expect(after).toEqual(['m6', 'm7', 'm8', 'm9']);
    }, 120_000);
  }

  for (const [client, Adapter] of [
    ['kafkajs', KafkaBus],
    ['platformatic', PlatformaticKafkaBus],
  ] as const) {
    it(`${client}: a cluster nobody answers for fails publish, subscribe and ping with BusUnavailableError`, async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      await new Promise((resolve) => server.close(resolve));
      const bus = new Adapter({ ...options(), brokers: [`127.0.0.1:${port}`], publishTimeoutMs: 2_000 });
      opened.push(bus);
      await expect(bus.publish('anything', [{ key: 'k', value: Buffer.from('v') }])).rejects.toBeInstanceOf(
        BusUnavailableError,
      );
      await expect(
        bus.subscribe({ groupId: `g-${randomUUID()}`, topics: ['anything'], handleBatch: () => Promise.resolve() }),
      ).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(bus.ping()).rejects.toBeInstanceOf(BusUnavailableError);
    }, 180_000);
  }
});
