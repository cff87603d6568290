/**
 * bench:queries — the query API over a simulated month: 1,000 streams of 1–4 h by 100 creators
 * (about 2–3 streams per creator per week) in the last 30 days, generated inside the analytics
 * store with INSERT … SELECT … FROM numbers() into the tables the pipeline writes: the minute and
 * hour window rollups, view_summaries (whose materialized views fill the view rollups),
 * creator_streams, chat_messages, chat_moderation_events, highlights and clips. Viewer curves
 * rise, wobble and fall; views start through the stream and last minutes to hours.
 *
 * Then the platform (embedded mode: chDB, as `npm start` runs it) serves the query-api service
 * and HTTP requests are timed one at a time: the 30-day creator report (JSON, CSV and PDF; target
 * ≤ 2 s) and the stream metrics endpoint (per minute over a stream, per hour over 30 days). The
 * same-run baseline is the same queries called directly on the store (no HTTP, no auth, no
 * formatting), so the ratio is what the API adds. The live endpoint's p95 is bench:live's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { AnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import { loadConfig } from '../core/config.ts';
import { mintApiToken } from '../core/http/api-auth.ts';
import { startPlatform } from '../core/platform.ts';
import { queryApiService } from '../dashboards/query-api/service.ts';
import { generateMonth } from '../dashboards/query-api/testing/simulated-month.ts';
import { planCreatorReport, planStreamMetrics } from '../core/analytics/time-range.ts';
import { loadReportSummary, streamRows } from '../dashboards/reports/report-data.ts';
import { streamMetricsByInterval } from '../core/analytics/metric-queries.ts';
import { percentile, recordBenchmark, round } from './harness.ts';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 1_000);
const CREATORS = Number(process.env.BENCH_CREATORS ?? 100);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 30);
const PROPERTY = 'bench';
const HOUR = 3_600;
const DAY = 24 * HOUR;

async function count(store: AnalyticsStore, table: string): Promise<number> {
  const result = await store.client.query({
    query: `SELECT toUInt64(count()) AS n FROM ${table}`,
    format: 'JSONEachRow',
  });
  return Number((await result.json<{ n: number }>())[0]!.n);
}

interface Timings {
  p50: number;
  p95: number;
  max: number;
}

async function time(label: string, times: number, run: (i: number) => Promise<void>): Promise<Timings> {
  await run(0); // warm-up: first use of each table and compiled query
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run(i + 1);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const result = { p50: percentile(samples, 50), p95: percentile(samples, 95), max: samples.at(-1)! };
  process.stderr.write(
    `${label}: p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms, max ${result.max.toFixed(1)} ms\n`,
  );
  return result;
}

async function fetchOk(url: string, token: string): Promise<number> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await response.arrayBuffer();
  if (response.status !== 200)
    throw new Error(`${url}: ${response.status} ${Buffer.from(body).toString().slice(0, 300)}`);
  return body.byteLength;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'livepulse-bench-queries-'));
  const secret = 'bench-queries-secret-0123456789abcdef';
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    LIVEPULSE_DATA_DIR: dataDir,
    LIVEPULSE_JWT_SECRET: secret,
  });
  const platform = await startPlatform(config, [queryApiService], pino({ level: 'silent' }));
  const store = platform.context.analytics;
  try {
    const now = Date.now();
    const monthEnd = Math.floor(now / 1_000 / HOUR) * HOUR;
    const monthStart = monthEnd - 30 * DAY;
    const generation = await generateMonth(
      store,
      { streams: STREAMS, creators: CREATORS, monthStart, property: PROPERTY },
      (line) => process.stderr.write(`${line}\n`),
    );
    const rows = {
      view_summaries: await count(store, 'view_summaries'),
      viewer_windows_minute: await count(store, 'viewer_windows_minute'),
      view_rollup_minute: await count(store, 'view_rollup_minute'),
      chat_messages: await count(store, 'chat_messages'),
      stream_owners: await count(store, 'stream_owners'),
    };
    process.stderr.write(`rows: ${JSON.stringify(rows)}\n`);

    const admin = await mintApiToken({ secret, sub: 'bench', role: 'admin', ttlSeconds: 3_600 });
    const creatorToken = (i: number) =>
      mintApiToken({
        secret,
        sub: 'bench',
        role: 'creator',
        creatorId: `bench-creator-${i % CREATORS}`,
        ttlSeconds: 3_600,
      });
    const from = new Date(monthStart * 1_000).toISOString();
    const to = new Date(monthEnd * 1_000).toISOString();
    const report = (format: string) => async (i: number) => {
      await fetchOk(
        `${platform.url}/v1/creators/bench-creator-${i % CREATORS}/report?from=${from}&to=${to}&format=${format}`,
        await creatorToken(i),
      );
    };
    // A report of no streams would be fast and measure nothing: the creators' streams must be registered.
    const sample = (await (
      await fetch(`${platform.url}/v1/creators/bench-creator-0/report?from=${from}&to=${to}`, {
        headers: { authorization: `Bearer ${await creatorToken(0)}` },
      })
    ).json()) as { stream_count: number };
    if (!(sample.stream_count > 0))
      throw new Error(
        `the creator report has no streams (${JSON.stringify(sample).slice(0, 200)}); is the month's stream registry generated?`,
      );
    const reportJson = await time('30-day report, JSON', REQUESTS, report('json'));
    const reportCsv = await time('30-day report, CSV', REQUESTS, report('csv'));
    const reportPdf = await time('30-day report, PDF', Math.max(5, Math.floor(REQUESTS / 3)), report('pdf'));
    const reportDirect = await time('30-day report queries, direct', REQUESTS, async (i) => {
      const summary = await loadReportSummary(
        store,
        `bench-creator-${i % CREATORS}`,
        planCreatorReport({ from, to }, now),
        now,
      );
      for await (const row of streamRows(store, summary)) void row;
    });

    const streamAt = (i: number) => `bench-stream-${(i * 37) % STREAMS}`;
    const streamWindow = (i: number) => {
      const start = monthStart + Math.floor(((i * 37) % STREAMS) * ((30 * DAY - 5 * HOUR) / STREAMS));
      return { from: new Date(start * 1_000).toISOString(), to: new Date((start + 6 * HOUR) * 1_000).toISOString() };
    };
    const metricsMinute = await time('stream metrics, 1m over 6 h', REQUESTS, async (i) => {
      const w = streamWindow(i);
      await fetchOk(`${platform.url}/v1/streams/${streamAt(i)}/metrics?from=${w.from}&to=${w.to}&interval=1m`, admin);
    });
    const metricsMonth = await time('stream metrics, 1h over 30 days', REQUESTS, async (i) => {
      await fetchOk(`${platform.url}/v1/streams/${streamAt(i)}/metrics?from=${from}&to=${to}&interval=1h`, admin);
    });
    const metricsDirect = await time('stream metrics 1m, direct', REQUESTS, async (i) => {
      const w = streamWindow(i);
      const plan = planStreamMetrics({ ...w, interval: '1m' }, now);
      await streamMetricsByInterval(store, { propertyId: PROPERTY, streamId: streamAt(i) }, plan.range, plan);
    });

    await recordBenchmark({
      name: 'bench:queries',
      command: 'npm run bench:queries',
      measured: {
        report_json_p50_ms: reportJson.p50,
        report_json_p95_ms: reportJson.p95,
        report_csv_p95_ms: reportCsv.p95,
        report_pdf_p50_ms: reportPdf.p50,
        report_pdf_p95_ms: reportPdf.p95,
        metrics_1m_p50_ms: metricsMinute.p50,
        metrics_1m_p95_ms: metricsMinute.p95,
        metrics_30d_p95_ms: metricsMonth.p95,
      },
      baseline: {
        report_queries_direct_p50_ms: reportDirect.p50,
        report_queries_direct_p95_ms: reportDirect.p95,
        metrics_1m_direct_p50_ms: metricsDirect.p50,
        metrics_1m_direct_p95_ms: metricsDirect.p95,
      },
      ratio: {
        report_json_p50: round(reportJson.p50 / reportDirect.p50),
        metrics_1m_p50: round(metricsMinute.p50 / metricsDirect.p50),
      },
      notes:
        `embedded chDB; ${STREAMS} streams of 1–4 h by ${CREATORS} creators over 30 days; ${rows.view_summaries} views, ${rows.chat_messages} chat messages; ` +
        `generated in ${round(Object.values(generation).reduce((a, b) => a + b, 0))} s; one request at a time; targets: 30-day report ≤ 2 s`,
    });
  } finally {
    await platform.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
