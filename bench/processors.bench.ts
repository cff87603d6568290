/**
 * bench:processors — events per second the viewer-analytics processor sustains from the real
 * Kafka broker (its state in a compacted changelog topic on the same broker, as Kafka Streams
 * keeps its stores) and on into the ClickHouse engine (through analytics.aggregates and the
 * ClickHouse sink, the window rows and view summaries), against two baselines reading the same
 * events from the same broker in the same run:
 *
 * - Kafka Streams (the headline baseline, what a user would pick instead): bench/kafka-streams/,
 *   a Java app on the broker's own Kafka version, exactly-once v2, computing per stream and 10 s
 *   event-time window the concurrent viewers and watch time. Per view (the input's key, so no
 *   repartition) a RocksDB store backed by a changelog topic keeps the latest sample by view_seq
 *   per open window; each change of a view's contribution goes, keyed by stream and window,
 *   through a repartition topic into a second changelog-backed store that sums them, and on to an
 *   output topic. Window close and lateness follow the processor's: the watermark is the
 *   partition's highest received_at, and an event more than the allowed lateness (30 s) behind it
 *   is dropped. Differences from the processor's rows (window-rows.ts): a viewer is a view heard
 *   from in the window whose latest sample is in a watching state — the processor also counts a
 *   view silent for less than inactiveAfterMs (25 s) and leaves out rebuffering longer than
 *   maxRebufferMs and views it ended after a silence; no other dimension, views started, playing
 *   or rebuffer figures; ended views are never evicted from the store. Built with mvn + javac into
 *   the livepulse cache on first use (bench/kafka-streams-app.ts); 2 stream threads (the cores).
 * - A bare kafkajs consumer, kept for reference.
 *
 * The events are a simulation's (collector-shaped, clock-corrected), pre-loaded into Kafka so
 * every side reads a backlog at full speed. Each is measured from its first batch (Kafka Streams:
 * its first record) to the last event (the processor and Kafka Streams: to their groups having
 * committed every input offset, polled through the admin API). The ClickHouse sink then
 * drains the processor's output on its own, timed likewise from its first batch, and `processor_and_clickhouse_sink_eps` is the events
 * over the two phases' sum; the raw-events sink (player.events → player_events_raw) is measured
 * separately afterwards on the same backlog.
 *
 * The processor runs as `livepulse start viewer-analytics` does on Kafka: in worker threads, one per
 * available core up to the partitions (BENCH_ANALYTICS_WORKER_THREADS=N to choose; 1: in the main
 * thread).
 *
 * The processor and the sinks use the Kafka client KAFKA_CLIENT names (platformatic, the default:
 * @platformatic/kafka, or kafkajs), as `livepulse start` does; the baselines are unchanged.
 *
 * `npm run bench:processors -- --processor-only` runs only the processor phase and prints its rate,
 * this process's CPU per event and the phase's window on the monotonic clock (to cut a
 * `node --cpu-prof` profile to it), recording nothing.
 *
 * `npm run bench:processors -- --check` runs a small load (BENCH_VIEWERS 300 unless set) and,
 * instead of recording figures, compares Kafka Streams' per-window viewers and watch time with
 * the processor's `all` rows in viewer_windows, failing beyond the definition differences above.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { createAnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../core/analytics-store/sql-quoting.ts';
import { applyMigrations } from '../core/analytics-store/migrations.ts';
import { forwardingBus, type Bus } from '../core/bus/bus.ts';
import { KafkaBus, type KafkaBusOptions } from '../core/bus/kafka-bus.ts';
import { PlatformaticKafkaBus } from '../core/bus/platformatic-kafka-bus.ts';
import { loadConfig, type AnalyticsSettings } from '../core/config.ts';
import { DEFAULT_KAFKA_CLIENT } from '../core/config/bus.ts';
import { Metrics } from '../core/metrics.ts';
import { playerEventMessage } from '../core/schemas/player-event-message.ts';
import { allTopicSpecs, stateChangelogTopic, TOPICS } from '../core/topics.ts';
import { startLocalServices } from '../infra/local/process-supervisor.ts';
import { ClickHouseSink } from '../stream-processors/sinks/clickhouse-sink.ts';
import { collectedEvents } from '../tools/simulator/collector-view.ts';
import { planSimulation } from '../tools/simulator/viewer-scripts.ts';
import { AnalyticsWorkerPool } from '../stream-processors/viewer-analytics/analytics-worker-pool.ts';
import {
  ViewerAnalyticsProcessor,
  VIEWER_ANALYTICS_GROUP,
} from '../stream-processors/viewer-analytics/viewer-analytics-processor.ts';
import { analyticsThreadCount } from '../stream-processors/viewer-analytics/worker-threads-plan.ts';
import { recordBenchmark, round } from './harness.ts';
import { buildKafkaStreamsApp, startKafkaStreamsApp } from './kafka-streams-app.ts';
import { compareWindowFigures, type WindowFigures } from './window-figures.ts';

const CHECK = process.argv.includes('--check');
// `-- --processor-only`: only the processor phase, printed and not recorded (for profiles and quick comparisons).
const PROCESSOR_ONLY = process.argv.includes('--processor-only');
const VIEWERS = Number(process.env.BENCH_VIEWERS ?? (CHECK ? 300 : 20_000));
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? (CHECK ? 120_000 : 240_000));
const KAFKA_STREAMS_THREADS = Number(process.env.BENCH_KAFKA_STREAMS_THREADS ?? 2);
const KAFKA_STREAMS_OUTPUT = 'kafka-streams.viewer-windows';
// Kafka Streams counts a subset of the processor's viewers (no 25 s carry-over of silent views).
const CHECK_TOLERANCES = { watchMsTotal: 0.01, viewersTotalBelow: 0.25 };
const log = (line: string) => process.stderr.write(`${line}\n`);
const PARTITIONS = 6;
const KAFKA_CLIENT = process.env.KAFKA_CLIENT ?? DEFAULT_KAFKA_CLIENT;
if (KAFKA_CLIENT !== 'kafkajs' && KAFKA_CLIENT !== 'platformatic')
  throw new Error(`KAFKA_CLIENT: must be kafkajs or platformatic, not ${KAFKA_CLIENT}`);
// As `livepulse start viewer-analytics` runs it on Kafka: ANALYTICS_WORKER_THREADS=auto unless set.
const ANALYTICS_THREADS = analyticsThreadCount({
  setting: process.env.BENCH_ANALYTICS_WORKER_THREADS ? Number(process.env.BENCH_ANALYTICS_WORKER_THREADS) : 'auto',
  busKind: 'kafka',
  analyticsStoreKind: 'clickhouse',
  availableCores: availableParallelism(),
  partitions: PARTITIONS,
}).threads;
/** The production defaults, each overridable as in a deployment (e.g. ANALYTICS_CATCH_UP_INTERVAL_MS=1000). */
const settings: AnalyticsSettings = loadConfig(
  Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('ANALYTICS_'))),
).analytics;

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 900_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** The bus on the Kafka client KAFKA_CLIENT names. */
function clientBus(options: KafkaBusOptions): Bus {
  return KAFKA_CLIENT === 'platformatic' ? new PlatformaticKafkaBus(options) : new KafkaBus(options);
}

/**
 * The processor as `livepulse start viewer-analytics` runs it on Kafka (worker threads unless
 * one), timed from its first batch: the first thread to join reads at once, and the rebalance
 * when the others join is part of the run.
 */
/** The bus, noting when its subscriptions' first batch arrived: the phases are timed from it, not from the group join. */
function timedBus(bus: Bus): { bus: Bus; firstBatchAt: () => number } {
  let firstBatchAt = 0;
  const subscribe: Bus['subscribe'] = (options) =>
    bus.subscribe({
      ...options,
      handleBatch: (batch) => {
        firstBatchAt ||= performance.now();
        return options.handleBatch(batch);
      },
    });
  return { bus: forwardingBus(bus, { subscribe }), firstBatchAt: () => firstBatchAt };
}

async function startProcessor(
  bus: Bus,
  brokers: string,
  topicPrefix: string,
  database: string,
  clickhouseUrl: string,
  metrics: Metrics,
  logger: Logger,
): Promise<{ processor: { stop(): Promise<void> }; firstBatchAt: () => number }> {
  let firstBatchAt = 0;
  if (ANALYTICS_THREADS === 1) {
    const timed = timedBus(bus);
    const processor = new ViewerAnalyticsProcessor({ bus: timed.bus, metrics, logger }, { settings });
    await processor.start();
    return { processor, firstBatchAt: timed.firstBatchAt };
  }
  const config = loadConfig({
    KAFKA_BROKERS: brokers,
    KAFKA_CLIENT,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    KAFKA_PARTITIONS: String(PARTITIONS),
    CLICKHOUSE_URL: clickhouseUrl,
    CLICKHOUSE_DATABASE: database,
    LIVEPULSE_WRITE_KEYS: 'bench:bench_processors_write_key',
    LIVEPULSE_JWT_SECRET: 'bench-processors-jwt-secret-0123456789abcdef',
    LIVEPULSE_IVS_WEBHOOK_SECRET: 'bench-processors-ivs-secret',
    LOG_LEVEL: 'warn',
  });
  const pool = new AnalyticsWorkerPool({
    config: { ...config, analytics: settings },
    threads: ANALYTICS_THREADS,
    metrics,
    logger,
    onWorkerReady: () => (firstBatchAt ||= performance.now()),
    onGiveUp: (error) => log(`analytics workers gave up: ${error.message}`),
  });
  await pool.start();
  return { processor: pool, firstBatchAt: () => firstBatchAt };
}

/**
 * Processor and ClickHouse sink side by side, as the platform runs them: the events loaded under a
 * prefix of their own, the sink joined before the processor starts, and the rate counted from the
 * processor's first batch until the sink has committed the last aggregate (every figure queryable).
 */
async function runAsDeployed(
  messages: Array<{ key: string; value: Buffer; headers?: Record<string, string> }>,
  topicPrefix: string,
  brokers: string,
  clickhouseUrl: string,
  logger: Logger,
): Promise<{ untilQueryableRate: number; processorRate: number }> {
  const store = await createAnalyticsStore({
    kind: 'clickhouse',
    url: clickhouseUrl,
    username: 'default',
    password: '',
    database: `bench_processors_${topicPrefix.replace(/\W/g, '')}`,
  });
  const bus = clientBus({
    brokers: [brokers],
    clientId: 'bench-processors-deployed',
    topicPrefix,
    defaultPartitions: PARTITIONS,
    replicationFactor: 1,
    publish: { lingerMs: 5, maxBatchMessages: 2_000, maxBufferedMessages: 200_000 },
    logger,
  });
  try {
    await applyMigrations(store);
    await bus.ensureTopics(allTopicSpecs(PARTITIONS));
    for (let i = 0; i < messages.length; i += 2_000)
      await bus.publish(TOPICS.playerEvents, messages.slice(i, i + 2_000));
    const end = await bus.endOffsets(TOPICS.playerEvents);
    const committed = async (group: string, topic: string, target: number[]) =>
      (await bus.committedOffsets(group, topic)).every((c, p) => target[p] === 0 || c >= target[p]!);
    const metrics = new Metrics();
    const sink = new ClickHouseSink({ bus, analytics: store, metrics, logger }, { consume: ['aggregates'] });
    await sink.start();
    await sink.ready();
    const running = await startProcessor(bus, brokers, topicPrefix, store.database, clickhouseUrl, metrics, logger);
    await until('the processor (as deployed) to commit every event', () =>
      committed('viewer-analytics', TOPICS.playerEvents, end),
    );
    const processorDone = performance.now();
    await running.processor.stop();
    const aggregatesEnd = await bus.endOffsets(TOPICS.analyticsAggregates);
    await until('the sink (as deployed) to write every aggregate', () =>
      committed('clickhouse-sink', TOPICS.analyticsAggregates, aggregatesEnd),
    );
    const queryableAt = performance.now();
    await sink.stop();
    const seconds = (at: number) => (at - running.firstBatchAt()) / 1000;
    return {
      untilQueryableRate: messages.length / seconds(queryableAt),
      processorRate: messages.length / seconds(processorDone),
    };
  } finally {
    await bus.close();
    await store.client
      .command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` })
      .catch(() => undefined);
    await store.close();
  }
}

async function main(): Promise<void> {
  const kafkaStreamsClasspath = await buildKafkaStreamsApp(log);
  const services = await startLocalServices(['kafka', 'clickhouse'], { log });
  const brokers = services.endpoints.kafkaBrokers!;
  const logger = pino({ level: 'warn' });
  // A finished run (in the past), so windows close as the backlog is read.
  const plan = planSimulation({
    viewers: VIEWERS,
    durationMs: DURATION_MS,
    seed: 9,
    streams: 20,
    startAt: Date.now() - DURATION_MS - 30 * 60_000,
  });
  const events = collectedEvents(plan, { deliveryDelayMs: (i) => (i * 7_919) % 3_000 });
  // As the collector publishes them: stamped as validated (core/schemas/player-event-message.ts).
  const messages = events.map(playerEventMessage);
  const payloadBytes = Math.round(messages.reduce((n, m) => n + m.value.length, 0) / messages.length);
  process.stderr.write(`${messages.length} events from ${plan.views.length} views, ${payloadBytes} bytes each\n`);
  log(`processor and sinks on the ${KAFKA_CLIENT} Kafka client (KAFKA_CLIENT)`);

  const id = randomUUID().slice(0, 8);
  const kafka = new Kafka({ clientId: 'bench-processors', brokers: [brokers], logLevel: logLevel.ERROR });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const admin = kafka.admin();
  const store = await createAnalyticsStore({
    kind: 'clickhouse',
    url: services.endpoints.clickhouseUrl!,
    username: 'default',
    password: '',
    database: `bench_processors_${id}`,
  });
  const bus = clientBus({
    brokers: [brokers],
    clientId: 'bench-processors',
    topicPrefix: `benchproc${id}.`,
    defaultPartitions: PARTITIONS,
    replicationFactor: 1,
    publish: { lingerMs: 5, maxBatchMessages: 2_000, maxBufferedMessages: 200_000 },
    logger,
  });
  const kafkaStreamsStateDir = await mkdtemp(join(tmpdir(), 'bench-kafka-streams-'));
  try {
    await applyMigrations(store);
    // The bus prefixes names, so `bare` is created as the baseline's topic next to the processor's.
    await bus.ensureTopics([
      ...allTopicSpecs(PARTITIONS),
      { name: 'bare', partitions: PARTITIONS },
      { name: KAFKA_STREAMS_OUTPUT, partitions: PARTITIONS },
    ]);
    const bareTopic = `benchproc${id}.bare`;
    await producer.connect();
    await admin.connect();
    for (let i = 0; i < messages.length; i += 2_000) {
      const slice = messages.slice(i, i + 2_000);
      // Fresh topics may take a moment to reach the broker's metadata.
      for (let attempt = 0; ; attempt++) {
        try {
          await producer.sendBatch({
            topicMessages: [
              { topic: bareTopic, messages: slice },
              { topic: `benchproc${id}.${TOPICS.playerEvents}`, messages: slice },
            ],
          });
          break;
        } catch (error) {
          if (attempt >= 20) throw error;
          await sleep(500);
        }
      }
    }

    // The processor alone on the loaded events, its state in its changelog topic.
    const startProcessorAlone = (metrics: Metrics) =>
      startProcessor(
        bus,
        brokers,
        `benchproc${id}.`,
        store.database,
        services.endpoints.clickhouseUrl!,
        metrics,
        logger,
      );

    if (PROCESSOR_ONLY) {
      // For profiling: the processor phase alone, printed and not recorded.
      const target = await bus.endOffsets(TOPICS.playerEvents);
      const metrics = new Metrics();
      const alone = await startProcessorAlone(metrics);
      // From the first worker's join, as the rate: the workers' start-up (module loading) is not per event.
      await until('the processor to start', () => Promise.resolve(alone.firstBatchAt() > 0));
      const cpuBefore = process.cpuUsage();
      const monotonicStart = process.hrtime.bigint() / 1000n;
      await until('the processor to commit every event', async () =>
        (await bus.committedOffsets('viewer-analytics', TOPICS.playerEvents)).every(
          (c, p) => target[p] === 0 || c >= target[p]!,
        ),
      );
      const cpu = process.cpuUsage(cpuBefore);
      const monotonicEnd = process.hrtime.bigint() / 1000n;
      const seconds = (performance.now() - alone.firstBatchAt()) / 1000;
      await alone.processor.stop();
      const changelogRecords = sum(await bus.endOffsets(stateChangelogTopic(VIEWER_ANALYTICS_GROUP)));
      process.stdout.write(
        `${JSON.stringify({
          processor_only: true,
          client: KAFKA_CLIENT,
          threads: ANALYTICS_THREADS,
          events: messages.length,
          processor_eps: round(messages.length / seconds),
          // This process's CPU (every thread) per event: steadier than events/s on a shared machine.
          cpu_us_per_event: round((cpu.user + cpu.system) / messages.length),
          changelog_records: changelogRecords,
          // The phase on the monotonic clock in µs, the clock of `node --cpu-prof`'s sample times.
          profile_window_us: [String(monotonicStart), String(monotonicEnd)],
        })}\n`,
      );
      return;
    }

    // Baseline: a bare kafkajs consumer over the same events.
    const bare = kafka.consumer({ groupId: `bench-bare-${id}` });
    await bare.connect();
    await bare.subscribe({ topics: [bareTopic], fromBeginning: true });
    let bareReceived = 0;
    let bareStarted = 0;
    let bareDone = 0;
    await bare.run({
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: ({ batch }) => {
        bareStarted ||= performance.now();
        bareReceived += batch.messages.length;
        if (bareReceived >= messages.length && !bareDone) bareDone = performance.now();
        return Promise.resolve();
      },
    });
    await until('the bare consumer', () => Promise.resolve(bareDone > 0));
    await bare.disconnect();
    const bareRate = messages.length / ((bareDone - bareStarted) / 1000);
    // A partition that never got a message has no committed offset (-1).
    const committed = async (group: string, topic: string, target: number[]) =>
      (await bus.committedOffsets(group, topic)).every((c, p) => target[p] === 0 || c >= target[p]!);
    // Groups of clients other than the bus (Kafka Streams, a kafkajs reader) carry no prefix.
    const committedOutsideBus = async (group: string, topic: string, target: number[]) => {
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [`benchproc${id}.${topic}`] });
      return target.every(
        (t, p) => t === 0 || Number(offsets!.partitions.find((o) => o.partition === p)?.offset ?? -1) >= t,
      );
    };
    const end = await bus.endOffsets(TOPICS.playerEvents);

    // Baseline: Kafka Streams on the same events, from its first record to its group having
    // committed every input offset; then (reported apart) until its repartition topic is drained too.
    const kafkaStreamsGroup = `bench-kafka-streams-${id}`;
    const kafkaStreams = startKafkaStreamsApp(
      {
        classpath: kafkaStreamsClasspath,
        bootstrap: brokers,
        input: `benchproc${id}.${TOPICS.playerEvents}`,
        output: `benchproc${id}.${KAFKA_STREAMS_OUTPUT}`,
        applicationId: kafkaStreamsGroup,
        stateDir: kafkaStreamsStateDir,
        threads: KAFKA_STREAMS_THREADS,
        windowMs: settings.windowMs,
        graceMs: settings.allowedLatenessMs,
        inMemoryStores: process.env.BENCH_KAFKA_STREAMS_IN_MEMORY === '1',
      },
      log,
    );
    let kafkaStreamsRate: number;
    let kafkaStreamsAllStagesRate: number;
    try {
      const kafkaStreamsStarted = await kafkaStreams.firstRecord;
      await until('Kafka Streams to commit every event', () =>
        committedOutsideBus(kafkaStreamsGroup, TOPICS.playerEvents, end),
      );
      kafkaStreamsRate = messages.length / ((performance.now() - kafkaStreamsStarted) / 1000);
      const repartition = `${kafkaStreamsGroup}-stream-windows-repartition`;
      const repartitionEnd = await admin.fetchTopicOffsets(repartition);
      await until('Kafka Streams to sum every window change', async () => {
        const [offsets] = await admin.fetchOffsets({ groupId: kafkaStreamsGroup, topics: [repartition] });
        // Written in transactions: the partition's last offset is the commit marker, which a consumer need not commit past.
        return repartitionEnd.every(
          ({ partition, high }) =>
            Number(high) === 0 ||
            Number(offsets!.partitions.find((p) => p.partition === partition)?.offset ?? -1) >= Number(high) - 1,
        );
      });
      kafkaStreamsAllStagesRate = messages.length / ((performance.now() - kafkaStreamsStarted) / 1000);
    } finally {
      await kafkaStreams.stop();
    }

    // Measured: the processor alone (its state in its changelog topic, restored — empty — by each
    // partition's first batch), from its first batch as the baseline is, so neither pays for the
    // group join; then the ClickHouse sink on the processor's output (analytics.aggregates), which
    // it consumes as a separate group in production too, also from its first batch.
    const metrics = new Metrics();
    const alone = await startProcessorAlone(metrics);
    await until('the processor to commit every event', () => committed('viewer-analytics', TOPICS.playerEvents, end));
    const processorDone = performance.now();
    await alone.processor.stop();
    const aggregatesEnd = await bus.endOffsets(TOPICS.analyticsAggregates);
    const sinkBus = timedBus(bus);
    const sink = new ClickHouseSink(
      { bus: sinkBus.bus, analytics: store, metrics, logger },
      { consume: ['aggregates'] },
    );
    await sink.start();
    await until('the ClickHouse sink to write every aggregate', () =>
      committed('clickhouse-sink', TOPICS.analyticsAggregates, aggregatesEnd),
    );
    // From its first batch, as the processor and Kafka Streams are: the group join is not the sink's work.
    const sinkSeconds = (performance.now() - sinkBus.firstBatchAt()) / 1000;
    await sink.stop();
    const processorSeconds = (processorDone - alone.firstBatchAt()) / 1000;
    const processorRate = messages.length / processorSeconds;
    // One after the other on the 2 cores: the events' whole way from player.events to the ClickHouse tables.
    const endToEndRate = messages.length / (processorSeconds + sinkSeconds);
    const changelogRecords = sum(await bus.endOffsets(stateChangelogTopic(VIEWER_ANALYTICS_GROUP)));
    const aggregatesMessages = sum(aggregatesEnd);

    if (CHECK) {
      // Kafka Streams' latest figures per window (its output is a changelog of the sums).
      const checkGroup = `bench-check-${id}`;
      const outputEnd = await bus.endOffsets(KAFKA_STREAMS_OUTPUT);
      const reader = kafka.consumer({ groupId: checkGroup });
      await reader.connect();
      await reader.subscribe({ topics: [`benchproc${id}.${KAFKA_STREAMS_OUTPUT}`], fromBeginning: true });
      const kafkaStreamsFigures = new Map<string, WindowFigures>();
      await reader.run({
        eachMessage: ({ message }) => {
          kafkaStreamsFigures.set(String(message.key), JSON.parse(String(message.value)) as WindowFigures);
          return Promise.resolve();
        },
      });
      // Written in transactions: each partition ends with a commit marker, which kafkajs does not commit past.
      await until('the Kafka Streams output', () =>
        committedOutsideBus(
          checkGroup,
          KAFKA_STREAMS_OUTPUT,
          outputEnd.map((end) => Math.max(0, end - 1)),
        ),
      );
      await reader.disconnect();
      const processorFigures = await store.client.query({
        query: `SELECT stream_id, toUnixTimestamp(window_start) * 1000 AS window_start, toUInt64(sum(concurrent_views)) AS viewers, toUInt64(sum(watch_ms)) AS watch_ms
                FROM viewer_windows FINAL WHERE dimension = 'all' GROUP BY stream_id, window_start`,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      const comparison = compareWindowFigures(
        await processorFigures.json<WindowFigures>(),
        [...kafkaStreamsFigures.values()],
        CHECK_TOLERANCES,
      );
      process.stdout.write(
        `${JSON.stringify({ check: 'kafka-streams vs processor', events: messages.length, views: plan.views.length, kafka_streams_eps: round(kafkaStreamsRate), ...comparison })}\n`,
      );
      if (comparison.problems.length > 0)
        throw new Error(
          `Kafka Streams and the processor disagree beyond the definition differences: ${comparison.problems.join('; ')}`,
        );
      return;
    }

    // As deployed: the sink already running beside the processor, on a copy of the events under a
    // topic prefix and database of their own, until the sink has written the last aggregate.
    const deployed = await runAsDeployed(
      messages,
      `benchproc${id}d.`,
      brokers,
      services.endpoints.clickhouseUrl!,
      logger,
    );

    // The raw-events sink on the same backlog, on its own.
    const rawSink = new ClickHouseSink({ bus, analytics: store, metrics, logger }, { consume: ['raw-events'] });
    const rawStarted = performance.now();
    await rawSink.start();
    await until('the raw-events sink', () => committed('clickhouse-sink.raw-events', TOPICS.playerEvents, end));
    const rawRate = messages.length / ((performance.now() - rawStarted) / 1000);
    await rawSink.stop();

    await recordBenchmark({
      name: 'processors',
      command: 'npm run bench:processors',
      measured: {
        events: messages.length,
        views: plan.views.length,
        payload_bytes: payloadBytes,
        partitions: PARTITIONS,
        processor_threads: ANALYTICS_THREADS,
        processor_eps: round(processorRate),
        processor_and_clickhouse_sink_eps: round(endToEndRate),
        until_queryable_as_deployed_eps: round(deployed.untilQueryableRate),
        processor_beside_sink_eps: round(deployed.processorRate),
        changelog_records: changelogRecords,
        aggregates_messages: aggregatesMessages,
        raw_events_sink_eps: round(rawRate),
      },
      baseline: {
        kafka_streams_eps: round(kafkaStreamsRate),
        kafka_streams_all_stages_eps: round(kafkaStreamsAllStagesRate),
        bare_kafkajs_consume_eps: round(bareRate),
      },
      ratio: {
        processor_vs_kafka_streams: round(processorRate / kafkaStreamsRate),
        processor_and_clickhouse_sink_vs_kafka_streams: round(endToEndRate / kafkaStreamsRate),
        until_queryable_as_deployed_vs_kafka_streams: round(deployed.untilQueryableRate / kafkaStreamsRate),
        processor_vs_bare: round(processorRate / bareRate),
        processor_and_clickhouse_sink_vs_bare: round(endToEndRate / bareRate),
      },
      notes: `${KAFKA_CLIENT} Kafka client for the processor and sinks; checkpoints every ${settings.emitIntervalMs} ms (${settings.catchUpIntervalMs} ms while catching up); processor (${ANALYTICS_THREADS === 1 ? 'in the main thread' : `${ANALYTICS_THREADS} worker threads, timed from the first having joined the group`}) and bare consumer timed from their first batch, Kafka Streams (exactly_once_v2, ${KAFKA_STREAMS_THREADS} threads, ${process.env.BENCH_KAFKA_STREAMS_IN_MEMORY === '1' ? 'in-memory' : 'RocksDB'} stores) from its first record, both stateful sides to their input offsets committed; the sink runs after the processor, on its output backlog, timed from its first batch; as deployed: the sink joined first and runs beside the processor on a copy of the events, timed from the processor's first batch to the sink's last commit`,
    });
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await rm(kafkaStreamsStateDir, { recursive: true, force: true });
    await bus.close();
    await store.client
      .command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` })
      .catch(() => undefined);
    await store.close();
    await services.stop();
  }
}

await main();
