/**
 * `npm run bench:live`: latency of `GET /v1/streams/:id/live` with 1,000 live streams' state.
 *
 * A platform runs the live-board service alone; the bench folds a realistic state for 1,000
 * streams through the bus (5 minutes of viewer windows from 4 source partitions, chat,
 * verdicts, highlights and clips per stream), then asks for random streams' live views over
 * HTTP with keep-alive at a fixed concurrency. Once with the embedded live state (memory) and
 * once with Redis (distributed mode's adapter), each against `/healthz` on the same server in
 * the same run as the baseline: the cost of HTTP and fastify alone. Target: p95 ≤ 50 ms.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { insertRows } from '../core/analytics-store/insert.ts';
import { loadConfig, type Config } from '../core/config.ts';
import { mintApiToken } from '../core/http/api-auth.ts';
import { startPlatform, type RunningPlatform } from '../core/platform.ts';
import { TOPICS } from '../core/topics.ts';
import { liveBoardService } from '../dashboards/live-board/service.ts';
import { startLocalServices } from '../infra/local/process-supervisor.ts';
import { waitFor } from '../test/wait-for.ts';
import { percentile, recordBenchmark, round } from './harness.ts';

const STREAMS = 1_000;
const SOURCE_PARTITIONS = 4;
const WINDOWS = 30;
const REQUESTS = 4_000;
const CONCURRENCY = 8;

async function seed(platform: RunningPlatform): Promise<void> {
  const { bus } = platform.context;
  const now = Date.now();
  const firstWindow = Math.floor(now / 10_000) * 10_000 - (WINDOWS - 1) * 10_000;
  const streamIds = Array.from({ length: STREAMS }, (_, i) => `bench-stream-${i}`);
  // Every stream registered to its creator, as in production (core/streams/): each read asks the registry.
  const registeredAt = new Date(now).toISOString().replace('T', ' ').replace('Z', '');
  await insertRows(platform.context.analytics, {
    table: 'stream_owners',
    rows: streamIds.map((streamId, i) => ({
      stream_id: streamId,
      creator_id: `creator-${i % 100}`,
      source: 'api',
      channel_arn: '',
      registered_by: 'bench',
      registered_at: registeredAt,
      version: now,
    })),
    dedupToken: `bench-live-owners-${now}`,
  });
  for (let partition = 0; partition < SOURCE_PARTITIONS; partition++) {
    // One message per window per source partition, rows for every stream, as the processor emits them.
    for (let w = 0; w < WINDOWS; w++) {
      const rows = streamIds.map((streamId, i) => ({
        property_id: 'demo',
        creator_id: `creator-${i % 100}`,
        stream_id: streamId,
        dimension: 'all',
        dimension_value: '',
        window_start: firstWindow + w * 10_000,
        concurrent_views: (i * 7 + w * 3 + partition) % 500,
        views_started: 1,
        viewer_ids: [],
        watch_ms: 0,
        playing_ms: 0,
        rebuffer_ms: 0,
        rebuffer_count: 0,
      }));
      const message = {
        type: 'viewer_window_rows',
        group: 'viewer-analytics',
        source_partition: partition,
        version: String(w + 1),
        emitted_at: now,
        rows,
      };
      await bus.publish(TOPICS.analyticsAggregates, [
        { key: `viewer-analytics:${partition}`, value: Buffer.from(JSON.stringify(message)) },
      ]);
    }
  }
  const perStream = (make: (streamId: string, i: number) => object[]) =>
    streamIds.flatMap((streamId) =>
      make(streamId, 0).map((value) => ({ key: streamId, value: Buffer.from(JSON.stringify(value)) })),
    );
  await bus.publish(
    TOPICS.chatMessages,
    perStream((streamId) =>
      Array.from({ length: 30 }, (_, k) => ({
        schema_v: 1,
        message_id: `${streamId}-m${k}`,
        stream_id: streamId,
        user_id: `u${k % 7}`,
        display_name: 'Viewer',
        text: 'gg',
        sent_at: now - k * 3_000,
        heuristic_decision: 'allow',
        flags: [],
      })),
    ),
  );
  await bus.publish(
    TOPICS.chatVerdicts,
    perStream((streamId) =>
      ['remove', 'timeout'].map((action, k) => ({
        schema_v: 1,
        verdict_id: `${streamId}-v${k}`,
        stream_id: streamId,
        source: 'ai',
        action,
        reason: 'bench',
        flags: [],
        decided_at: now,
      })),
    ),
  );
  await bus.publish(
    TOPICS.highlights,
    perStream((streamId) => [
      {
        schema_v: 1,
        highlight_id: `${streamId}-h`,
        stream_id: streamId,
        start: now - 20_000,
        end: now - 10_000,
        score: 4,
        reasons: ['chat_spike'],
        detected_at: now,
      },
    ]),
  );
  await bus.publish(
    TOPICS.clips,
    perStream((streamId) => [
      {
        schema_v: 1,
        clip_id: `clip_${'0'.repeat(32)}`,
        highlight_id: `${streamId}-h`,
        stream_id: streamId,
        status: 'created',
        start: now - 20_000,
        end: now - 10_000,
        outputs: { mp4: 'clips/x/clip.mp4', thumbnail: 'clips/x/poster.jpg' },
        duration_ms: 10_000,
        finished_at: now,
      },
    ]),
  );
}

/** Per-request latencies (ms) of `paths`, `CONCURRENCY` at a time over keep-alive connections. */
async function measure(url: string, paths: string[], token: string): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const path = paths[next++]!;
      const started = performance.now();
      const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return latencies.sort((a, b) => a - b);
}

async function run(
  name: string,
  configure: (config: Config) => Config,
): Promise<{ live: number[]; healthz: number[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'livepulse-bench-live-'));
  const config = configure(loadConfig({ PORT: '0', LOG_LEVEL: 'silent', LIVEPULSE_DATA_DIR: dataDir }));
  const platform = await startPlatform(config, [liveBoardService], pino({ level: 'silent' }));
  try {
    const token = await mintApiToken({
      secret: config.auth.jwtSecret!,
      sub: 'bench',
      role: 'admin',
      ttlSeconds: 3_600,
    });
    await seed(platform);
    await waitFor(
      `${name}: every stream's state folded`,
      async () => {
        const response = await fetch(`${platform.url}/v1/streams/bench-stream-${STREAMS - 1}/live`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (response.status !== 200) return false;
        const view = (await response.json()) as { viewers: { series: unknown[] }; clips: unknown[] };
        return view.viewers.series.length === WINDOWS && view.clips.length === 1;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const livePaths = Array.from(
      { length: REQUESTS },
      (_, i) => `/v1/streams/bench-stream-${(i * 7_919) % STREAMS}/live`,
    );
    const healthPaths = Array.from({ length: REQUESTS }, () => '/healthz');
    // Warm up both paths (JIT, connections) before measuring.
    await measure(platform.url, livePaths.slice(0, 300), token);
    await measure(platform.url, healthPaths.slice(0, 300), token);
    const healthz = await measure(platform.url, healthPaths, token);
    const live = await measure(platform.url, livePaths, token);
    return { live, healthz };
  } finally {
    await platform.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const services = await startLocalServices(['redis'], { log: (line) => process.stderr.write(`${line}\n`) });
try {
  const memory = await run('memory', (config) => config);
  const redisUrl = services.endpoints.redisUrl!;
  const redis = await run('redis', (config) => ({ ...config, liveState: { kind: 'redis', url: redisUrl } }));
  const figures = (latencies: number[]) => ({
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  });
  const [m, mh, r, rh] = [figures(memory.live), figures(memory.healthz), figures(redis.live), figures(redis.healthz)];
  await recordBenchmark({
    name: 'live endpoint (1,000 streams)',
    command: 'npm run bench:live',
    measured: {
      streams: STREAMS,
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      load_avg_1m: round(loadavg()[0]!),
      memory_p50_ms: round(m.p50),
      memory_p95_ms: round(m.p95),
      memory_p99_ms: round(m.p99),
      redis_p50_ms: round(r.p50),
      redis_p95_ms: round(r.p95),
      redis_p99_ms: round(r.p99),
    },
    baseline: {
      healthz_memory_p50_ms: round(mh.p50),
      healthz_memory_p95_ms: round(mh.p95),
      healthz_redis_p50_ms: round(rh.p50),
      healthz_redis_p95_ms: round(rh.p95),
    },
    ratio: { memory_p95: round(m.p95 / mh.p95), redis_p95: round(r.p95 / rh.p95) },
    notes: 'target p95 ≤ 50 ms',
  });
} finally {
  await services.stop();
}
