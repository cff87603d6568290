/**
 * bench:processors — events per second the viewer-analytics processor sustains from the real
 * Kafka broker into the ClickHouse engine (its state store and, through analytics.aggregates and
 * the ClickHouse sink, the window rows and view summaries), against a bare kafkajs consumer reading
 * the same events from the same broker in the same run (the baseline).
 *
 * The events are a simulation's (collector-shaped, clock-corrected), pre-loaded into Kafka so
 * both sides read a backlog at full speed. Measured from the first batch to the group having
 * committed every offset; the raw-events sink (player.events → player_events_raw) is measured
 * separately afterwards on the same backlog.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { pino } from 'pino';
import { createAnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../core/analytics-store/chdb-session.ts';
import { applyMigrations } from '../core/analytics-store/migrations.ts';
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

    // Measured: the processor (state in ClickHouse) with the ClickHouse sink taking its output.
    const metrics = new Metrics();
    const sink = new ClickHouseSink({ bus, analytics: store, metrics, logger }, { consume: ['aggregates'] });
    await sink.start();
    const processor = new ViewerAnalyticsProcessor({ bus, analytics: store, metrics, logger }, { settings });
    const end = await bus.endOffsets(TOPICS.playerEvents);
    const started = performance.now();
    await processor.start();
    // A partition that never got a message has no committed offset (-1).
    const committed = async (group: string, topic: string, target: number[]) => (await bus.committedOffsets(group, topic)).every((c, p) => target[p] === 0 || c >= target[p]!);
    await until('the processor to commit every event', () => committed('viewer-analytics', TOPICS.playerEvents, end));
    const processorDone = performance.now();
    const aggregatesEnd = await bus.endOffsets(TOPICS.analyticsAggregates);
    await until('the ClickHouse sink to write every aggregate', () => committed('clickhouse-sink', TOPICS.analyticsAggregates, aggregatesEnd));
    const sinkDone = performance.now();
    await processor.stop();
    await sink.stop();
    // Timed from subscribe, so the group join counts against the processor.
    const processorRate = messages.length / ((processorDone - started) / 1000);
    const endToEndRate = messages.length / ((sinkDone - started) / 1000);

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
      notes: 'group join included in the measured time; the baseline is timed from its first batch',
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
