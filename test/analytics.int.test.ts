import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../core/analytics-store/sql-quoting.ts';
import { applyMigrations } from '../core/analytics-store/migrations.ts';
import { KafkaBus } from '../core/bus/kafka-bus.ts';
import type { AnalyticsSettings } from '../core/config.ts';
import { DEAD_LETTER_HEADERS } from '../core/dead-letters.ts';
import { allTopicSpecs, TOPICS } from '../core/topics.ts';
import { SnowflakeWarehouse } from '../stream-processors/sinks/snowflake-warehouse.ts';
import { simulate } from '../tools/simulator/simulate.ts';
import { SeededRandom } from '../tools/simulator/seeded-random.ts';
import { countViewSummaries, expectAnalyticsToMatchTruth } from './analytics-truth.ts';
import { startSnowflakeTestServer, type SnowflakeTestServer } from './fixtures/snowflake-server.ts';
import { LivepulseProcess } from './livepulse-process.ts';
import { testServices } from './services.ts';
import { analyticsSettingsEnvironment } from './process-environment.ts';
import { waitFor, waitForProgress } from './wait-for.ts';

/**
 * End to end, as deployed: simulated viewers → the real collector (HTTP) → Kafka → the
 * viewer-analytics processor → analytics.aggregates → the ClickHouse and Snowflake sinks, each
 * its own process. While the simulation runs, the processor and both sinks are killed with
 * SIGKILL at random moments and restarted. The viewers shuffle events within batches, send some
 * batches twice and hold some back. Afterwards every metric in ClickHouse (live tables and
 * rollups) equals the simulator's ground truth, Snowflake holds the same finals, and nothing was
 * late: a restarted processor judges lateness by the log, not by the wall clock.
 */
const settings: AnalyticsSettings = {
  windowMs: 10_000,
  allowedLatenessMs: 20_000,
  inactiveAfterMs: 25_000,
  endAfterSilenceMs: 30_000,
  pausedEndAfterMs: 40_000,
  maxRebufferMs: 20_000,
  emitIntervalMs: 500,
  catchUpIntervalMs: 2_500,
  catchUpLagMs: 60_000,
  idleAdvanceMs: 1_000,
  maxViewsPerPartition: 100_000,
};
const WRITE_KEY = 'e2e_write_key_0123456789';
const PARTITIONS = 4;

describe('viewer analytics end to end: collector, Kafka, processor and sinks under SIGKILL', () => {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  let store: AnalyticsStore;
  let snowflake: SnowflakeTestServer;
  let bus: KafkaBus;
  const processes: LivepulseProcess[] = [];

  beforeAll(async () => {
    const services = testServices();
    const prefix = `e2e${id}.`;
    bus = new KafkaBus({
      brokers: [services.kafkaBrokers],
      clientId: 'analytics-e2e',
      topicPrefix: prefix,
      defaultPartitions: PARTITIONS,
      replicationFactor: 1,
      publish: { lingerMs: 0, maxBatchMessages: 100, maxBufferedMessages: 1_000 },
    });
    // Topic creation can take long on a busy single broker; the processes then only find them.
    await waitFor(
      'the topics',
      async () => {
        await bus.ensureTopics(allTopicSpecs(PARTITIONS));
        return true;
      },
      { timeoutMs: 150_000, intervalMs: 1_000 },
    );
    store = await createAnalyticsStore({
      kind: 'clickhouse',
      url: services.clickhouseUrl,
      username: 'default',
      password: '',
      database: `e2e_${id}`,
    });
    await applyMigrations(store);
    snowflake = await startSnowflakeTestServer();
    const env: Record<string, string> = {
      KAFKA_BROKERS: services.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: String(PARTITIONS),
      KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
      CLICKHOUSE_URL: services.clickhouseUrl,
      CLICKHOUSE_DATABASE: store.database,
      REDIS_URL: services.redisUrl,
      LIVEPULSE_WRITE_KEYS: `demo:${WRITE_KEY}`,
      LIVEPULSE_JWT_SECRET: 'e2e-jwt-secret-0123456789abcdef0123',
      LIVEPULSE_IVS_WEBHOOK_SECRET: 'e2e-ivs-secret-0123456789',
      SNOWFLAKE_ACCOUNT: snowflake.settings.account,
      SNOWFLAKE_USERNAME: snowflake.settings.username,
      SNOWFLAKE_PASSWORD: snowflake.settings.password,
      SNOWFLAKE_ACCESS_URL: snowflake.settings.accessUrl!,
      LOG_LEVEL: 'warn',
      ...analyticsSettingsEnvironment(settings),
    };
    for (const service of ['ingest-api', 'viewer-analytics', 'clickhouse-sink', 'snowflake-sink'])
      processes.push(new LivepulseProcess(service, env));
    await Promise.all(processes.map((p) => p.start()));
  }, 420_000);

  afterAll(async () => {
    await Promise.allSettled(processes.map((p) => p.kill('SIGTERM')));
    await bus?.close();
    await snowflake?.stop();
    await store?.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store?.close();
  }, 120_000);

  it('every metric equals the ground truth, nothing lost, nothing counted twice', async () => {
    const [collector, processor, clickhouseSink, snowflakeSink] = processes as [
      LivepulseProcess,
      LivepulseProcess,
      LivepulseProcess,
      LivepulseProcess,
    ];
    const random = new SeededRandom(Number.parseInt(id.slice(0, 6), 16));
    const running = simulate({
      viewers: 160,
      durationMs: 50_000,
      streams: 2,
      seed: Number.parseInt(id.slice(6, 12), 16),
      collectorUrl: collector.url,
      writeKey: WRITE_KEY,
      flushIntervalMs: 2_000,
      chaos: { seed: 11, shuffle: true, duplicateShare: 0.05, holdBackShare: 0.1, maxHoldBackMs: 2_000 },
      settings,
    });

    // SIGKILL at random moments while traffic flows, each victim restarted right away.
    const chaos = (async () => {
      for (const victim of [processor, clickhouseSink, processor, snowflakeSink, clickhouseSink, processor]) {
        await sleep(random.int(3_000, 9_000));
        await victim.kill('SIGKILL');
        await victim.start();
      }
    })();
    const { truth, report } = await running;
    await chaos;
    expect(report.rejected).toEqual([]);

    await waitForProgress(
      'every view to end and be summarized in ClickHouse',
      async () => truth.views - (await countViewSummaries(store, truth.property_id)),
      { stallMs: 180_000, intervalMs: 1_000 },
    );
    // One more kill of each after the last windows closed: the restarts must not add anything.
    await processor.kill('SIGKILL');
    await processor.start();
    const lag = async (group: string) => {
      const [committed, end] = await Promise.all([
        bus.committedOffsets(group, TOPICS.analyticsAggregates),
        bus.endOffsets(TOPICS.analyticsAggregates),
      ]);
      // A partition that never got a message has no committed offset (-1).
      return end.reduce((sum, e, p) => sum + (committed[p]! < 0 ? e : e - committed[p]!), 0);
    };
    // On lag shrinking, not on a deadline: a loaded machine's sinks are slower, not stuck.
    await waitForProgress('the ClickHouse sink to catch up', () => lag('clickhouse-sink'), { stallMs: 180_000 });
    await waitForProgress('the Snowflake sink to catch up', () => lag('snowflake-sink'), { stallMs: 180_000 });
    expect(processor.kills + clickhouseSink.kills + snowflakeSink.kills).toBe(7);

    await expectAnalyticsToMatchTruth(store, truth);

    // Nothing was late: lateness follows the log, so backlogs after restarts are on time.
    const late: string[] = [];
    const readerGroup = `e2e-dead-letters-${id}`;
    const reader = await bus.subscribe({
      groupId: readerGroup,
      topics: [TOPICS.deadLetters],
      handleBatch: (batch) => {
        for (const m of batch.messages)
          if ((m.headers[DEAD_LETTER_HEADERS.reason] ?? '').startsWith('late'))
            late.push(m.headers[DEAD_LETTER_HEADERS.reason]!);
        return Promise.resolve();
      },
    });
    const deadEnd = await bus.endOffsets(TOPICS.deadLetters);
    await waitFor(
      'reading the dead letters',
      async () =>
        (await bus.committedOffsets(readerGroup, TOPICS.deadLetters)).every(
          (c, p) => c >= deadEnd[p]! || deadEnd[p] === 0,
        ),
      { timeoutMs: 60_000 },
    );
    await reader.stop();
    expect(late).toEqual([]);

    // Snowflake holds the same finals: concurrency per window and every view, once.
    const warehouse = await SnowflakeWarehouse.connect(snowflake.settings, pino({ level: 'silent' }));
    try {
      for (const [streamId, stream] of Object.entries(truth.streams)) {
        const windows = await warehouse.execute<{ WINDOW_START: Date; VIEWERS: number; WATCH: number }>(
          `SELECT WINDOW_START, SUM(CONCURRENT_VIEWS) AS VIEWERS, SUM(WATCH_MS) AS WATCH FROM VIEWER_WINDOWS
           WHERE STREAM_ID = ? AND DIMENSION = 'all' GROUP BY WINDOW_START ORDER BY WINDOW_START`,
          [streamId],
        );
        expect(
          windows.map((w) => ({
            window_start: new Date(w.WINDOW_START).getTime(),
            concurrent_views: Number(w.VIEWERS),
            watch_ms: Number(w.WATCH),
          })),
          `${streamId} in Snowflake`,
        ).toEqual(
          stream.windows
            .filter((w) => w.dimension === 'all')
            .map((w) => ({ window_start: w.window_start, concurrent_views: w.concurrent_views, watch_ms: w.watch_ms })),
        );
        const [views] = await warehouse.execute<{ N: number; WATCH: number }>(
          'SELECT COUNT(*) AS N, SUM(WATCH_MS) AS WATCH FROM VIEW_SUMMARIES WHERE STREAM_ID = ?',
          [streamId],
        );
        expect({ views: Number(views!.N), watch_ms: Number(views!.WATCH) }).toEqual({
          views: stream.totals.views,
          watch_ms: stream.totals.watch_ms,
        });
      }
    } finally {
      await warehouse.close();
    }
  }, 600_000);
});
