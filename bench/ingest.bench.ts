/**
 * bench:ingest — the collector's throughput and latency into the real Kafka broker, with a bare
 * kafkajs producer sending the same events in the same 50-event batches as the baseline.
 *
 * The collector runs as it is deployed: `livepulse start ingest-api` in its own process
 * (distributed mode: Kafka bus, acks=all; Redis live state, which holds the event_id dedupe
 * ledger, as docker-compose and the Helm chart configure it). autocannon drives
 * `POST /v1/events` with realistic 50-event batches, every event with its own event_id (so
 * dedupe does not short-cut anything). Phase 1 finds the maximum: events/s and latency with
 * CONCURRENCY connections. Phase 2 offers half that rate and reports its latency, the figure the
 * 100 ms p99 target is about. The baseline then sends the same enriched events, 50 per send,
 * with CONCURRENCY concurrent senders, from a bare idempotent kafkajs producer (acks=all).
 *
 * Phase 2 is an open-loop, constant-arrival-rate load (as wrk2 or k6's constant-arrival-rate
 * run it), not autocannon's `overallRate`: autocannon paces by letting every connection fire its
 * quota for the second at once and then wait for the next second, so "half the rate" arrives as
 * full-speed bursts; and it then "corrects" latencies with a 1 ms expected interval, which
 * records a 100 ms answer a hundred times. Here request i is due at start + i/rate and its
 * latency runs from that due time, so a generator or server that falls behind is counted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import type { EnrichedPlayerEvent } from '../core/schemas/player-event.ts';
import { TOPICS } from '../core/topics.ts';
import { startLocalServices } from '../infra/local/process-supervisor.ts';
import { percentile, recordBenchmark, round } from './harness.ts';

const BATCH = 50;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const PARTITIONS = 4;
const WRITE_KEY = `wk_bench_${randomUUID()}`;
const PROPERTY = 'bench';
const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** The part of autocannon's API this bench uses (the package ships no types). */
interface AutocannonRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
  onResponse?: (status: number) => void;
}
interface AutocannonResult {
  duration: number;
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: {
  url: string;
  connections: number;
  duration: number;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;

/** 50 event templates (5,000 views, realistic dimensions); only event_id changes from batch to batch. */
function batchFactory(now: number) {
  let counter = 0;
  const runId = randomUUID().slice(0, 8);
  const parts = Array.from({ length: BATCH }, (_, slot) => {
    const view = `view-${slot * 100 + Math.floor(Math.random() * 100)}`;
    const after = JSON.stringify({
      event: 'heartbeat',
      view_id: view,
      view_seq: slot,
      viewer_id: `viewer-${slot * 80}`,
      session_id: `session-${slot}`,
      stream_id: `stream-${slot % 20}`,
      is_live: true,
      viewer_time: now - 5_000 + slot,
      playhead_ms: 600_000 + slot * 10_000,
      player_state: 'playing',
      counters: {
        watch_ms: 610_000,
        playing_ms: 598_000,
        rebuffer_count: 2,
        rebuffer_ms: 1_800,
        seek_count: 1,
        seek_ms: 420,
        ttff_ms: 640,
        dropped_frames: 12,
      },
      dimensions: {
        player_name: 'hls.js',
        player_version: '1.7.4',
        player_width: 1280,
        player_height: 720,
        source_width: 1280,
        source_height: 720,
        source_bitrate_kbps: 2_500,
        rendition: '720p',
        cdn: 'edge-1',
      },
    }).slice(1);
    return [`{"schema_v":1,"event_id":"${runId}-0000-4000-8000-`, after] as const;
  });
  return {
    /** A JSON batch body whose every event has a fresh UUID. */
    body(): string {
      const events = parts.map(([head, tail]) => `${head}${(counter++).toString(16).padStart(12, '0')}",${tail}`);
      return `{"metadata":{"sdk":"bench","sent_at":${Date.now()}},"events":[${events.join(',')}]}`;
    },
  };
}

async function startCollector(
  brokers: string,
  redisUrl: string,
  topicPrefix: string,
  dataDir: string,
): Promise<{ url: string; child: ChildProcess }> {
  // BENCH_COLLECTOR_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, to look inside the collector under load.
  const nodeArgs = process.env.BENCH_COLLECTOR_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, join(repoRoot, 'bin/livepulse.js'), 'start', 'ingest-api'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'warn',
      LIVEPULSE_DATA_DIR: dataDir,
      KAFKA_BROKERS: brokers,
      REDIS_URL: redisUrl,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      KAFKA_PARTITIONS: String(PARTITIONS),
      LIVEPULSE_WRITE_KEYS: `${PROPERTY}:${WRITE_KEY}`,
      LIVEPULSE_JWT_SECRET: 'b'.repeat(32),
      LIVEPULSE_IVS_WEBHOOK_SECRET: 'bench-ivs-secret-0123',
    },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`collector exited with ${code} before listening: ${output}`)));
  });
  return { url, child };
}

type Buckets = Map<number, number>;

/** Cumulative `le` buckets of one Prometheus histogram series, from the collector's /metrics. */
async function scrapeHistogram(url: string, metric: string, label: string): Promise<Buckets> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets: Buckets = new Map();
  const pattern = new RegExp(`^${metric}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const match of text.matchAll(pattern)) {
    if (!match[1]!.includes(label)) continue;
    const le = /le="([^"]+)"/.exec(match[1]!)![1]!;
    buckets.set(le === '+Inf' ? Infinity : Number(le), Number(match[2]));
  }
  return buckets;
}

/** The q-quantile (ms) of what a histogram counted between two scrapes: the upper bound of the bucket it falls in. */
function quantileMs(before: Buckets, after: Buckets, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const bound of bounds) {
    if ((after.get(bound) ?? 0) - (before.get(bound) ?? 0) >= q * total) return bound * 1000;
  }
  return NaN;
}

async function serverLatency(url: string, phase: () => Promise<LoadFigures>) {
  const series = [
    ['livepulse_ingest_request_duration_seconds', 'route="events"'],
    ['livepulse_ingest_bus_publish_duration_seconds', `topic="${TOPICS.playerEvents}"`],
  ] as const;
  const before = await Promise.all(series.map(([metric, label]) => scrapeHistogram(url, metric, label)));
  const figures = await phase();
  const after = await Promise.all(series.map(([metric, label]) => scrapeHistogram(url, metric, label)));
  return {
    figures,
    server: {
      request_p50_ms: quantileMs(before[0]!, after[0]!, 0.5),
      request_p99_ms: quantileMs(before[0]!, after[0]!, 0.99),
      publish_p50_ms: quantileMs(before[1]!, after[1]!, 0.5),
      publish_p99_ms: quantileMs(before[1]!, after[1]!, 0.99),
    },
  };
}

interface LoadFigures {
  events_per_s: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  accepted_events: number;
  non_202: number;
  errors: number;
}

async function load(url: string, factory: ReturnType<typeof batchFactory>): Promise<LoadFigures> {
  let accepted = 0;
  const result = await autocannon({
    url: `${url}/v1/events?key=${WRITE_KEY}`,
    connections: CONCURRENCY,
    duration: DURATION_S,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        setupRequest: (request) => ({ ...request, body: factory.body() }),
        onResponse: (status) => {
          if (status === 202) accepted += BATCH;
        },
      },
    ],
  });
  const seconds = result.duration;
  return {
    events_per_s: accepted / seconds,
    requests_per_s: result.requests.average,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    accepted_events: accepted,
    non_202: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/**
 * Open-loop load at a constant arrival rate over up to CONCURRENCY keep-alive connections:
 * request i is due at start + i / requestsPerSecond, and its latency is measured from then.
 */
async function steadyLoad(
  url: string,
  factory: ReturnType<typeof batchFactory>,
  requestsPerSecond: number,
): Promise<LoadFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(`${url}/v1/events?key=${WRITE_KEY}`);
  const latencies: number[] = [];
  let accepted = 0;
  let non202 = 0;
  let errors = 0;
  const post = (body: string, due: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.once('end', () => {
            latencies.push(performance.now() - due);
            if (res.statusCode === 202) accepted += BATCH;
            else non202++;
            resolve();
          });
        },
      );
      req.once('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const total = Math.round(requestsPerSecond * DURATION_S);
  const inFlight: Array<Promise<void>> = [];
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      for (; sent < total && started + (sent * 1000) / requestsPerSecond <= now; sent++) {
        inFlight.push(post(factory.body(), started + (sent * 1000) / requestsPerSecond));
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    events_per_s: accepted / seconds,
    requests_per_s: total / seconds,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    accepted_events: accepted,
    non_202: non202,
    errors,
  };
}

/** The same enriched events, 50 per send, CONCURRENCY senders, acks=all, for as long as the collector ran. */
async function bareProducer(producer: Producer, topic: string, factory: ReturnType<typeof batchFactory>) {
  const latencies: number[] = [];
  let sent = 0;
  const deadline = performance.now() + DURATION_S * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const events = (JSON.parse(factory.body()) as { events: EnrichedPlayerEvent[] }).events;
        const now = Date.now();
        const messages = events.map((e) => ({
          key: e.view_id,
          value: Buffer.from(
            JSON.stringify({
              ...e,
              property_id: PROPERTY,
              event_time: e.viewer_time,
              received_at: now,
              source: 'sdk',
              dimensions: { ...e.dimensions, device: 'desktop', os: 'Linux', browser: 'Chrome' },
            }),
          ),
        }));
        const t0 = performance.now();
        await producer.send({ topic, acks: -1, messages });
        latencies.push(performance.now() - t0);
        sent += messages.length;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    events_per_s: sent / ((performance.now() - started) / 1000),
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
  };
}

async function main(): Promise<void> {
  const services = await startLocalServices(['kafka', 'redis'], { log: (line) => process.stderr.write(`${line}\n`) });
  const brokers = services.endpoints.kafkaBrokers!;
  const topicPrefix = `bench-ingest-${randomUUID().slice(0, 8)}.`;
  const dataDir = await mkdtemp(join(tmpdir(), 'livepulse-bench-ingest-'));
  const kafka = new Kafka({ clientId: 'bench-ingest', brokers: [brokers], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const bareTopic = `${topicPrefix}bare`;
  let collector: ChildProcess | undefined;
  try {
    const started = await startCollector(brokers, services.endpoints.redisUrl!, topicPrefix, dataDir);
    collector = started.child;
    const factory = batchFactory(Date.now());
    process.stderr.write(`collector at ${started.url}; warming up\n`);
    await autocannon({
      url: `${started.url}/v1/events?key=${WRITE_KEY}`,
      connections: 8,
      duration: 3,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          setupRequest: (r) => ({ ...r, body: factory.body() }),
        },
      ],
    });

    process.stderr.write(`phase 1: ${CONCURRENCY} connections, ${DURATION_S} s, as fast as it goes\n`);
    const { figures: max, server: maxServer } = await serverLatency(started.url, () => load(started.url, factory));
    process.stderr.write(
      `${JSON.stringify({ ...max, ...maxServer })}\nphase 2: half of ${round(max.requests_per_s)} requests/s\n`,
    );
    const { figures: half, server: halfServer } = await serverLatency(started.url, () =>
      steadyLoad(started.url, factory, max.requests_per_s / 2),
    );
    process.stderr.write(`${JSON.stringify({ ...half, ...halfServer })}\n`);

    const onTopic = (await admin.fetchTopicOffsets(`${topicPrefix}${TOPICS.playerEvents}`)).reduce(
      (n, p) => n + Number(p.high),
      0,
    );
    collector.kill('SIGTERM');
    await new Promise((resolve) => collector!.once('exit', resolve));
    collector = undefined;

    process.stderr.write('baseline: bare kafkajs producer\n');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: bareTopic, numPartitions: PARTITIONS }] });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const bare = await bareProducer(producer, bareTopic, factory);
    await producer.disconnect();

    await recordBenchmark({
      name: 'ingest',
      command: 'npm run bench:ingest',
      measured: {
        batch_events: BATCH,
        connections: CONCURRENCY,
        max_events_per_s: round(max.events_per_s),
        max_requests_per_s: round(max.requests_per_s),
        max_p50_ms: round(max.p50_ms),
        max_p99_ms: round(max.p99_ms),
        half_load_events_per_s: round(half.events_per_s),
        half_load_p50_ms: round(half.p50_ms),
        half_load_p99_ms: round(half.p99_ms),
        half_load_server_p99_ms: halfServer.request_p99_ms,
        half_load_publish_p50_ms: halfServer.publish_p50_ms,
        half_load_publish_p99_ms: halfServer.publish_p99_ms,
        max_publish_p99_ms: maxServer.publish_p99_ms,
        non_202: max.non_202 + half.non_202,
        errors: max.errors + half.errors,
        accepted_events: max.accepted_events + half.accepted_events,
        events_on_topic: onTopic,
      },
      baseline: {
        bare_kafkajs_events_per_s: round(bare.events_per_s),
        bare_kafkajs_send_p50_ms: round(bare.p50_ms),
        bare_kafkajs_send_p99_ms: round(bare.p99_ms),
      },
      ratio: { events_per_s: round(max.events_per_s / bare.events_per_s) },
      notes:
        'collector in its own process (distributed mode, Redis live state); autocannon (max), a constant-arrival-rate client (half load) and the bare producer in the bench process; one 2-core machine with the broker',
    });
  } finally {
    collector?.kill('SIGKILL');
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await rm(dataDir, { recursive: true, force: true });
    await services.stop();
  }
}

await main();
