import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/wait-for.ts';
import { DEAD_LETTER_HEADERS } from '../dead-letters.ts';
import { Metrics } from '../metrics.ts';
import { TOPICS } from '../topics.ts';
import type { Bus, DeliveredMessage, MessageBatch } from './bus.ts';
import { withQuarantine, type QuarantinePolicy } from './quarantine.ts';

/**
 * What the quarantine promises on every adapter (run on the embedded log in quarantine.test.ts and
 * on Kafka in quarantine.int.test.ts). The handler under test behaves like a sink: it writes a
 * batch whole or not at all, and writes a batch it has written before (same first/last offsets)
 * no second time, as ClickHouse's insert tokens do.
 */
const POLICY: QuarantinePolicy = { attempts: 3, firstBackoffMs: 10, maxBackoffMs: 50 };

class TokenSink {
  readonly writes = new Map<string, number>();
  private readonly tokens = new Set<string>();
  readonly attemptsOn = new Map<string, number>();

  constructor(private readonly refuse: (message: DeliveredMessage) => Error | null) {}

  write(batch: MessageBatch): Promise<void> {
    for (const m of batch.messages) this.attemptsOn.set(m.offset, (this.attemptsOn.get(m.offset) ?? 0) + 1);
    for (const m of batch.messages) {
      const refusal = this.refuse(m);
      if (refusal) return Promise.reject(refusal);
    }
    const token = `${batch.partition}-${batch.firstOffset}-${batch.lastOffset}`;
    if (this.tokens.has(token)) return Promise.resolve();
    this.tokens.add(token);
    for (const m of batch.messages) this.writes.set(m.value.toString(), (this.writes.get(m.value.toString()) ?? 0) + 1);
    return Promise.resolve();
  }
}

export function describeQuarantine(name: string, createBus: () => Bus): void {
  describe(`quarantine: ${name}`, () => {
    const opened: Bus[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((b) => b.close()));
    });

    async function setUp() {
      const inner = createBus();
      const metrics = new Metrics();
      const bus = withQuarantine(inner, { metrics, logger: pino({ level: 'silent' }), policy: POLICY });
      opened.push(bus);
      const topic = `quarantine.${randomUUID().slice(0, 8)}`;
      await bus.ensureTopics([
        { name: topic, partitions: 1 },
        { name: TOPICS.deadLetters, partitions: 1 },
      ]);
      const letters: DeliveredMessage[] = [];
      await bus.subscribe({
        groupId: `letters-${randomUUID().slice(0, 8)}`,
        topics: [TOPICS.deadLetters],
        handleBatch: (batch) => {
          letters.push(...batch.messages.filter((m) => m.headers[DEAD_LETTER_HEADERS.sourceTopic] === topic));
          return Promise.resolve();
        },
      });
      const publish = (values: string[]) =>
        bus.publish(
          topic,
          values.map((value) => ({ key: 'k', value: Buffer.from(value), headers: { 'x-trace': value } })),
        );
      const caughtUp = async (groupId: string) => {
        const [committed, end] = await Promise.all([bus.committedOffsets(groupId, topic), bus.endOffsets(topic)]);
        return end[0]! > 0 && committed[0] === end[0];
      };
      return { bus, metrics, topic, letters, publish, caughtUp };
    }

    it('quarantines the one message that fails, with its bytes and why, and every other message of its batch lands once', async () => {
      const { bus, metrics, topic, letters, publish, caughtUp } = await setUp();
      const values = Array.from({ length: 40 }, (_, i) => `m${i}`);
      await publish(values);
      const sink = new TokenSink((m) =>
        m.value.toString() === 'm17'
          ? Object.assign(new Error('Cannot parse escape sequence: missing second part of surrogate pair'), {
              type: 'CANNOT_PARSE_ESCAPE_SEQUENCE',
            })
          : null,
      );
      const groupId = `sink-${randomUUID().slice(0, 8)}`;
      await bus.subscribe({
        groupId,
        topics: [topic],
        maxBatchMessages: 100,
        handleBatch: (batch) => sink.write(batch),
      });
      // Messages after the bad one, published once it is being retried: the partition goes on.
      await waitFor('the bad message to be tried', () => (sink.attemptsOn.get('17') ?? 0) > 0, { timeoutMs: 60_000 });
      await publish(['after-1', 'after-2']);
      await waitFor('the group to commit past everything', () => caughtUp(groupId), {
        timeoutMs: 120_000,
        intervalMs: 100,
      });
      await waitFor('the dead letter', () => letters.length === 1, { timeoutMs: 60_000 });

      const good = [...values.filter((v) => v !== 'm17'), 'after-1', 'after-2'];
      expect(Object.fromEntries(sink.writes)).toEqual(Object.fromEntries(good.map((v) => [v, 1])));
      const [letter] = letters;
      expect(letter!.value.toString()).toBe('m17');
      expect(letter!.headers).toMatchObject({
        [DEAD_LETTER_HEADERS.sourceTopic]: topic,
        [DEAD_LETTER_HEADERS.consumerGroup]: groupId,
        [DEAD_LETTER_HEADERS.sourcePartition]: '0',
        [DEAD_LETTER_HEADERS.sourceOffset]: '17',
        [DEAD_LETTER_HEADERS.sourceKey]: 'k',
        [DEAD_LETTER_HEADERS.attempts]: String(POLICY.attempts),
        [`${DEAD_LETTER_HEADERS.sourceHeaderPrefix}x-trace`]: 'm17',
        [DEAD_LETTER_HEADERS.origin]: `${topic}/0/17`,
        [DEAD_LETTER_HEADERS.reason]: expect.stringMatching(
          new RegExp(`^quarantined by ${groupId} after 3 attempts: Error: Cannot parse escape sequence`),
        ) as unknown,
      });
      // Tried as part of the first batch, then of each half holding it, then alone.
      expect(sink.attemptsOn.get('17')).toBeGreaterThanOrEqual(2 * POLICY.attempts);
      const counted = await metrics.registry.getSingleMetricAsString('livepulse_bus_quarantined_messages_total');
      expect(counted).toContain(`livepulse_bus_quarantined_messages_total{group="${groupId}",topic="${topic}"} 1`);
    });

    it('leaves a dead letter it cannot handle where it is, on dead-letters, instead of writing a letter about it', async () => {
      const { bus, metrics } = await setUp();
      const groupId = `letters-sink-${randomUUID().slice(0, 8)}`;
      const marker = randomUUID();
      const before = (await bus.endOffsets(TOPICS.deadLetters))[0]!;
      await bus.publish(
        TOPICS.deadLetters,
        ['bad', 'good'].map((value) => ({ key: 'some.topic', value: Buffer.from(`${marker}:${value}`) })),
      );
      const sink = new TokenSink((m) => (m.value.toString().endsWith(':bad') ? new Error('Cannot parse input') : null));
      await bus.subscribe({ groupId, topics: [TOPICS.deadLetters], handleBatch: (batch) => sink.write(batch) });
      await waitFor(
        'the group to commit past both letters',
        async () => (await bus.committedOffsets(groupId, TOPICS.deadLetters))[0] === before + 2,
        { timeoutMs: 120_000, intervalMs: 100 },
      );
      expect(sink.writes.get(`${marker}:good`)).toBe(1);
      expect(sink.writes.has(`${marker}:bad`)).toBe(false);
      expect((await bus.endOffsets(TOPICS.deadLetters))[0]).toBe(before + 2);
      const counted = await metrics.registry.getSingleMetricAsString('livepulse_bus_quarantined_messages_total');
      expect(counted).toContain(
        `livepulse_bus_quarantined_messages_total{group="${groupId}",topic="${TOPICS.deadLetters}"} 1`,
      );
    });

    it('waits out a dependency that is away, however long, and quarantines nothing', async () => {
      const { bus, topic, letters, publish, caughtUp } = await setUp();
      let away = true;
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
      const sink = new TokenSink(() => (away ? refused : null));
      const groupId = `sink-${randomUUID().slice(0, 8)}`;
      await publish(['a', 'b', 'c']);
      await bus.subscribe({ groupId, topics: [topic], handleBatch: (batch) => sink.write(batch) });
      // Many more failed tries than the policy allows a deterministic failure.
      await waitFor('tries while the dependency is away', () => (sink.attemptsOn.get('0') ?? 0) > POLICY.attempts + 2, {
        timeoutMs: 120_000,
      });
      away = false;
      await waitFor('the group to commit past everything', () => caughtUp(groupId), {
        timeoutMs: 120_000,
        intervalMs: 100,
      });
      expect(Object.fromEntries(sink.writes)).toEqual({ a: 1, b: 1, c: 1 });
      expect(letters).toEqual([]);
    });

    it('asks the dependency check when the error says nothing: a failing check means wait, not quarantine', async () => {
      const { bus, topic, letters, publish, caughtUp } = await setUp();
      let away = true;
      // What a driver might say with the server gone, without a code to go by.
      const sink = new TokenSink(() => (away ? new Error('insert failed') : null));
      const groupId = `sink-${randomUUID().slice(0, 8)}`;
      await publish(['a', 'b']);
      await bus.subscribe({
        groupId,
        topics: [topic],
        handleBatch: (batch) => sink.write(batch),
        dependencyCheck: () => (away ? Promise.reject(new Error('the store does not answer')) : Promise.resolve()),
      });
      await waitFor('tries while the dependency is away', () => (sink.attemptsOn.get('0') ?? 0) > POLICY.attempts + 2, {
        timeoutMs: 120_000,
      });
      away = false;
      await waitFor('the group to commit past everything', () => caughtUp(groupId), {
        timeoutMs: 120_000,
        intervalMs: 100,
      });
      expect(Object.fromEntries(sink.writes)).toEqual({ a: 1, b: 1 });
      expect(letters).toEqual([]);
    });
  });
}
