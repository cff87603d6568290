import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { publishDeadLetters } from '../../core/dead-letters.ts';
import { Metrics } from '../../core/metrics.ts';
import { allTopicSpecs, TOPICS } from '../../core/topics.ts';
import { createThrowawayAnalyticsStore, dropThrowawayAnalyticsStore } from '../../test/throwaway-analytics-store.ts';
import { waitFor } from '../../test/wait-for.ts';
import { ClickHouseSink } from './clickhouse-sink.ts';

/** Dead letters land in `dead_letters` once each, even when the sink restarts and reads them again. */
describe('ClickHouse sink: dead letters', () => {
  let store: AnalyticsStore;
  let bus: EmbeddedBus;

  beforeAll(async () => {
    store = await createThrowawayAnalyticsStore('dl');
    bus = new EmbeddedBus({
      defaultPartitions: 2,
      maxRetainedMessages: 10_000,
      publish: { lingerMs: 2, maxBatchMessages: 100, maxBufferedMessages: 10_000 },
    });
    await bus.ensureTopics(allTopicSpecs(2));
  });

  afterAll(async () => {
    await bus?.close();
    await dropThrowawayAnalyticsStore(store);
  });

  const count = async () => {
    const result = await store.client.query({
      query: 'SELECT topic, key, reason, payload FROM dead_letters ORDER BY key',
      format: 'JSONEachRow',
    });
    return result.json<{ topic: string; key: string; reason: string; payload: string }>();
  };

  it('writes each letter with its source and reason, and a replayed batch adds nothing', async () => {
    const logger = pino({ level: 'silent' });
    await publishDeadLetters(bus, [
      {
        sourceTopic: TOPICS.playerEvents,
        payload: Buffer.from('{"event":"nope"}'),
        reason: 'invalid player event',
        errors: [{ path: '/event', message: 'unknown event' }],
        origin: 'POST /v1/events',
      },
      {
        sourceTopic: TOPICS.chatMessages,
        payload: Buffer.from('not json'),
        reason: 'malformed JSON',
        origin: 'chat.messages/0/5',
      },
    ]);
    const sink = new ClickHouseSink(
      { bus, analytics: store, metrics: new Metrics(), logger },
      { consume: ['dead-letters'] },
    );
    await sink.start();
    await waitFor('both letters in dead_letters', async () => (await count()).length === 2, { timeoutMs: 30_000 });
    await sink.stop();

    // The same batch again, as after a crash before the commit: the insert token drops it.
    const groups = { aggregates: 'unused-a', rawEvents: 'unused-r', deadLetters: `replay-${randomUUID()}` };
    const replay = new ClickHouseSink(
      { bus, analytics: store, metrics: new Metrics(), logger },
      { consume: ['dead-letters'], groups },
    );
    await replay.start();
    await waitFor(
      'the replay to be consumed',
      async () =>
        (await bus.committedOffsets(groups.deadLetters, TOPICS.deadLetters)).reduce((a, b) => a + Math.max(0, b), 0) >=
        2,
      { timeoutMs: 30_000 },
    );
    await replay.stop();

    expect(await count()).toEqual([
      {
        topic: TOPICS.playerEvents,
        key: 'POST /v1/events',
        reason: 'invalid player event [{"path":"/event","message":"unknown event"}]',
        payload: '{"event":"nope"}',
      },
      { topic: TOPICS.chatMessages, key: 'chat.messages/0/5', reason: 'malformed JSON', payload: 'not json' },
    ]);
  });
});
