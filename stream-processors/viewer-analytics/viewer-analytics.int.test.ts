import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../../core/analytics-store/sql-quoting.ts';
import { applyMigrations } from '../../core/analytics-store/migrations.ts';
import type { Bus } from '../../core/bus/bus.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { Metrics } from '../../core/metrics.ts';
import { allTopicSpecs, TOPICS } from '../../core/topics.ts';
import { countViewSummaries, expectAnalyticsToMatchTruth } from '../../test/analytics-truth.ts';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import { ClickHouseSink } from '../sinks/clickhouse-sink.ts';
import { collectedEvents } from '../../tools/simulator/collector-view.ts';
import { computeGroundTruth } from '../../tools/simulator/ground-truth.ts';
import { SeededRandom } from '../../tools/simulator/seeded-random.ts';
import { planSimulation } from '../../tools/simulator/viewer-scripts.ts';
import { peakConcurrencyByMinute, viewTotals, viewTotalsByPeriod } from '../../core/analytics/metric-queries.ts';
import { ViewerAnalyticsProcessor } from './viewer-analytics-processor.ts';
import { SHORT_ANALYTICS_SETTINGS } from './testing/short-settings.ts';

/**
 * The processor and the ClickHouse sink on the embedded bus, against the real ClickHouse engine:
 * a simulation's events (out of order within the allowed lateness) through a processor that is
 * stopped and replaced half-way, then every metric compared with the ground truth. Then the
 * final results are published a second time, as a processor that crashed after publishing would:
 * the rollups must not move. And a run whose state writes fail now and then.
 */
const settings = SHORT_ANALYTICS_SETTINGS;
const PARTITIONS = 4;
const logger = pino({ level: 'silent' });

describe('viewer analytics: processor and ClickHouse sink', () => {
  let store: AnalyticsStore;
  let bus: EmbeddedBus;

  beforeAll(async () => {
    store = await createAnalyticsStore({
      kind: 'clickhouse',
      url: testServices().clickhouseUrl,
      username: 'default',
      password: '',
      database: `va_${randomUUID().replaceAll('-', '')}`,
    });
    await applyMigrations(store);
    bus = new EmbeddedBus({
      defaultPartitions: PARTITIONS,
      maxRetainedMessages: 1_000_000,
      publish: { lingerMs: 2, maxBatchMessages: 2_000, maxBufferedMessages: 100_000 },
    });
    await bus.ensureTopics(allTopicSpecs(PARTITIONS));
  });

  afterAll(async () => {
    await bus?.close();
    await store?.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store?.close();
  });

  it('every metric equals the ground truth, live and rolled up, across a processor restart; re-emitted finals change nothing', async () => {
    // A run in the recent past, so that the idle watermark (wall clock) closes everything once the events are in.
    const plan = planSimulation({
      viewers: 120,
      durationMs: 120_000,
      seed: 21,
      streams: 2,
      startAt: Date.now() - 6 * 60_000,
      maxRebufferMs: settings.maxRebufferMs,
    });
    const truth = computeGroundTruth(plan, settings);
    const jitter = new SeededRandom(5);
    const events = collectedEvents(plan, { deliveryDelayMs: () => jitter.int(0, 6_000) });
    const metrics = new Metrics();
    const sink = new ClickHouseSink({ bus, analytics: store, metrics, logger });
    await sink.start();

    let processor = new ViewerAnalyticsProcessor({ bus, metrics, logger }, { settings, maxBatchMessages: 300 });
    await processor.start();
    const half = Math.floor(events.length / 2);
    const publish = (slice: typeof events) =>
      bus.publish(
        TOPICS.playerEvents,
        slice.map((e) => ({ key: e.view_id, value: Buffer.from(JSON.stringify(e)) })),
      );
    await publish(events.slice(0, half));
    await waitFor(
      'the first half to be processed',
      async () =>
        (await bus.committedOffsets('viewer-analytics', TOPICS.playerEvents)).reduce((a, b) => a + Math.max(0, b), 0) >=
        half,
      { timeoutMs: 60_000 },
    );
    await processor.stop();
    // A new instance: it knows nothing but what the state store holds.
    processor = new ViewerAnalyticsProcessor({ bus, metrics, logger }, { settings, maxBatchMessages: 300 });
    await processor.start();
    await publish(events.slice(half));

    await waitFor(
      'every view to end and be summarized',
      async () => (await countViewSummaries(store, plan.propertyId)) === truth.views,
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    await waitFor('the sink to catch up', () => caughtUp(bus, 'clickhouse-sink', TOPICS.analyticsAggregates), {
      timeoutMs: 60_000,
    });
    await waitFor(
      'the raw-events sink to catch up',
      () => caughtUp(bus, 'clickhouse-sink.raw-events', TOPICS.playerEvents),
      { timeoutMs: 60_000 },
    );
    await processor.stop();
    expect(await metrics.registry.getSingleMetricAsString('livepulse_viewer_analytics_side_output_total')).not.toMatch(
      /reason="late"\} [1-9]/,
    );

    // Drill-down: every event once in player_events_raw (inserted as compact rows), fields in their columns.
    const raw = await store.client.query({
      query: `SELECT count() AS rows, uniqExact(source_partition, source_offset) AS offsets FROM player_events_raw WHERE property_id = {property:String}`,
      query_params: { property: plan.propertyId },
      format: 'JSONEachRow',
    });
    expect(
      (await raw.json<{ rows: number | string; offsets: number | string }>()).map((r) => [
        Number(r.rows),
        Number(r.offsets),
      ]),
    ).toEqual([[events.length, events.length]]);
    const sample = events.find((e) => e.counters.rebuffer_count > 0 && e.dimensions?.cdn) ?? events[0]!;
    const drill = await store.client.query({
      query: `SELECT toUnixTimestamp64Milli(event_time) AS event_time, view_seq, watch_ms, rebuffer_count, cdn, player_state FROM player_events_raw WHERE event_id = {id:UUID}`,
      query_params: { id: sample.event_id },
      format: 'JSONEachRow',
    });
    expect(
      (await drill.json<Record<string, unknown>>()).map((r) => ({ ...r, event_time: Number(r.event_time) })),
    ).toEqual([
      {
        event_time: sample.event_time,
        view_seq: sample.view_seq,
        watch_ms: sample.counters.watch_ms,
        rebuffer_count: sample.counters.rebuffer_count,
        cdn: sample.dimensions?.cdn ?? '',
        player_state: sample.player_state,
      },
    ]);

    await expectAnalyticsToMatchTruth(store, truth);

    // Re-emission: every final chunk published again (new offsets), as after a processor crash.
    const before = await snapshotRollups(store, plan.propertyId, Object.keys(truth.streams));
    const finals: Buffer[] = [];
    const readerGroup = `reader-${randomUUID()}`;
    const reader = await bus.subscribe({
      groupId: readerGroup,
      topics: [TOPICS.analyticsAggregates],
      handleBatch: (batch) => {
        for (const m of batch.messages)
          if ((JSON.parse(m.value.toString()) as { type: string }).type === 'viewer_window_final') finals.push(m.value);
        return Promise.resolve();
      },
    });
    const aggregatesEnd = await bus.endOffsets(TOPICS.analyticsAggregates);
    await waitFor(
      'reading back the aggregates',
      async () =>
        (await bus.committedOffsets(readerGroup, TOPICS.analyticsAggregates)).every(
          (c, p) => aggregatesEnd[p] === 0 || c === aggregatesEnd[p],
        ),
      { timeoutMs: 10_000 },
    );
    await reader.stop();
    expect(finals.length).toBeGreaterThan(0);
    await bus.publish(
      TOPICS.analyticsAggregates,
      finals.map((value) => ({ key: 'replayed', value })),
    );
    await waitFor(
      'the sink to read the replayed finals',
      async () => {
        const [committed, end] = await Promise.all([
          bus.committedOffsets('clickhouse-sink', TOPICS.analyticsAggregates),
          bus.endOffsets(TOPICS.analyticsAggregates),
        ]);
        return (
          end.reduce((a, b) => a + b, 0) === aggregatesEnd.reduce((a, b) => a + b, 0) + finals.length &&
          end.every((e, p) => e === 0 || committed[p] === e)
        );
      },
      { timeoutMs: 60_000 },
    );
    expect(await snapshotRollups(store, plan.propertyId, Object.keys(truth.streams))).toEqual(before);
    await sink.stop();
  }, 420_000);

  // Checkpoints are written while the next batches are applied. Here state writes fail now and
  // then — before the publish reaches the changelog, or after it landed with the answer lost — and a
  // failed write must make the partition read again from its last commit, so that no later
  // checkpoint persists a state missing its changes.
  it('every metric equals the ground truth when state writes fail before and after landing', async () => {
    // After the first test's run in event time: this group reads that run's events first.
    const plan = planSimulation({
      viewers: 80,
      durationMs: 90_000,
      seed: 33,
      streams: 2,
      propertyId: 'failing-state-writes',
      startAt: Date.now() - 3 * 60_000,
      maxRebufferMs: settings.maxRebufferMs,
    });
    const truth = computeGroundTruth(plan, settings);
    const jitter = new SeededRandom(8);
    const events = collectedEvents(plan, { deliveryDelayMs: () => jitter.int(0, 6_000) });
    const metrics = new Metrics();
    const sink = new ClickHouseSink({ bus, analytics: store, metrics, logger }, { consume: ['aggregates'] });
    await sink.start();
    // All in before the processor starts: a partition that reads everything there is moves its
    // watermark to the wall clock, and events of this past run published after that would be late.
    await bus.publish(
      TOPICS.playerEvents,
      events.map((e) => ({ key: e.view_id, value: Buffer.from(JSON.stringify(e)) })),
    );
    const failed = { before: 0, after: 0 };
    // A group of its own, for the same reason: the first test's group is at the wall clock. Small
    // batches, so that checkpoints are taken and written while later batches are applied.
    const processor = new ViewerAnalyticsProcessor(
      { bus: failingChangelogWrites(bus, new SeededRandom(13), failed), metrics, logger },
      { settings, maxBatchMessages: 50, groupId: 'viewer-analytics-failing-writes' },
    );
    await processor.start();

    await waitFor(
      'every view to end and be summarized',
      async () => (await countViewSummaries(store, plan.propertyId)) === truth.views,
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    await waitFor('the sink to catch up', () => caughtUp(bus, 'clickhouse-sink', TOPICS.analyticsAggregates), {
      timeoutMs: 60_000,
    });
    await processor.stop();
    await sink.stop();

    expect(await metrics.registry.getSingleMetricAsString('livepulse_viewer_analytics_side_output_total')).not.toMatch(
      /reason="late"\} [1-9]/,
    );
    expect(failed.before).toBeGreaterThan(0);
    expect(failed.after).toBeGreaterThan(0);
    await expectAnalyticsToMatchTruth(store, truth);
  }, 420_000);

  // The state store keeps a partition's offsets; a new log (a new embedded database, say) numbers
  // its offsets from 0 again. A state saved from another log must be discarded, not taken to hold
  // the new log's first events (which it would skip as already applied).
  it('discards a state saved from another log: on a new log every event is applied, none skipped as already applied', async () => {
    const groupId = 'viewer-analytics-new-log';
    const busOptions = {
      defaultPartitions: PARTITIONS,
      maxRetainedMessages: 1_000_000,
      publish: { lingerMs: 2, maxBatchMessages: 2_000, maxBufferedMessages: 100_000 },
    };
    const runOn = async (log: EmbeddedBus, propertyId: string, minutesAgo: number) => {
      const plan = planSimulation({
        viewers: 40,
        durationMs: 60_000,
        seed: 41,
        streams: 1,
        propertyId,
        startAt: Date.now() - minutesAgo * 60_000,
        maxRebufferMs: settings.maxRebufferMs,
      });
      const events = collectedEvents(plan);
      await log.publish(
        TOPICS.playerEvents,
        events.map((e) => ({ key: e.view_id, value: Buffer.from(JSON.stringify(e)) })),
      );
      const metrics = new Metrics();
      const processor = new ViewerAnalyticsProcessor(
        { bus: log, metrics, logger },
        { settings, maxBatchMessages: 200, groupId },
      );
      await processor.start();
      return { plan, metrics, processor };
    };

    const oldLog = new EmbeddedBus(busOptions);
    await oldLog.ensureTopics(allTopicSpecs(PARTITIONS));
    const old = await runOn(oldLog, 'old-log', 6);
    await waitFor('the old log to be read and committed', () => caughtUp(oldLog, groupId, TOPICS.playerEvents), {
      timeoutMs: 60_000,
    });
    await old.processor.stop();
    await oldLog.close();

    const newLog = new EmbeddedBus(busOptions);
    await newLog.ensureTopics(allTopicSpecs(PARTITIONS));
    const sink = new ClickHouseSink(
      { bus: newLog, analytics: store, metrics: new Metrics(), logger },
      { consume: ['aggregates'] },
    );
    await sink.start();
    const fresh = await runOn(newLog, 'new-log', 3);
    try {
      await waitFor('the new log to be read and committed', () => caughtUp(newLog, groupId, TOPICS.playerEvents), {
        timeoutMs: 60_000,
      });
      expect(
        await fresh.metrics.registry.getSingleMetricAsString('livepulse_viewer_analytics_events_total'),
      ).not.toMatch(/outcome="already_applied"\} [1-9]/);
      const truth = computeGroundTruth(fresh.plan, settings);
      await waitFor(
        'every view to end and be summarized',
        async () => (await countViewSummaries(store, fresh.plan.propertyId)) === truth.views,
        { timeoutMs: 240_000, intervalMs: 500 },
      );
      await waitFor('the sink to catch up', () => caughtUp(newLog, 'clickhouse-sink', TOPICS.analyticsAggregates), {
        timeoutMs: 60_000,
      });
      await expectAnalyticsToMatchTruth(store, truth);
    } finally {
      await fresh.processor.stop();
      await sink.stop();
      await newLog.close();
    }
  }, 420_000);
});

/** The bus, with publishes to the state changelog failing on a seeded coin. */
function failingChangelogWrites(bus: Bus, random: SeededRandom, failed: { before: number; after: number }): Bus {
  const publish: Bus['publish'] = async (topic, messages) => {
    const roll = topic.endsWith('.state-changelog') ? random.next() : 1;
    if (roll < 0.08) {
      failed.before += 1;
      throw new Error('injected: the state write never reached the changelog');
    }
    await bus.publish(topic, messages);
    if (roll < 0.16) {
      failed.after += 1;
      throw new Error('injected: the state write landed but its answer was lost');
    }
  };
  return new Proxy(bus, {
    get: (target, property) => (property === 'publish' ? publish : (Reflect.get(target, property, target) as unknown)),
  });
}

async function caughtUp(bus: EmbeddedBus, groupId: string, topic: string): Promise<boolean> {
  const [committed, end] = await Promise.all([bus.committedOffsets(groupId, topic), bus.endOffsets(topic)]);
  return end.every((e, p) => e === 0 || committed[p] === e);
}

async function snapshotRollups(store: AnalyticsStore, propertyId: string, streams: string[]) {
  const snapshot: unknown[] = [];
  for (const streamId of streams) {
    const scope = { propertyId, streamId };
    snapshot.push(
      await peakConcurrencyByMinute(store, scope, 'rollup'),
      await viewTotalsByPeriod(store, scope, 'start'),
      await viewTotalsByPeriod(store, scope, 'end', 'hour'),
      await viewTotals(store, scope),
    );
  }
  return snapshot;
}
