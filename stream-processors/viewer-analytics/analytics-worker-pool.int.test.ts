import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../../core/analytics-store/sql-quoting.ts';
import { applyMigrations } from '../../core/analytics-store/migrations.ts';
import { KafkaBus } from '../../core/bus/kafka-bus.ts';
import { loadConfig, type AnalyticsSettings } from '../../core/config.ts';
import { Metrics } from '../../core/metrics.ts';
import { allTopicSpecs, TOPICS } from '../../core/topics.ts';
import { countViewSummaries, expectAnalyticsToMatchTruth } from '../../test/analytics-truth.ts';
import { LivepulseProcess } from '../../test/livepulse-process.ts';
import { testPlatformEnv } from '../../test/platform-env.ts';
import { analyticsSettingsEnvironment } from '../../test/process-environment.ts';
import { testServices } from '../../test/services.ts';
import { waitFor, waitForProgress } from '../../test/wait-for.ts';
import { ClickHouseSink } from '../sinks/clickhouse-sink.ts';
import { collectedEvents } from '../../tools/simulator/collector-view.ts';
import { computeGroundTruth } from '../../tools/simulator/ground-truth.ts';
import { SeededRandom } from '../../tools/simulator/seeded-random.ts';
import { planSimulation } from '../../tools/simulator/viewer-scripts.ts';
import { AnalyticsWorkerPool } from './analytics-worker-pool.ts';
import type { CrashPolicy } from './worker-threads-plan.ts';
import { SHORT_ANALYTICS_SETTINGS } from './testing/short-settings.ts';
import { VIEWER_ANALYTICS_GROUP, ViewerAnalyticsProcessor } from './viewer-analytics-processor.ts';

/**
 * The viewer-analytics processor in worker threads, on the real Kafka broker and ClickHouse
 * (over chDB) of infra/local: 2 threads over 6 partitions compute exactly the windows and view
 * summaries 1 thread computes from the same events; a worker ended mid-run (as a crash, no last
 * checkpoint) is restarted and nothing is lost or counted twice; SIGTERM to
 * `livepulse start viewer-analytics` stops every worker after its last checkpoint.
 */
const settings = SHORT_ANALYTICS_SETTINGS;
const PARTITIONS = 6;
const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}, 120_000);

/** Topics of their own (a prefix) on the broker, a database of its own, and the environment of a process using them. */
async function isolatedRun(name: string) {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const services = testServices();
  const prefix = `${name}${id}.`;
  const bus = new KafkaBus({
    brokers: [services.kafkaBrokers],
    clientId: `${name}-test`,
    topicPrefix: prefix,
    defaultPartitions: PARTITIONS,
    replicationFactor: 1,
    publish: { lingerMs: 2, maxBatchMessages: 2_000, maxBufferedMessages: 100_000 },
  });
  cleanups.push(() => bus.close());
  // Topic creation can take long on a busy single broker.
  await waitFor(
    'the topics',
    async () => {
      await bus.ensureTopics(allTopicSpecs(PARTITIONS));
      return true;
    },
    { timeoutMs: 150_000, intervalMs: 1_000 },
  );
  const store = await createAnalyticsStore({
    kind: 'clickhouse',
    url: services.clickhouseUrl,
    username: 'default',
    password: '',
    database: `${name}_${id}`,
  });
  cleanups.push(async () => {
    await store.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store.close();
  });
  await applyMigrations(store);
  // Distributed mode (Kafka, ClickHouse): the data directory is never used.
  const env = testPlatformEnv(tmpdir(), store.database, {
    KAFKA_BROKERS: services.kafkaBrokers,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: String(PARTITIONS),
    KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
    LOG_LEVEL: 'warn',
    ...analyticsSettingsEnvironment(settings),
  });
  // Groups of its own too: Kafka gives a group's partitions to every member, whatever topics it subscribed to.
  const groups = {
    processor: `${name}${id}-analytics`,
    sink: { aggregates: `${name}${id}-sink`, rawEvents: `${name}${id}-sink-raw`, deadLetters: `${name}${id}-sink-dl` },
  };
  return { bus, store, env, groups };
}

/** A finished simulation in the recent past, so that idle watermarks (wall clock) close everything once it is read. */
function pastSimulation(seed: number) {
  const plan = planSimulation({
    viewers: 300,
    durationMs: 150_000,
    seed,
    streams: 3,
    startAt: Date.now() - 8 * 60_000,
    maxRebufferMs: settings.maxRebufferMs,
  });
  const jitter = new SeededRandom(seed + 1);
  return {
    plan,
    truth: computeGroundTruth(plan, settings),
    events: collectedEvents(plan, { deliveryDelayMs: () => jitter.int(0, 6_000) }),
  };
}

async function publishEvents(bus: KafkaBus, events: ReturnType<typeof pastSimulation>['events']): Promise<void> {
  await bus.publish(
    TOPICS.playerEvents,
    events.map((e) => ({ key: e.view_id, value: Buffer.from(JSON.stringify(e)) })),
  );
}

async function committedSum(bus: KafkaBus, groupId: string): Promise<number> {
  return (await bus.committedOffsets(groupId, TOPICS.playerEvents)).reduce((sum, next) => sum + Math.max(0, next), 0);
}

async function sinkLag(bus: KafkaBus, groupId: string): Promise<number> {
  const [committed, end] = await Promise.all([
    bus.committedOffsets(groupId, TOPICS.analyticsAggregates),
    bus.endOffsets(TOPICS.analyticsAggregates),
  ]);
  return end.reduce((lag, last, partition) => lag + last - Math.max(0, committed[partition] ?? 0), 0);
}

/** Waits for every view to be summarized and the sink to have written everything the processor published. */
async function waitForResults(
  run: Awaited<ReturnType<typeof isolatedRun>>,
  simulation: ReturnType<typeof pastSimulation>,
): Promise<void> {
  const { store, bus, groups } = run;
  await waitForProgress(
    'every view to end and be summarized',
    async () => simulation.truth.views - (await countViewSummaries(store, simulation.plan.propertyId)),
  );
  await waitForProgress('the sink to catch up', () => sinkLag(bus, groups.sink.aggregates));
}

async function startSink(run: Awaited<ReturnType<typeof isolatedRun>>): Promise<ClickHouseSink> {
  const sink = new ClickHouseSink(
    { bus: run.bus, analytics: run.store, metrics: new Metrics(), logger },
    { consume: ['aggregates'], groups: run.groups.sink },
  );
  await sink.start();
  cleanups.push(() => sink.stop());
  return sink;
}

function startPool(
  run: Awaited<ReturnType<typeof isolatedRun>>,
  threads: number,
  options: { crashPolicy?: CrashPolicy; analytics?: AnalyticsSettings } = {},
) {
  const gaveUp: Error[] = [];
  const metrics = new Metrics({ service: 'viewer-analytics' });
  const pool = new AnalyticsWorkerPool({
    config: { ...loadConfig(run.env), analytics: options.analytics ?? settings },
    threads,
    metrics,
    logger,
    groupId: run.groups.processor,
    crashPolicy: options.crashPolicy,
    onGiveUp: (error) => gaveUp.push(error),
  });
  cleanups.push(() => pool.stop());
  return { pool, gaveUp, metrics };
}

/** Events the processor handled so far (applied, or found stale or already applied), from a /metrics text. */
function handledEvents(exposition: string): number {
  return [...exposition.matchAll(/^livepulse_viewer_analytics_events_total\{[^}]*\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

/** Every window row and view summary, as the sink stored them, without the columns that say when they were emitted or name the group. */
async function storedResults(
  store: AnalyticsStore,
  propertyId: string,
): Promise<{ windows: unknown[]; summaries: unknown[] }> {
  const rows = async (table: string, exceptColumns: string) => {
    const result = await store.client.query({
      query: `SELECT * EXCEPT (${exceptColumns}) FROM ${table} FINAL WHERE property_id = {property:String} ORDER BY ALL`,
      query_params: { property: propertyId },
      format: 'JSONEachRow',
    });
    return result.json();
  };
  return {
    windows: await rows('viewer_windows', 'version, emitted_at'),
    summaries: await rows('view_summaries', 'version, final_chunk'),
  };
}

describe('viewer analytics in worker threads, on Kafka', () => {
  it('2 worker threads over 6 partitions store exactly the windows and view summaries 1 thread stores', async () => {
    const simulation = pastSimulation(61);

    const single = await isolatedRun('vaone');
    const singleSink = await startSink(single);
    await publishEvents(single.bus, simulation.events);
    const processor = new ViewerAnalyticsProcessor(
      { bus: single.bus, metrics: new Metrics(), logger },
      { settings, groupId: single.groups.processor },
    );
    cleanups.push(() => processor.stop());
    await processor.start();
    await waitForResults(single, simulation);
    await processor.stop();
    await singleSink.stop();

    const threaded = await isolatedRun('vatwo');
    await startSink(threaded);
    await publishEvents(threaded.bus, simulation.events);
    const { pool } = startPool(threaded, 2);
    await pool.start();
    await waitForResults(threaded, simulation);
    await pool.stop();

    const one = await storedResults(single.store, simulation.plan.propertyId);
    const two = await storedResults(threaded.store, simulation.plan.propertyId);
    expect(one.summaries).toHaveLength(simulation.truth.views);
    expect(one.windows.length).toBeGreaterThan(0);
    expect(two).toEqual(one);
    await expectAnalyticsToMatchTruth(threaded.store, simulation.truth);
  }, 600_000);

  it('a worker ended mid-run is restarted and its partitions taken over: nothing lost, nothing counted twice', async () => {
    const simulation = pastSimulation(71);
    const run = await isolatedRun('vakill');
    await startSink(run);
    // No checkpoint (nor idle advance, which checkpoints too) within 10 s of the partitions being
    // assigned. The events are published once both workers are in the group, so each reads its
    // own partitions, and worker 0, ended once the first batches are handled, takes applied,
    // uncommitted events and open windows with it, which its successor must redo.
    const { pool, gaveUp, metrics } = startPool(run, 2, {
      analytics: { ...settings, emitIntervalMs: 10_000, catchUpIntervalMs: 10_000, idleAdvanceMs: 10_000 },
    });
    await pool.start();
    await publishEvents(run.bus, simulation.events);
    await waitFor('the first batches to be handled', async () => handledEvents(await metrics.exposition()) > 0, {
      timeoutMs: 120_000,
      intervalMs: 20,
    });
    const committedAtKill = await committedSum(run.bus, run.groups.processor);
    await pool.terminateWorker(0);
    await waitFor('the worker to be restarted', () => pool.restarts === 1, { timeoutMs: 60_000 });

    await waitForResults(run, simulation);
    await pool.stop();
    expect(committedAtKill).toBe(0);
    expect(gaveUp).toEqual([]);
    await expectAnalyticsToMatchTruth(run.store, simulation.truth);
  }, 600_000);

  it('workers that keep crashing make the pool give up (the platform then stops and the process exits 1)', async () => {
    const run = await isolatedRun('vagiveup');
    const { pool, gaveUp } = startPool(run, 2, {
      crashPolicy: { maxCrashes: 1, periodMs: 600_000, firstBackoffMs: 100, maxBackoffMs: 100 },
    });
    await pool.start();
    await pool.readiness.check();
    await pool.terminateWorker(0);
    await waitFor('the first crash to be restarted', () => pool.restarts === 1, { timeoutMs: 60_000 });
    await pool.terminateWorker(1);
    await waitFor('the pool to give up', () => gaveUp.length > 0, { timeoutMs: 60_000 });
    expect(gaveUp.map((error) => error.message)).toEqual([expect.stringMatching(/crashed 2 times in a row/)]);
    expect(pool.restarts).toBe(1);
    await expect(pool.readiness.check()).rejects.toThrow(/is not running/);
    await pool.stop();
  }, 300_000);

  it('SIGTERM stops every worker after its last checkpoint; /metrics sums the workers', async () => {
    const simulation = pastSimulation(81);
    const run = await isolatedRun('vaterm');
    // No checkpoint before the stop: only the last ones, taken on SIGTERM, commit anything.
    const analytics = new LivepulseProcess('viewer-analytics', {
      ...run.env,
      LOG_LEVEL: 'info',
      ANALYTICS_WORKER_THREADS: '2',
      ANALYTICS_EMIT_INTERVAL_MS: '600000',
      ANALYTICS_IDLE_ADVANCE_MS: '600000',
    });
    cleanups.push(() => analytics.kill('SIGKILL'));
    const started = [0, 1].map((worker) =>
      analytics.logged(
        `worker ${worker} started`,
        (r) => r.worker === worker && r.msg === 'viewer analytics worker started',
      ),
    );
    await analytics.start();
    await Promise.all(started);
    // Published once both workers are in the group: each partition is read once, by the worker that holds it.
    await publishEvents(run.bus, simulation.events);

    const handled = async () => handledEvents(await (await fetch(`${analytics.url}/metrics`)).text());
    await waitForProgress(
      'both workers to apply every event',
      async () => simulation.events.length - (await handled()),
    );
    const ready = await fetch(`${analytics.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: Array<{ name: string }> }).checks.map((c) => c.name)).toContain(
      'viewer-analytics:workers',
    );
    expect(await committedSum(run.bus, VIEWER_ANALYTICS_GROUP)).toBe(0);

    const stopped = [0, 1].map((worker) =>
      analytics.logged(
        `worker ${worker} stopped`,
        (r) => r.worker === worker && r.msg === 'viewer analytics worker stopped',
      ),
    );
    expect(await analytics.kill('SIGTERM')).toBe(0);
    await Promise.all(stopped);
    expect(await run.bus.committedOffsets(VIEWER_ANALYTICS_GROUP, TOPICS.playerEvents)).toEqual(
      await run.bus.endOffsets(TOPICS.playerEvents),
    );
  }, 600_000);
});
