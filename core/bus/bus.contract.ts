import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/wait-for.ts';
import {
  BusBackpressureError,
  PartitionOutOfRangeError,
  tombstoneMessage,
  type Bus,
  type DeliveredMessage,
  type MessageBatch,
  type SubscribeOptions,
  type Subscription,
} from './bus.ts';
import type { LingerTuning } from './lingering-publisher.ts';
import { partitionForKey } from './partitioner.ts';

/**
 * The behaviour every bus adapter must have. Run against the embedded log and a real Kafka
 * broker alike (core/bus/bus.int.test.ts); domain code may rely on exactly this.
 */
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

export interface BusFactoryOptions {
  publish?: Partial<LingerTuning>;
  /** A bus on the same log as the last one this test made (closed by then): Kafka's same cluster, the embedded log's same file. */
  sameLog?: boolean;
}

export function describeBusContract(name: string, createBus: (options: BusFactoryOptions) => Bus): void {
  describe(`bus contract: ${name}`, () => {
    const opened: Bus[] = [];
    const open = (publish?: Partial<LingerTuning>, sameLog = false) => {
      const bus = createBus({ publish, sameLog });
      opened.push(bus);
      return bus;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((b) => b.close()));
    });

    const PARTITIONS = 4;
    async function freshTopic(bus: Bus): Promise<string> {
      const topic = `contract.${randomUUID().slice(0, 8)}`;
      await bus.ensureTopics([{ name: topic, partitions: PARTITIONS }]);
      return topic;
    }
    const message = (key: string, value: string, headers?: Record<string, string>) => ({
      key,
      value: Buffer.from(value),
      headers,
    });

    async function consume(
      bus: Bus,
      options: Omit<SubscribeOptions, 'handleBatch'> & {
        onBatch?: (messages: DeliveredMessage[]) => void | Promise<void>;
      },
    ): Promise<{ received: DeliveredMessage[]; subscription: Subscription }> {
      const received: DeliveredMessage[] = [];
      const subscription = await bus.subscribe({
        ...options,
        handleBatch: async (batch) => {
          await options.onBatch?.(batch.messages);
          received.push(...batch.messages);
        },
      });
      return { received, subscription };
    }

    async function waitUntilCommitted(bus: Bus, groupId: string, topic: string) {
      await waitFor(`group ${groupId} to commit everything on ${topic}`, async () => {
        const [committed, end] = await Promise.all([bus.committedOffsets(groupId, topic), bus.endOffsets(topic)]);
        return end.every((e, p) => e === 0 || committed[p] === e);
      });
    }

    it('keeps per-key order, places keys like Kafka, and round-trips keys, values and headers', async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      const keys = Array.from({ length: 20 }, (_, i) => `view-${i}`);
      // Interleaved concurrent publishes: ordering must hold per key regardless.
      await Promise.all(
        Array.from({ length: 25 }, (_, seq) =>
          bus.publish(
            topic,
            keys.map((k) => message(k, `${k}#${seq}`, { seq: String(seq) })),
          ),
        ),
      );
      const { received } = await consume(bus, { groupId: `g-${randomUUID()}`, topics: [topic] });
      await waitFor('all 500 messages', () => received.length >= 500);

      const byKey = new Map<string, DeliveredMessage[]>();
      for (const m of received) byKey.set(m.key!, [...(byKey.get(m.key!) ?? []), m]);
      for (const key of keys) {
        const values = byKey.get(key)!.map((m) => m.value.toString());
        expect(values).toEqual(Array.from({ length: 25 }, (_, seq) => `${key}#${seq}`));
        expect(new Set(byKey.get(key)!.map((m) => m.partition))).toEqual(new Set([partitionForKey(key, PARTITIONS)]));
        expect(byKey.get(key)![3]!.headers.seq).toBe('3');
      }
      expect(new Set(received.map((m) => m.partition)).size).toBe(PARTITIONS);
      expect(received.every((m) => m.topic === topic && /^\d+$/.test(m.offset) && m.timestamp > 0)).toBe(true);
    });

    it('redelivers a batch whose handler failed, and commits only after success', async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      const groupId = `g-${randomUUID()}`;
      await bus.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => message('one-key', `m${i}`)),
      );
      let failures = 0;
      const attempts: string[] = [];
      const { received } = await consume(bus, {
        groupId,
        topics: [topic],
        onBatch: (messages) => {
          attempts.push(...messages.map((m) => m.value.toString()));
          if (failures === 0) {
            failures++;
            throw new Error('handler failed once');
          }
        },
      });
      await waitFor('all 10 after the retry', () => received.length >= 10);
      expect(received.map((m) => m.value.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
      expect(attempts.filter((v) => v === 'm0')).toHaveLength(2);
      await waitUntilCommitted(bus, groupId, topic);
    });

    it("says with each batch how far its partition's log reached when read, so a consumer can tell a backlog", async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      await bus.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => message('one-key', `m${i}`)),
      );
      const partition = partitionForKey('one-key', PARTITIONS);
      const end = (await bus.endOffsets(topic))[partition]!;
      const batches: MessageBatch[] = [];
      await bus.subscribe({
        groupId: `g-${randomUUID()}`,
        topics: [topic],
        maxBatchMessages: 4,
        handleBatch: (batch) => {
          batches.push(batch);
          return Promise.resolve();
        },
      });
      await waitFor('all 10 messages', () => batches.reduce((n, b) => n + b.messages.length, 0) >= 10);
      expect(batches.length).toBeGreaterThanOrEqual(3);
      // Everything was published before the read: every batch saw the same end, the last one reaching it.
      expect(batches.map((b) => b.endOffset)).toEqual(batches.map(() => String(end)));
      expect(Number(batches.at(-1)!.lastOffset) + 1).toBe(end);
    });

    it('resumes from the committed offset after a consumer restart', async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      const groupId = `g-${randomUUID()}`;
      const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
      await bus.publish(
        topic,
        keys.map((k) => message(k, `first-${k}`)),
      );
      const first = await consume(bus, { groupId, topics: [topic] });
      await waitFor('first round', () => first.received.length >= keys.length);
      await waitUntilCommitted(bus, groupId, topic);
      await first.subscription.stop();

      await bus.publish(
        topic,
        keys.map((k) => message(k, `second-${k}`)),
      );
      const second = await consume(bus, { groupId, topics: [topic] });
      await waitFor('second round', () => second.received.length >= keys.length);
      await waitUntilCommitted(bus, groupId, topic);
      expect(second.received.map((m) => m.value.toString()).sort()).toEqual(keys.map((k) => `second-${k}`).sort());
    });

    it('starts a new group at the end when asked for latest', async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      await bus.publish(topic, [message('k', 'old')]);
      const latest = await consume(bus, { groupId: `g-${randomUUID()}`, topics: [topic], startFrom: 'latest' });
      await latest.subscription.ready();
      await waitFor(
        'assignment',
        () => Object.values(latest.subscription.assignedPartitions()).flat().length === PARTITIONS,
      );
      // Kafka resolves "latest" when the member first fetches; give it a moment to do so.
      await sleep(1_000);
      await bus.publish(topic, [message('k', 'new')]);
      await waitFor('the new message', () => latest.received.length >= 1);
      expect(latest.received.map((m) => m.value.toString())).toEqual(['new']);
    });

    it('shares the partitions of a topic between two members of one group', async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      const groupId = `g-${randomUUID()}`;
      const one = await consume(bus, { groupId, topics: [topic] });
      const two = await consume(bus, { groupId, topics: [topic] });
      await Promise.all([one.subscription.ready(), two.subscription.ready()]);
      await waitFor(
        'a settled assignment over both members',
        () => {
          const a = one.subscription.assignedPartitions()[topic] ?? [];
          const b = two.subscription.assignedPartitions()[topic] ?? [];
          return a.length > 0 && b.length > 0 && [...a, ...b].sort().join() === '0,1,2,3';
        },
        { timeoutMs: 45_000 },
      );

      const values = Array.from({ length: 200 }, (_, i) => `v${i}`);
      await bus.publish(
        topic,
        values.map((v, i) => message(`key-${i % 40}`, v)),
      );
      await waitFor('all 200 across both members', () => one.received.length + two.received.length >= 200, {
        timeoutMs: 45_000,
      });
      const all = [...one.received, ...two.received].map((m) => m.value.toString());
      expect(all.sort()).toEqual([...values].sort());
      const partitionsOne = new Set(one.received.map((m) => m.partition));
      const partitionsTwo = new Set(two.received.map((m) => m.partition));
      expect([...partitionsOne].some((p) => partitionsTwo.has(p))).toBe(false);
      expect(one.received.length).toBeGreaterThan(0);
      expect(two.received.length).toBeGreaterThan(0);
    });

    it('in manual commit mode reads on without committing, and a failed batch reads again from the last commit', async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      const groupId = `g-${randomUUID()}`;
      await bus.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => message('one-key', `m${i}`)),
      );
      const partition = partitionForKey('one-key', PARTITIONS);
      let failNext: string | null = null;
      const { received, subscription } = await consume(bus, {
        groupId,
        topics: [topic],
        commit: 'manual',
        maxBatchMessages: 3,
        onBatch: (messages) => {
          if (failNext !== null && messages.some((m) => m.value.toString() === failNext)) {
            failNext = null;
            throw new Error('handler failed once');
          }
        },
      });
      await waitFor('all 10', () => received.length >= 10);
      // Nothing read is committed (the embedded log records its start, 0; Kafka has none, -1).
      expect((await bus.committedOffsets(groupId, topic))[partition]).toBeLessThanOrEqual(0);

      expect(await subscription.commit(topic, partition, '4')).toBe(true);
      expect((await bus.committedOffsets(groupId, topic))[partition]).toBe(4);
      failNext = 'm10';
      await bus.publish(
        topic,
        Array.from({ length: 3 }, (_, i) => message('one-key', `m${10 + i}`)),
      );
      await waitFor('m4 to m12 again after the failure', () => received.length >= 10 + 9);
      expect(received.slice(10).map((m) => m.value.toString())).toEqual(
        Array.from({ length: 9 }, (_, i) => `m${4 + i}`),
      );
      expect(await subscription.commit(topic, partition, '13')).toBe(true);
      await waitUntilCommitted(bus, groupId, topic);
    });

    it('in manual commit mode reads a caught-up partition again from its last commit when asked, with no new message', async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      const groupId = `g-${randomUUID()}`;
      const partition = partitionForKey('one-key', PARTITIONS);
      await bus.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => message('one-key', `m${i}`)),
      );
      const { received, subscription } = await consume(bus, {
        groupId,
        topics: [topic],
        commit: 'manual',
        maxBatchMessages: 4,
      });
      await waitFor('all 10', () => received.length >= 10);
      expect(await subscription.commit(topic, partition, '6')).toBe(true);
      subscription.readAgain(topic, partition);
      await waitFor('m6 to m9 again', () => received.length >= 14);
      expect(received.slice(10).map((m) => m.value.toString())).toEqual(['m6', 'm7', 'm8', 'm9']);
      // A partition with nothing delivered has nothing to read again.
      subscription.readAgain(topic, (partition + 1) % PARTITIONS);
      await sleep(300);
      expect(received).toHaveLength(14);
    });

    it('in manual commit mode starts a new member from the last commit, and refuses a commit after stop', async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      const groupId = `g-${randomUUID()}`;
      const partition = partitionForKey('one-key', PARTITIONS);
      await bus.publish(
        topic,
        Array.from({ length: 6 }, (_, i) => message('one-key', `m${i}`)),
      );
      const first = await consume(bus, { groupId, topics: [topic], commit: 'manual' });
      await waitFor('the first member to read all 6', () => first.received.length >= 6);
      expect(await first.subscription.commit(topic, partition, '2')).toBe(true);
      await first.subscription.stop();
      expect(await first.subscription.commit(topic, partition, '6')).toBe(false);
      expect((await bus.committedOffsets(groupId, topic))[partition]).toBe(2);

      const second = await consume(bus, { groupId, topics: [topic], commit: 'manual' });
      await waitFor('the second member to read from the commit', () => second.received.length >= 4);
      expect(second.received.map((m) => m.value.toString())).toEqual(['m2', 'm3', 'm4', 'm5']);
    });

    it('keeps acknowledged records, committed offsets and the log id when the bus is closed and opened again on the same log', async () => {
      const first = open();
      const topic = await freshTopic(first);
      const groupId = `g-${randomUUID()}`;
      const partition = partitionForKey('one-key', PARTITIONS);
      await first.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => message('one-key', `m${i}`, { seq: String(i) })),
      );
      const reader = await consume(first, { groupId, topics: [topic], commit: 'manual' });
      await waitFor('all 10', () => reader.received.length >= 10);
      expect(await reader.subscription.commit(topic, partition, '6')).toBe(true);
      const logId = await first.logId(topic);
      await first.close();

      const second = open(undefined, true);
      expect(await second.logId(topic)).toBe(logId);
      expect((await second.endOffsets(topic))[partition]).toBe(10);
      expect((await second.committedOffsets(groupId, topic))[partition]).toBe(6);
      const resumed = await consume(second, { groupId, topics: [topic] });
      await waitFor('m6 to m9 from the commit', () => resumed.received.length >= 4);
      expect(resumed.received.map((m) => [m.offset, m.value.toString(), m.headers.seq])).toEqual(
        [6, 7, 8, 9].map((i) => [String(i), `m${i}`, String(i)]),
      );
      // Offsets go on from where the log was, never from 0 again.
      await second.publish(topic, [message('one-key', 'm10')]);
      await waitFor('m10', () => resumed.received.length >= 5);
      expect(resumed.received.at(-1)!.offset).toBe('10');
    });

    it("names each topic's log with an id of its own that stays the same", async () => {
      const bus = open();
      const one = await freshTopic(bus);
      const two = await freshTopic(bus);
      const id = await bus.logId(one);
      expect(id).toMatch(/\S{8,}/);
      expect(await bus.logId(two)).not.toBe(id);
      expect(await bus.logId(one)).toBe(id);
    });

    /** Every record of one partition, as `readPartition` gives them. */
    async function readWhole(bus: Bus, topic: string, partition: number): Promise<DeliveredMessage[]> {
      const read: DeliveredMessage[] = [];
      await bus.readPartition(topic, partition, (messages) => void read.push(...messages));
      return read;
    }

    /** The last record per key, tombstones deleting: what a changelog's reader restores. */
    function latestPerKey(messages: DeliveredMessage[]): Record<string, string> {
      const latest = new Map<string, string | null>();
      for (const m of messages) latest.set(m.key!, m.tombstone ? null : m.value.toString());
      return Object.fromEntries([...latest].filter((entry): entry is [string, string] => entry[1] !== null));
    }

    it('appends a message to the partition it names, whatever its key, and refuses a partition the topic lacks', async () => {
      const bus = open();
      const topic = await freshTopic(bus);
      const keys = Array.from({ length: 12 }, (_, i) => `entity-${i}`);
      await bus.publish(
        topic,
        keys.map((key) => ({ ...message(key, key), partition: 2 })),
      );
      expect((await readWhole(bus, topic, 2)).map((m) => [m.partition, m.key, m.value.toString()])).toEqual(
        keys.map((key) => [2, key, key]),
      );
      expect((await bus.endOffsets(topic)).filter((_, p) => p !== 2)).toEqual([0, 0, 0]);
      const wrong = bus.publish(topic, [{ ...message('k', 'v'), partition: PARTITIONS }]);
      await expect(wrong).rejects.toBeInstanceOf(PartitionOutOfRangeError);
      await expect(wrong).rejects.toThrow(
        `topic ${topic} has ${PARTITIONS} partitions; a message names partition ${PARTITIONS}`,
      );
    });

    it('reads one partition of a compacted topic up to its end at the call: the last record per key wins and a tombstone deletes its key', async () => {
      const bus = open();
      const topic = `contract.compacted.${randomUUID().slice(0, 8)}`;
      await bus.ensureTopics([{ name: topic, partitions: PARTITIONS, compacted: true }]);
      expect(await readWhole(bus, topic, 1)).toEqual([]);
      await bus.publish(
        topic,
        ['a', 'b', 'c', 'd'].map((key) => ({ ...message(key, `${key}1`), partition: 1 })),
      );
      await bus.publish(topic, [
        { ...message('b', 'b2'), partition: 1 },
        tombstoneMessage('c', 1),
        { ...message('a', 'a2', { h: 'x' }), partition: 1 },
      ]);
      // Another partition's records are another partition's.
      await bus.publish(topic, [{ ...message('a', 'elsewhere'), partition: 3 }]);
      const read = await readWhole(bus, topic, 1);
      expect(read.every((m) => m.topic === topic && m.partition === 1)).toBe(true);
      expect(read.map((m) => Number(m.offset))).toEqual([...read.map((m) => Number(m.offset))].sort((x, y) => x - y));
      expect(latestPerKey(read)).toEqual({ a: 'a2', b: 'b2', d: 'd1' });
      expect(read.find((m) => m.value.toString() === 'a2')!.headers.h).toBe('x');
      expect(latestPerKey(await readWhole(bus, topic, 3))).toEqual({ a: 'elsewhere' });

      // What is appended while a read runs is left to the next one.
      const during: DeliveredMessage[] = [];
      await bus.readPartition(topic, 1, async (messages) => {
        during.push(...messages);
        await bus.publish(topic, [{ ...message('e', 'e1'), partition: 1 }]);
      });
      expect(latestPerKey(during)).toEqual({ a: 'a2', b: 'b2', d: 'd1' });
      expect(latestPerKey(await readWhole(bus, topic, 1))).toEqual({ a: 'a2', b: 'b2', d: 'd1', e: 'e1' });
      await expect(bus.readPartition(topic, PARTITIONS, () => undefined)).rejects.toBeInstanceOf(
        PartitionOutOfRangeError,
      );
    });

    it('lands one large publish to a partition of a compacted topic whole, past the batch and byte limits', async () => {
      const bus = open({ maxBatchMessages: 50, maxBufferedMessages: 5_000 });
      const topic = `contract.compacted.${randomUUID().slice(0, 8)}`;
      await bus.ensureTopics([{ name: topic, partitions: PARTITIONS, compacted: true }]);
      // 3,000 records of 1 KiB: three times Kafka's default record batch limit.
      const values = Array.from({ length: 3_000 }, (_, i) => `${i}:`.padEnd(1024, 'x'));
      await bus.publish(
        topic,
        values.map((value, i) => ({ ...message(`entity-${i}`, value), partition: 0 })),
      );
      const read = await readWhole(bus, topic, 0);
      expect(read.map((m) => m.value.toString())).toEqual(values);
    });

    it('refuses a publish beyond its in-flight buffer instead of growing without bound', async () => {
      const bus = open({ maxBufferedMessages: 10 });
      const topic = await freshTopic(bus);
      // Six in flight (not acknowledged before the next call returns): five more would pass the bound.
      const inFlight = bus.publish(
        topic,
        Array.from({ length: 6 }, (_, i) => message(`a${i}`, String(i))),
      );
      await expect(
        bus.publish(
          topic,
          Array.from({ length: 5 }, () => message('k', 'x')),
        ),
      ).rejects.toBeInstanceOf(BusBackpressureError);
      // Refused as a whole, also when its keys spread over partitions (and producers): nothing of it is appended.
      await expect(
        bus.publish(
          topic,
          Array.from({ length: 5 }, (_, i) => message(`k${i}`, 'x')),
        ),
      ).rejects.toBeInstanceOf(BusBackpressureError);
      await inFlight;
      expect(sum(await bus.endOffsets(topic))).toBe(6);
      await expect(
        bus.publish(
          topic,
          Array.from({ length: 10 }, (_, i) => message('k', String(i))),
        ),
      ).resolves.toBeUndefined();
    });

    it('lands one publish larger than the whole buffer when nothing else is in flight, whole', async () => {
      // A changelog checkpoint (a header per view at a fold) must land whole; refused for ever, its partition would stall.
      const bus = open({ maxBufferedMessages: 10 });
      const topic = await freshTopic(bus);
      await bus.publish(
        topic,
        Array.from({ length: 25 }, (_, i) => message(`k${i}`, String(i))),
      );
      expect(sum(await bus.endOffsets(topic))).toBe(25);
    });
  });
}
