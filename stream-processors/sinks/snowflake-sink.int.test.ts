import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { Metrics } from '../../core/metrics.ts';
import { allTopicSpecs, TOPICS } from '../../core/topics.ts';
import { startSnowflakeTestServer, type SnowflakeTestServer } from '../../test/fixtures/snowflake-server.ts';
import { waitFor } from '../../test/wait-for.ts';
import { collectedEvents } from '../../tools/simulator/collector-view.ts';
import { computeGroundTruth } from '../../tools/simulator/ground-truth.ts';
import { planSimulation } from '../../tools/simulator/viewer-scripts.ts';
import { windowFinalMessages, windowRowsMessages } from '../../core/analytics/aggregate-messages.ts';
import { PartitionAnalytics } from '../viewer-analytics/partition-analytics.ts';
import { SnowflakeSink } from './snowflake-sink.ts';
import { SnowflakeWarehouse } from './snowflake-warehouse.ts';
import { SHORT_ANALYTICS_SETTINGS } from '../viewer-analytics/testing/short-settings.ts';

/**
 * The Snowflake sink through the real snowflake-sdk against the Snowflake REST test server
 * (fakesnow): final windows and view summaries land once, early rows never, and the same finals
 * loaded again (a redelivery, a re-emitting processor) leave the tables as they were.
 */
const settings = SHORT_ANALYTICS_SETTINGS;

describe('Snowflake sink', () => {
  let server: SnowflakeTestServer;
  let bus: EmbeddedBus;

  beforeAll(async () => {
    server = await startSnowflakeTestServer();
    bus = new EmbeddedBus({
      defaultPartitions: 2,
      maxRetainedMessages: 100_000,
      publish: { lingerMs: 1, maxBatchMessages: 500, maxBufferedMessages: 10_000 },
    });
    await bus.ensureTopics(allTopicSpecs(2));
  });

  afterAll(async () => {
    await bus?.close();
    await server?.stop();
  });

  it('merges finalized windows and views once, whatever is delivered twice', async () => {
    const plan = planSimulation({
      viewers: 40,
      durationMs: 60_000,
      seed: 3,
      streams: 1,
      startAt: Date.UTC(2026, 4, 1, 12),
      maxRebufferMs: settings.maxRebufferMs,
    });
    const truth = computeGroundTruth(plan, settings);
    const partition = new PartitionAnalytics(0, settings);
    partition.apply(collectedEvents(plan).map((event, i) => ({ offset: String(i), event, payload: Buffer.alloc(0) })));
    const early = partition.openWindowRows();
    partition.advanceIdle(truth.last_view_end + settings.allowedLatenessMs + 60_000);
    const { closed } = partition.closeDueWindows();
    const base = { group: 'viewer-analytics', source_partition: 0, emitted_at: Date.now() };
    const finals = closed.flatMap((w) =>
      windowFinalMessages(
        { ...base, window_start: w.windowStart, version: partition.version(true).toString() },
        w.rows,
        w.views,
      ),
    );
    const earlyMessages = windowRowsMessages({ ...base, version: '1' }, early.rows);
    await bus.publish(TOPICS.analyticsAggregates, [...earlyMessages, ...finals, ...finals]);

    const sink = new SnowflakeSink({ bus, metrics: new Metrics(), logger: pino({ level: 'silent' }) }, server.settings);
    await sink.start();
    const end = await bus.endOffsets(TOPICS.analyticsAggregates);
    await waitFor(
      'the sink to load every message',
      async () =>
        (await bus.committedOffsets('snowflake-sink', TOPICS.analyticsAggregates)).every(
          (c, p) => end[p] === 0 || c === end[p],
        ),
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    // Once more, as a redelivery after a crash would.
    await bus.publish(TOPICS.analyticsAggregates, finals);
    const end2 = await bus.endOffsets(TOPICS.analyticsAggregates);
    await waitFor(
      'the sink to load the redelivery',
      async () =>
        (await bus.committedOffsets('snowflake-sink', TOPICS.analyticsAggregates)).every(
          (c, p) => end2[p] === 0 || c === end2[p],
        ),
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    await sink.stop();

    const warehouse = await SnowflakeWarehouse.connect(server.settings);
    try {
      const [stream] = Object.values(truth.streams);
      const windows = await warehouse.execute<{ WINDOW_START: Date; VIEWERS: number; STARTED: number; WATCH: number }>(
        `SELECT WINDOW_START, SUM(CONCURRENT_VIEWS) AS VIEWERS, SUM(VIEWS_STARTED) AS STARTED, SUM(WATCH_MS) AS WATCH
         FROM VIEWER_WINDOWS WHERE DIMENSION = ? GROUP BY WINDOW_START ORDER BY WINDOW_START`,
        ['all'],
      );
      expect(
        windows.map((w) => ({
          window_start: new Date(w.WINDOW_START).getTime(),
          concurrent_views: Number(w.VIEWERS),
          views_started: Number(w.STARTED),
          watch_ms: Number(w.WATCH),
        })),
      ).toEqual(
        stream!.windows
          .filter((w) => w.dimension === 'all')
          .map((w) => ({
            window_start: w.window_start,
            concurrent_views: w.concurrent_views,
            views_started: w.views_started,
            watch_ms: w.watch_ms,
          })),
      );
      const [views] = await warehouse.execute<{ N: number; WATCH: number; FAILURES: number; EBVS: number }>(
        `SELECT COUNT(*) AS N, SUM(WATCH_MS) AS WATCH, COUNT_IF(PLAYBACK_FAILURE) AS FAILURES, COUNT_IF(EXIT_BEFORE_START) AS EBVS FROM VIEW_SUMMARIES`,
      );
      expect({
        views: Number(views!.N),
        watch_ms: Number(views!.WATCH),
        failures: Number(views!.FAILURES),
        ebvs: Number(views!.EBVS),
      }).toEqual({
        views: truth.views,
        watch_ms: stream!.totals.watch_ms,
        failures: stream!.totals.playback_failures,
        ebvs: stream!.totals.exits_before_start,
      });
    } finally {
      await warehouse.close();
    }
  }, 240_000);
});
