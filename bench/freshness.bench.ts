/**
 * bench:freshness — how long from an event being accepted by the collector (its 202) to its
 * effect being visible in a ClickHouse query, at a sustained load (default 10,000 events/s).
 *
 * The collector, the viewer-analytics processor and the ClickHouse sink as deployed (the Helm
 * chart runs each as its own Deployment): three `livepulse start <service>` processes, on the real
 * Kafka and ClickHouse. `BENCH_LAYOUT=one` runs all three in one process instead. This process is the load: 100,000-odd views sending heartbeats in 50-event
 * requests, and every 250 ms a probe view whose first event is timed from its 202 until the
 * probe's viewer id shows in `viewer_windows` (a query polled every 100 ms). p50 and p95 over
 * the probes of the measured minute.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { createAnalyticsStore, type AnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../core/analytics-store/sql-quoting.ts';
import { startLocalServices } from '../infra/local/process-supervisor.ts';
import type { PlayerEvent } from '../core/schemas/player-event.ts';
import { LivepulseProcess } from '../test/livepulse-process.ts';
import { percentile, recordBenchmark, round } from './harness.ts';
import { DEFAULT_KAFKA_CLIENT } from '../core/config/bus.ts';

const TARGET_EPS = Number(process.env.BENCH_EVENTS_PER_SECOND ?? 10_000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 60_000);
const WARMUP_MS = 15_000;
const BATCH = 50;
const HEARTBEAT_MS = 10_000;
// A probe not visible within 30 s is late; one still missing after two minutes counts as lost.
const LATE_AFTER_MS = 30_000;
const LOST_AFTER_MS = 120_000;
// A key of the run's own: distributed mode refuses the published development key.
const WRITE_KEY = `lp_bench_${randomBytes(16).toString('hex')}`;
const STREAMS = 20;
const SERVICES = ['ingest-api', 'viewer-analytics', 'clickhouse-sink'];
const LAYOUT = process.env.BENCH_LAYOUT === 'one' ? 'one' : 'split';

function heartbeat(view: number, seq: number, now: number, probe?: string): PlayerEvent {
  return {
    schema_v: 1,
    event_id: randomUUID(),
    event: probe ? 'viewstart' : 'heartbeat',
    view_id: probe ?? `load-view-${view}`,
    view_seq: seq,
    viewer_id: probe ? `${probe}-viewer` : `load-viewer-${view}`,
    stream_id: probe ? 'freshness-probe' : `load-stream-${view % STREAMS}`,
    viewer_time: now,
    player_state: probe ? 'starting' : 'playing',
    counters: { watch_ms: seq * HEARTBEAT_MS, playing_ms: seq * HEARTBEAT_MS, rebuffer_count: 0, rebuffer_ms: 0 },
    dimensions: {
      device: 'desktop',
      os: 'Linux',
      browser: 'Chrome',
      player_name: 'hls.js',
      cdn: 'fastly',
      rendition: '720p',
    },
  };
}

/** How many of the viewers' events reached each table: raw events, finals, early rows (viewer_windows before FINAL). */
async function probeTrail(store: AnalyticsStore, viewers: string[]): Promise<Record<string, number>> {
  const count = async (query: string) => {
    const result = await store.client.query({
      query,
      query_params: { viewers },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return (await result.json<{ n: number }>())[0]?.n ?? 0;
  };
  return {
    lost_in_raw_events: await count(
      'SELECT count() AS n FROM player_events_raw WHERE viewer_id IN {viewers:Array(String)}',
    ),
    lost_in_window_finals: await count(
      'SELECT count() AS n FROM viewer_window_finals WHERE hasAny(viewer_ids, {viewers:Array(String)})',
    ),
    lost_in_window_rows: await count(
      'SELECT count() AS n FROM viewer_windows WHERE hasAny(viewer_ids, {viewers:Array(String)})',
    ),
  };
}

async function main(): Promise<void> {
  const services = await startLocalServices(['kafka', 'clickhouse'], {
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const id = randomUUID().slice(0, 8);
  const database = `bench_freshness_${id}`;
  const groups = LAYOUT === 'one' ? [SERVICES] : SERVICES.map((service) => [service]);
  const platform = groups.map(
    (group) =>
      new LivepulseProcess(
        group.join('+'),
        {
          KAFKA_BROKERS: services.endpoints.kafkaBrokers!,
          KAFKA_TOPIC_PREFIX: `benchfresh${id}.`,
          CLICKHOUSE_URL: services.endpoints.clickhouseUrl!,
          CLICKHOUSE_DATABASE: database,
          LIVEPULSE_WRITE_KEYS: `demo:${WRITE_KEY}`,
          LIVEPULSE_JWT_SECRET: 'bench-jwt-secret-0123456789abcdef0123',
          LIVEPULSE_IVS_WEBHOOK_SECRET: 'bench-ivs-secret-0123456789',
          LOG_LEVEL: 'warn',
          ANALYTICS_EMIT_INTERVAL_MS: '500',
        },
        group,
      ),
  );
  let keepDatabase = false;
  const store = await createAnalyticsStore({
    kind: 'clickhouse',
    url: services.endpoints.clickhouseUrl!,
    username: 'default',
    password: '',
    database,
  });
  try {
    await Promise.all(platform.map((child) => child.start()));
    // The collector is in the first group in either layout.
    const url = `${platform[0]!.url}/v1/events`;
    const views = TARGET_EPS * (HEARTBEAT_MS / 1000);
    const seqs = new Uint32Array(views);
    const accepted = new Map<string, number>();
    const seen = new Map<string, number>();
    let sent = 0;
    let failed = 0;
    let nextView = 0;
    const started = Date.now();
    const measureFrom = started + WARMUP_MS;
    const stopAt = measureFrom + MEASURE_MS;

    const post = async (events: PlayerEvent[]) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
        body: JSON.stringify({ metadata: { sent_at: Date.now() }, events }),
      });
      await response.arrayBuffer();
      return response.status;
    };

    // Load: requests paced to TARGET_EPS, each 50 heartbeats of the next views in turn.
    const load = (async () => {
      const inFlight = new Set<Promise<void>>();
      while (Date.now() < stopAt) {
        const due = Math.floor(((Date.now() - started) / 1000) * TARGET_EPS);
        while (sent < due && inFlight.size < 256) {
          const now = Date.now();
          const events = Array.from({ length: BATCH }, () => {
            const view = nextView++ % views;
            return heartbeat(view, seqs[view]!++, now);
          });
          sent += BATCH;
          const request = post(events)
            .then((status) => {
              if (status !== 202) failed += BATCH;
            })
            .catch(() => {
              failed += BATCH;
            })
            .finally(() => inFlight.delete(request));
          inFlight.add(request);
        }
        await sleep(5);
      }
      await Promise.all(inFlight);
    })();

    // Probes: a new view every 250 ms (not waiting for the previous answer), timed from its 202.
    const probes = (async () => {
      const pending: Array<Promise<void>> = [];
      for (let n = 0; Date.now() < stopAt; n++) {
        const probe = `probe-${id}-${n}`;
        pending.push(
          post([heartbeat(0, 0, Date.now(), probe)]).then(
            (status) => {
              if (status === 202) accepted.set(`${probe}-viewer`, Date.now());
            },
            () => undefined,
          ),
        );
        await sleep(250);
      }
      await Promise.all(pending);
    })();

    // Visibility: which probe viewers a ClickHouse query shows.
    const watch = (async () => {
      while (Date.now() < stopAt + LOST_AFTER_MS) {
        const result = await store.client
          .query({
            query: `SELECT DISTINCT arrayJoin(viewer_ids) AS viewer FROM viewer_windows FINAL
                  WHERE stream_id = 'freshness-probe' AND dimension = 'all' AND window_start >= now() - INTERVAL 5 MINUTE`,
            format: 'JSONEachRow',
          })
          .catch(() => null);
        const now = Date.now();
        for (const { viewer } of (await result?.json<{ viewer: string }>()) ?? [])
          if (!seen.has(viewer)) seen.set(viewer, now);
        if (Date.now() > stopAt && [...accepted.keys()].every((v) => seen.has(v))) break;
        await sleep(100);
      }
    })();
    await Promise.all([load, probes]);
    const achievedEps = (sent - failed) / ((Date.now() - started) / 1000);
    await watch;

    const measured = [...accepted].filter(([, at]) => at >= measureFrom);
    const latencies = measured
      .filter(([viewer]) => seen.has(viewer))
      .map(([viewer, at]) => seen.get(viewer)! - at)
      .sort((a, b) => a - b);
    // Percentiles are over the probes that became visible; the others are counted on their own.
    const late = measured.length - latencies.filter((ms) => ms <= LATE_AFTER_MS).length;
    const lost = measured.filter(([viewer]) => !seen.has(viewer)).map(([viewer]) => viewer);
    // Where a lost probe stopped: on the bus (the raw-events sink wrote it), in the processor's
    // early rows or its final rows. The database is kept for a look.
    keepDatabase = lost.length > 0;
    const lostTrail = lost.length > 0 ? await probeTrail(store, lost) : null;
    if (lostTrail)
      process.stderr.write(
        `probes never visible: ${lost.join(', ')}; ${JSON.stringify(lostTrail)}; database ${database} kept\n`,
      );
    await recordBenchmark({
      name: 'freshness',
      command: 'npm run bench:freshness',
      measured: {
        target_eps: TARGET_EPS,
        achieved_eps: round(achievedEps),
        failed_events: failed,
        probes: measured.length,
        not_visible_within_30s: late,
        never_visible_within_120s: lost.length,
        ...(lostTrail ?? {}),
        p50_ms: round(percentile(latencies, 50)),
        p95_ms: round(percentile(latencies, 95)),
        max_ms: round(latencies.at(-1) ?? NaN),
      },
      notes: `accepted (collector 202) → visible in a viewer_windows FINAL query; collector, processor and ClickHouse sink ${LAYOUT === 'one' ? 'in one process' : 'in three processes, as deployed'}, on the ${process.env.KAFKA_CLIENT ?? DEFAULT_KAFKA_CLIENT} Kafka client`,
    });
  } finally {
    await Promise.all(platform.map((child) => child.kill('SIGTERM')));
    if (!keepDatabase)
      await store.client
        .command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(database)}` })
        .catch(() => undefined);
    await store.close();
    await services.stop();
  }
}

await main();
