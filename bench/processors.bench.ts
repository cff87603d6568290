/**
 * bench:processors — events per second the viewer-analytics processor sustains from the real
 * Kafka broker into the ClickHouse engine (its state store and, through analytics.aggregates and
 * the ClickHouse sink, the window rows and view summaries), against a bare kafkajs consumer reading
 * the same events from the same broker in the same run (the baseline).
 *
 * The events are a simulation's (collector-shaped, clock-corrected), pre-loaded into Kafka so
 * both sides read a backlog at full speed. Both are measured from their first batch to the last
 * event (the processor: to its group having committed every offset). The ClickHouse sink then
 * drains the processor's output on its own, and `processor_and_clickhouse_sink_eps` is the events
 * over the two phases' sum; the raw-events sink (player.events → player_events_raw) is measured
 * separately afterwards on the same backlog.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { pino } from 'pino';
import { createAnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../core/analytics-store/chdb-session.ts';
import { applyMigrations } from '../core/analytics-store/migrations.ts';
import type { Bus } from '../core/bus/bus.ts';
import { KafkaBus } from '../core/bus/kafka-bus.ts';
import type { AnalyticsSettings } from '../core/config.ts';
import { Metrics } from '../core/metrics.ts';
import { allTopicSpecs, TOPICS } from '../core/topics.ts';
import { startLocalServices } from '../infra/local/services.ts';
import { ClickHouseSink } from '../stream-processors/sinks/clickhouse-sink.ts';
import { collectedEvents } from '../stream-processors/simulator/collector-view.ts';
import { planSimulation } from '../stream-processors/simulator/viewer-scripts.ts';
import { ViewerAnalyticsProcessor } from '../stream-processors/viewer-analytics/viewer-analytics-processor.ts';
import { recordBenchmark, round } from './harness.ts';

const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 20_000);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 240_000);
const PARTITIONS = 6;
const settings: AnalyticsSettings = {
  windowMs: 10_000,
  allowedLatenessMs: 30_000,
  inactiveAfterMs: 25_000,
  endAfterSilenceMs: 60_000,
  pausedEndAfterMs: 3_600_000,
  maxRebufferMs: 300_000,
  emitIntervalMs: 1_000,
  idleAdvanceMs: 2_000,
  maxViewsPerPartition: 200_000,
};

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 900_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main(): Promise<void> {
  const services = await startLocalServices(['kafka', 'clickhouse'], { log: (line) => process.stderr.write(`${line}\n`) });
  const brokers = services.endpoints.kafkaBrokers!;
  const logger = pino({ level: 'warn' });
  // A finished run (in the past), so windows close as the backlog is read.
  const plan = planSimulation({ viewers: VIEWERS, durationMs: DURATION_MS, seed: 9, streams: 20, startAt: Date.now() - DURATION_MS - 30 * 60_000 });
  const events = collectedEvents(plan, { deliveryDelayMs: (i) => (i * 7_919) % 3_000 });
  const messages = events.map((e) => ({ key: e.view_id, value: Buffer.from(JSON.stringify(e)) }));
  const payloadBytes = Math.round(messages.reduce((n, m) => n + m.value.length, 0) / messages.length);
  process.stderr.write(`${messages.length} events from ${plan.views.length} views, ${payloadBytes} bytes each\n`);

  const id = randomUUID().slice(0, 8);
  const kafka = new Kafka({ clientId: 'bench-processors', brokers: [brokers], logLevel: logLevel.ERROR });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const store = await createAnalyticsStore({ kind: 'clickhouse', url: services.endpoints.clickhouseUrl!, username: 'default', password: '', database: `bench_processors_${id}` });
  const bus = new KafkaBus({ brokers: [brokers], clientId: 'bench-processors', topicPrefix: `benchproc${id}.`, defaultPartitions: PARTITIONS, replicationFactor: 1, publish: { lingerMs: 5, maxBatchMessages: 2_000, maxBufferedMessages: 200_000 }, logger });
  try {
    await applyMigrations(store);
    // The bus prefixes names, so `bare` is created as the baseline's topic next to the processor's.
    await bus.ensureTopics([...allTopicSpecs(PARTITIONS), { name: 'bare', partitions: PARTITIONS }]);
    const bareTopic = `benchproc${id}.bare`;
    await producer.connect();
    for (let i = 0; i < messages.length; i += 2_000) {
      const slice = messages.slice(i, i + 2_000);
      // Fresh topics may take a moment to reach the broker's metadata.
      for (let attempt = 0; ; attempt++) {
        try {
          await producer.sendBatch({ topicMessages: [{ topic: bareTopic, messages: slice }, { topic: `benchproc${id}.${TOPICS.playerEvents}`, messages: slice }] });
          break;
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
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
      eachBatch: async ({ batch }) => {
        bareStarted ||= performance.now();
        bareReceived += batch.messages.length;
        if (bareReceived >= messages.length && !bareDone) bareDone = performance.now();
      },
    });
    await until('the bare consumer', async () => bareDone > 0);
    await bare.disconnect();
    const bareRate = messages.length / ((bareDone - bareStarted) / 1000);

    // Measured: the processor alone (its state in ClickHouse), from its first batch as the
    // baseline is, so neither pays for the group join; then the ClickHouse sink on the processor's
    // output (analytics.aggregates), which it consumes as a separate group in production too.
    const metrics = new Metrics();
    let firstBatchAt = 0;
    const timedSubscribe: Bus['subscribe'] = (options) =>
      bus.subscribe({
        ...options,
        handleBatch: (batch) => {
          firstBatchAt ||= performance.now();
          return options.handleBatch(batch);
        },
      });
    // The real bus in every other respect (methods bound to it, so its state stays its own).
    const timedBus = new Proxy(bus, {
      get: (target, property) => {
        if (property === 'subscribe') return timedSubscribe;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const processor = new ViewerAnalyticsProcessor({ bus: timedBus, analytics: store, metrics, logger }, { settings });
    const end = await bus.endOffsets(TOPICS.playerEvents);
    await processor.start();
    // A partition that never got a message has no committed offset (-1).
    const committed = async (group: string, topic: string, target: number[]) => (await bus.committedOffsets(group, topic)).every((c, p) => target[p] === 0 || c >= target[p]!);
    await until('the processor to commit every event', () => committed('viewer-analytics', TOPICS.playerEvents, end));
    const processorDone = performance.now();
    await processor.stop();
    const aggregatesEnd = await bus.endOffsets(TOPICS.analyticsAggregates);
    const sink = new ClickHouseSink({ bus, analytics: store, metrics, logger }, { consume: ['aggregates'] });
    const sinkStarted = performance.now();
    await sink.start();
    await until('the ClickHouse sink to write every aggregate', () => committed('clickhouse-sink', TOPICS.analyticsAggregates, aggregatesEnd));
    const sinkSeconds = (performance.now() - sinkStarted) / 1000;
    await sink.stop();
    const processorSeconds = (processorDone - firstBatchAt) / 1000;
    const processorRate = messages.length / processorSeconds;
    // One after the other on the 2 cores: the events' whole way from player.events to the ClickHouse tables.
    const endToEndRate = messages.length / (processorSeconds + sinkSeconds);

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
        processor_eps: round(processorRate),
        processor_and_clickhouse_sink_eps: round(endToEndRate),
        raw_events_sink_eps: round(rawRate),
      },
      baseline: { bare_kafkajs_consume_eps: round(bareRate) },
      ratio: { processor: round(processorRate / bareRate), processor_and_clickhouse_sink: round(endToEndRate / bareRate) },
      notes: 'processor and baseline timed from their first batch; the sink runs after the processor, on its output backlog (group join included)',
    });
  } finally {
    await producer.disconnect().catch(() => undefined);
    await bus.close();
    await store.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` }).catch(() => undefined);
    await store.close();
    await services.stop();
  }
}

await main();
