/**
 * bench:bus — publish and consume throughput of the bus adapters (Kafka through kafkajs and
 * through @platformatic/kafka, and the embedded log), with a bare kafkajs producer and consumer
 * on the same payloads against the same broker as the baseline.
 *
 * Publish is measured the way the collector publishes: many concurrent callers, each sending a
 * 50-event batch and waiting for acks=all. The adapter merges concurrent callers into shared
 * producer batches (linger); the bare baseline sends each caller's batch as its own request.
 * The embedded adapter is measured on a log file on disk three times: appends fsynced (the
 * default), written to the OS only (EMBEDDED_BUS_SYNC=normal), and with SQLite's synchronous=OFF,
 * the baseline that shows what durability costs.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Bus, OutgoingMessage } from '../core/bus/bus.ts';
import { EmbeddedBus } from '../core/bus/embedded-bus.ts';
import type { LogSynchronous } from '../core/bus/embedded-log-store.ts';
import { KafkaBus, type KafkaBusOptions } from '../core/bus/kafka-bus.ts';
import { PlatformaticKafkaBus } from '../core/bus/platformatic-kafka-bus.ts';
import { startLocalServices } from '../infra/local/process-supervisor.ts';
import { percentile, recordBenchmark, round } from './harness.ts';

const TOTAL = Number(process.env.BENCH_MESSAGES ?? 100_000);
const BATCH = 50;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PARTITIONS = 4;
const tuning = { lingerMs: 5, maxBatchMessages: 2_000, maxBufferedMessages: 200_000 };

function playerEventPayloads(): OutgoingMessage[] {
  return Array.from({ length: TOTAL }, (_, i) => {
    const viewId = `view-${i % 5_000}`;
    const event = {
      schema_v: 1,
      event_id: randomUUID(),
      event: 'heartbeat',
      view_id: viewId,
      view_seq: Math.floor(i / 5_000),
      viewer_id: `viewer-${i % 4_000}`,
      stream_id: `stream-${i % 20}`,
      property_id: 'bench',
      viewer_time: 1_790_000_000_000 + i,
      event_time: 1_790_000_000_000 + i,
      received_at: 1_790_000_000_000 + i,
      player_state: 'playing',
      counters: { watch_ms: 10_000 + i, playing_ms: 9_000 + i, rebuffer_count: 1, rebuffer_ms: 250 },
      dimensions: { device: 'desktop', os: 'Linux', browser: 'Chrome', player_name: 'hls.js', rendition: '720p' },
      source: 'sdk',
    };
    return { key: viewId, value: Buffer.from(JSON.stringify(event)) };
  });
}

interface PublishFigures {
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

/** CONCURRENCY callers each publish BATCH-sized slices until TOTAL are acknowledged. */
async function measurePublish(
  send: (messages: OutgoingMessage[]) => Promise<void>,
  payloads: OutgoingMessage[],
): Promise<PublishFigures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < payloads.length) {
        const slice = payloads.slice(next, next + BATCH);
        next += BATCH;
        const t0 = performance.now();
        await send(slice);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    events_per_s: payloads.length / seconds,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
  };
}

// Consume rates are timed from the first delivered batch, so group-join time is not counted.
async function measureAdapterConsume(bus: Bus, topic: string): Promise<number> {
  let received = 0;
  let started = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const subscription = await bus.subscribe({
    groupId: `bench-${randomUUID()}`,
    topics: [topic],
    maxInFlightBatches: PARTITIONS,
    maxBatchMessages: 5_000,
    handleBatch: (batch) => {
      started ||= performance.now();
      received += batch.messages.length;
      if (received >= TOTAL) done();
      return Promise.resolve();
    },
  });
  await finished;
  const rate = TOTAL / ((performance.now() - started) / 1000);
  await subscription.stop();
  return rate;
}

async function measureBareConsume(kafka: Kafka, topic: string): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-bare-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let received = 0;
  let started = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: ({ batch }) => {
      started ||= performance.now();
      received += batch.messages.length;
      if (received >= TOTAL) done();
      return Promise.resolve();
    },
  });
  await finished;
  const rate = TOTAL / ((performance.now() - started) / 1000);
  await consumer.disconnect();
  return rate;
}

/** A Kafka adapter publishing to a topic of its own, then consuming it. */
async function measureKafkaAdapter(bus: Bus, topic: string, payloads: OutgoingMessage[]) {
  try {
    const publish = await measurePublish((messages) => bus.publish(topic, messages), payloads);
    const consume = await measureAdapterConsume(bus, topic);
    return { publish, consume };
  } finally {
    await bus.close();
  }
}

/** The embedded bus on a log file of its own in the data directory (on disk, as deployed). */
async function measureEmbedded(synchronous: LogSynchronous, payloads: OutgoingMessage[]) {
  await mkdir(join(process.cwd(), 'data'), { recursive: true });
  const dir = await mkdtemp(join(process.cwd(), 'data', 'bench-bus-'));
  const path = join(dir, 'log.sqlite');
  const bus = new EmbeddedBus({
    path,
    synchronous,
    defaultPartitions: PARTITIONS,
    maxRetainedMessages: TOTAL * 2,
    publish: tuning,
  });
  try {
    await bus.ensureTopics([{ name: 'bench', partitions: PARTITIONS }]);
    const publish = await measurePublish((messages) => bus.publish('bench', messages), payloads);
    const consume = await measureAdapterConsume(bus, 'bench');
    const logBytes = (await stat(path)).size + (await stat(`${path}-wal`).catch(() => ({ size: 0 }))).size;
    return { publish, consume, logBytes };
  } finally {
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const services = await startLocalServices(['kafka'], { log: (line) => process.stderr.write(`${line}\n`) });
  const brokers = services.endpoints.kafkaBrokers!;
  const payloads = playerEventPayloads();
  const payloadBytes = Math.round(payloads.reduce((n, p) => n + p.value.length, 0) / payloads.length);
  try {
    const kafka = new Kafka({ clientId: 'bench-bare', brokers: [brokers], logLevel: logLevel.ERROR });
    const admin = kafka.admin();
    await admin.connect();
    const bareTopic = `bench.bare.${randomUUID().slice(0, 8)}`;
    const adapterTopic = `bench.adapter.${randomUUID().slice(0, 8)}`;
    const platformaticTopic = `bench.platformatic.${randomUUID().slice(0, 8)}`;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [bareTopic, adapterTopic, platformaticTopic].map((topic) => ({ topic, numPartitions: PARTITIONS })),
    });
    await admin.disconnect();

    // Baseline: bare kafkajs, same durability settings (idempotent, acks=all), no linger.
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const bare = await measurePublish(
      (messages) => producer.send({ topic: bareTopic, acks: -1, messages }).then(() => undefined),
      payloads,
    );
    await producer.disconnect();
    const bareConsume = await measureBareConsume(kafka, bareTopic);

    // The two Kafka adapters with the same settings, each on a topic of its own.
    const adapterOptions: KafkaBusOptions = {
      brokers: [brokers],
      clientId: 'bench-adapter',
      defaultPartitions: PARTITIONS,
      replicationFactor: 1,
      publish: tuning,
    };
    const { publish: adapter, consume: adapterConsume } = await measureKafkaAdapter(
      new KafkaBus(adapterOptions),
      adapterTopic,
      payloads,
    );
    const platformatic = await measureKafkaAdapter(
      new PlatformaticKafkaBus(adapterOptions),
      platformaticTopic,
      payloads,
    );

    // What the embedded log's durability costs: the same log with its appends fsynced (the
    // default), written to the OS only, and with no write ordering at all.
    const embedded = {
      full: await measureEmbedded('full', payloads),
      normal: await measureEmbedded('normal', payloads),
      off: await measureEmbedded('off', payloads),
    };

    await recordBenchmark({
      name: 'bus',
      command: 'npm run bench:bus',
      measured: {
        messages: TOTAL,
        payload_bytes: payloadBytes,
        concurrency: CONCURRENCY,
        kafka_publish_eps: round(adapter.events_per_s),
        kafka_publish_p50_ms: round(adapter.p50_ms),
        kafka_publish_p99_ms: round(adapter.p99_ms),
        kafka_consume_eps: round(adapterConsume),
        platformatic_publish_eps: round(platformatic.publish.events_per_s),
        platformatic_publish_p50_ms: round(platformatic.publish.p50_ms),
        platformatic_publish_p99_ms: round(platformatic.publish.p99_ms),
        platformatic_consume_eps: round(platformatic.consume),
        embedded_publish_eps: round(embedded.full.publish.events_per_s),
        embedded_publish_p50_ms: round(embedded.full.publish.p50_ms),
        embedded_publish_p99_ms: round(embedded.full.publish.p99_ms),
        embedded_consume_eps: round(embedded.full.consume),
        embedded_normal_publish_eps: round(embedded.normal.publish.events_per_s),
        embedded_normal_publish_p99_ms: round(embedded.normal.publish.p99_ms),
        embedded_log_bytes_per_event: round(embedded.full.logBytes / TOTAL),
      },
      baseline: {
        bare_kafkajs_publish_eps: round(bare.events_per_s),
        bare_kafkajs_publish_p50_ms: round(bare.p50_ms),
        bare_kafkajs_publish_p99_ms: round(bare.p99_ms),
        bare_kafkajs_consume_eps: round(bareConsume),
        embedded_sync_off_publish_eps: round(embedded.off.publish.events_per_s),
        embedded_sync_off_publish_p99_ms: round(embedded.off.publish.p99_ms),
        embedded_sync_off_consume_eps: round(embedded.off.consume),
      },
      ratio: {
        kafka_publish: round(adapter.events_per_s / bare.events_per_s),
        kafka_consume: round(adapterConsume / bareConsume),
        platformatic_publish: round(platformatic.publish.events_per_s / bare.events_per_s),
        platformatic_consume: round(platformatic.consume / bareConsume),
        platformatic_vs_kafkajs_publish: round(platformatic.publish.events_per_s / adapter.events_per_s),
        platformatic_vs_kafkajs_consume: round(platformatic.consume / adapterConsume),
        embedded_publish_fsync_vs_off: round(embedded.full.publish.events_per_s / embedded.off.publish.events_per_s),
        embedded_publish_vs_kafka: round(embedded.full.publish.events_per_s / adapter.events_per_s),
      },
    });
  } finally {
    await services.stop();
  }
}

await main();
