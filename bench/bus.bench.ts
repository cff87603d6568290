/**
 * bench:bus — publish and consume throughput of both bus adapters, with a bare kafkajs
 * producer and consumer on the same payloads against the same broker as the baseline.
 *
 * Publish is measured the way the collector publishes: many concurrent callers, each sending a
 * 50-event batch and waiting for acks=all. The adapter merges concurrent callers into shared
 * producer batches (linger); the bare baseline sends each caller's batch as its own request.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Bus, OutgoingMessage } from '../core/bus/bus.ts';
import { EmbeddedBus } from '../core/bus/embedded-bus.ts';
import { KafkaBus } from '../core/bus/kafka-bus.ts';
import { startLocalServices } from '../infra/local/services.ts';
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
async function measurePublish(send: (messages: OutgoingMessage[]) => Promise<void>, payloads: OutgoingMessage[]): Promise<PublishFigures> {
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
  return { events_per_s: payloads.length / seconds, p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99) };
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
    handleBatch: async (batch) => {
      started ||= performance.now();
      received += batch.messages.length;
      if (received >= TOTAL) done();
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
    eachBatch: async ({ batch }) => {
      started ||= performance.now();
      received += batch.messages.length;
      if (received >= TOTAL) done();
    },
  });
  await finished;
  const rate = TOTAL / ((performance.now() - started) / 1000);
  await consumer.disconnect();
  return rate;
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
    await admin.createTopics({ waitForLeaders: true, topics: [bareTopic, adapterTopic].map((topic) => ({ topic, numPartitions: PARTITIONS })) });
    await admin.disconnect();

    // Baseline: bare kafkajs, same durability settings (idempotent, acks=all), no linger.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const bare = await measurePublish(
      (messages) => producer.send({ topic: bareTopic, acks: -1, messages }).then(() => undefined),
      payloads,
    );
    await producer.disconnect();
    const bareConsume = await measureBareConsume(kafka, bareTopic);

    const kafkaBus = new KafkaBus({ brokers: [brokers], clientId: 'bench-adapter', defaultPartitions: PARTITIONS, replicationFactor: 1, publish: tuning });
    const adapter = await measurePublish((messages) => kafkaBus.publish(adapterTopic, messages), payloads);
    const adapterConsume = await measureAdapterConsume(kafkaBus, adapterTopic);
    await kafkaBus.close();

    const embeddedBus = new EmbeddedBus({ defaultPartitions: PARTITIONS, maxRetainedMessages: TOTAL * 2, publish: tuning });
    await embeddedBus.ensureTopics([{ name: 'bench', partitions: PARTITIONS }]);
    const embedded = await measurePublish((messages) => embeddedBus.publish('bench', messages), payloads);
    const embeddedConsume = await measureAdapterConsume(embeddedBus, 'bench');
    await embeddedBus.close();

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
        embedded_publish_eps: round(embedded.events_per_s),
        embedded_publish_p99_ms: round(embedded.p99_ms),
        embedded_consume_eps: round(embeddedConsume),
      },
      baseline: {
        bare_kafkajs_publish_eps: round(bare.events_per_s),
        bare_kafkajs_publish_p50_ms: round(bare.p50_ms),
        bare_kafkajs_publish_p99_ms: round(bare.p99_ms),
        bare_kafkajs_consume_eps: round(bareConsume),
      },
      ratio: {
        kafka_publish: round(adapter.events_per_s / bare.events_per_s),
        kafka_consume: round(adapterConsume / bareConsume),
      },
    });
  } finally {
    await services.stop();
  }
}

await main();
