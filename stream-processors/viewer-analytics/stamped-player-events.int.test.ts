import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import type { DeliveredMessage, OutgoingMessage } from '../../core/bus/bus.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { DEAD_LETTER_HEADERS } from '../../core/dead-letters.ts';
import { Metrics } from '../../core/metrics.ts';
import {
  PLAYER_EVENT_SCHEMA_HEADER,
  playerEventMessage,
  VALIDATED_PLAYER_EVENT_SCHEMA,
} from '../../core/schemas/player-event-message.ts';
import { allTopicSpecs, TOPICS } from '../../core/topics.ts';
import { samplePlayerEvents } from '../../ingest-api/events/sample-player-events.ts';
import { createThrowawayAnalyticsStore, dropThrowawayAnalyticsStore } from '../../test/throwaway-analytics-store.ts';
import { waitFor } from '../../test/wait-for.ts';
import { ClickHouseSink } from '../sinks/clickhouse-sink.ts';
import { SHORT_ANALYTICS_SETTINGS } from './testing/short-settings.ts';
import { ViewerAnalyticsProcessor } from './viewer-analytics-processor.ts';

/**
 * Messages stamped as validated by the collector skip the full schema check in the processor and
 * the raw-events sink. A stamped message that is damaged anyway (a producer's bug, a hand-made
 * replay) must be dead-lettered by the processor and left out by the sink, and both go on.
 */
const PROPERTY = `stamped-${randomUUID().slice(0, 8)}`;
const logger = pino({ level: 'silent' });

describe('stamped player events: read without the second full check, damaged ones still refused', () => {
  let store: AnalyticsStore;
  let bus: EmbeddedBus;

  beforeAll(async () => {
    store = await createThrowawayAnalyticsStore('st');
    bus = new EmbeddedBus({
      defaultPartitions: 1,
      maxRetainedMessages: 10_000,
      publish: { lingerMs: 2, maxBatchMessages: 1_000, maxBufferedMessages: 10_000 },
    });
    await bus.ensureTopics(allTopicSpecs(1));
  });

  afterAll(async () => {
    await bus?.close();
    await dropThrowawayAnalyticsStore(store);
  });

  it('applies the good ones, dead-letters the damaged ones with the field at fault, and the raw table holds the good ones', async () => {
    const now = Date.now();
    const good = samplePlayerEvents(40, { views: 4, now }).map((event) => ({
      ...event,
      property_id: PROPERTY,
      event_time: event.viewer_time,
      received_at: now,
      source: 'sdk' as const,
    }));
    const stamp = { [PLAYER_EVENT_SCHEMA_HEADER]: VALIDATED_PLAYER_EVENT_SCHEMA };
    const damaged: Array<[reason: RegExp, message: OutgoingMessage]> = [
      [/not JSON/, { key: 'view-0', value: Buffer.from('{"schema_v":1,'), headers: stamp }],
      [
        /\/counters/,
        { key: 'view-1', value: Buffer.from(JSON.stringify({ ...good[1], counters: undefined })), headers: stamp },
      ],
      [
        /\/view_seq/,
        { key: 'view-2', value: Buffer.from(JSON.stringify({ ...good[2], view_seq: 'seven' })), headers: stamp },
      ],
      [
        /\/stream_id.*surrogate/,
        {
          key: 'view-3',
          value: Buffer.from(JSON.stringify(good[3]).replace(`"${good[3]!.stream_id}"`, '"s-\\udc00"')),
          headers: stamp,
        },
      ],
      [
        /does not match EnrichedPlayerEvent .*"path":"\/"/,
        { key: 'view-0', value: Buffer.from('null'), headers: stamp },
      ],
    ];
    const messages = [
      ...good.slice(0, 20).map(playerEventMessage),
      ...damaged.map(([, m]) => m),
      ...good.slice(20).map(playerEventMessage),
    ];
    await bus.publish(TOPICS.playerEvents, messages);

    const metrics = new Metrics();
    const processor = new ViewerAnalyticsProcessor(
      { bus, metrics, logger },
      { settings: SHORT_ANALYTICS_SETTINGS, groupId: 'stamped-processor' },
    );
    const sink = new ClickHouseSink({ bus, analytics: store, metrics, logger }, { consume: ['raw-events'] });
    await processor.start();
    await sink.start();
    const letters: DeliveredMessage[] = [];
    const reader = await bus.subscribe({
      groupId: `letters-${randomUUID()}`,
      topics: [TOPICS.deadLetters],
      handleBatch: (batch) => Promise.resolve(void letters.push(...batch.messages)),
    });
    try {
      await waitFor('the processor to dead-letter every damaged message', () => letters.length >= damaged.length, {
        timeoutMs: 60_000,
      });
      await waitFor(
        'the processor to commit past every message',
        async () => (await bus.committedOffsets('stamped-processor', TOPICS.playerEvents))[0] === messages.length,
        { timeoutMs: 60_000 },
      );
      const raw = async () =>
        Number(
          (
            await (
              await store.client.query({
                query: 'SELECT count() AS n FROM player_events_raw WHERE property_id = {p:String}',
                query_params: { p: PROPERTY },
                format: 'JSONEachRow',
              })
            ).json<{ n: string }>()
          )[0]!.n,
        );
      await waitFor('the raw table to hold every good event', async () => (await raw()) === good.length, {
        timeoutMs: 60_000,
      });
    } finally {
      await reader.stop();
      await sink.stop();
      await processor.stop();
    }

    expect(letters).toHaveLength(damaged.length);
    const offsetOf = (message: OutgoingMessage) => messages.indexOf(message);
    for (const [reason, message] of damaged) {
      const letter = letters.find(
        (l) => l.headers[DEAD_LETTER_HEADERS.origin] === `${TOPICS.playerEvents}/0/${offsetOf(message)}`,
      );
      expect(letter?.value.equals(message.value)).toBe(true);
      expect(
        `${letter?.headers[DEAD_LETTER_HEADERS.reason]} ${letter?.headers[DEAD_LETTER_HEADERS.errors] ?? ''}`,
      ).toMatch(reason);
    }
    const outcomes: Record<string, number> = Object.fromEntries(
      [
        ...(await metrics.registry.getSingleMetricAsString('livepulse_viewer_analytics_events_total')).matchAll(
          /outcome="([a-z_]+)"\} (\d+)/g,
        ),
      ].map(([, outcome, count]): [string, number] => [outcome!, Number(count)]),
    );
    expect(outcomes).toMatchObject({ applied: good.length, invalid: damaged.length });
    expect(await metrics.registry.getSingleMetricAsString('livepulse_sink_invalid_messages_total')).toMatch(
      new RegExp(`sink="clickhouse-raw"\\} ${damaged.length}\\b`),
    );
  }, 120_000);
});
