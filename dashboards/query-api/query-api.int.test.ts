import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../../core/analytics-store/sql-quoting.ts';
import { applyMigrations } from '../../core/analytics-store/migrations.ts';
import { loadConfig } from '../../core/config.ts';
import { mintApiToken, type ApiRole } from '../../core/http/api-auth.ts';
import { startPlatform, type RunningPlatform } from '../../core/platform.ts';
import type { StreamTruth } from '../../tools/simulator/ground-truth.ts';
import { testServices } from '../../test/services.ts';
import { CSV_HEADER, formatCount } from '../reports/report-format.ts';
import { queryApiService } from './service.ts';
import {
  seedChatAndClips,
  seedSimulatedViewers,
  type SeededAnalytics,
  type SeededChat,
} from './testing/seed-analytics.ts';

/**
 * The query API and creator reports as deployed: the query-api service on a platform whose
 * analytics store is the ClickHouse engine, over data the real viewer-analytics processor and
 * ClickHouse sink made from a simulation (plus chat, moderation and clips rows). Every figure is
 * checked against the simulator's ground truth; tokens, creator scoping and hostile parameters
 * against the answers they must get.
 */
const run = promisify(execFile);
const SECRET = 'query-api-test-secret-0123456789abcdef';
const HOSTILE_SQL = "'; DROP TABLE viewer_windows_hour; --";

interface MetricsAnswer {
  stream_id: string;
  creator_id: string;
  source: string;
  interval: string;
  points: Array<{
    period_start: number;
    peak_concurrent_views: number;
    average_concurrent_views: number;
    views_started: number;
    watch_ms: number;
    rebuffer_ms: number;
  }>;
}

interface ReportFigures {
  peak_concurrent_views: number;
  average_concurrent_views: number;
  engagement: { views: number; unique_viewers: number; watch_ms: number };
  qoe: {
    views: number;
    startup_time_p50_ms: number | null;
    startup_time_p95_ms: number | null;
    rebuffer_percentage: number | null;
  };
  chat_messages: number;
  chatters: number;
  moderation_actions: number;
  enforcement_actions: number;
  clips: number;
}
interface JsonReport {
  creator_id: string;
  period: { from: number; to: number; resolution: string };
  stream_count: number;
  totals: ReportFigures;
  concurrency: Array<{ period_start: number; peak_concurrent_views: number }>;
  chat_by_day: Array<{ messages: number; chatters: number }>;
  top_clips: Array<{ clip_id: string; stream_id: string; score: number }>;
  moderation: Array<{ action: string; source: string; count: number }>;
  streams: Array<ReportFigures & { stream_id: string; property_id: string }>;
}

const allWindows = (stream: StreamTruth) => stream.windows.filter((w) => w.dimension === 'all');
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('query API and creator reports over simulated analytics', () => {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  let store: AnalyticsStore;
  let platform: RunningPlatform;
  let dataDir: string;
  let seeded: SeededAnalytics;
  let chat: SeededChat;
  const streamsOf: Record<string, string[]> = {};
  let creators: string[];

  const token = (role: ApiRole, creatorId?: string, ttlSeconds = 300) =>
    mintApiToken({ secret: SECRET, sub: `user-${role}`, role, creatorId, ttlSeconds });
  const get = async (path: string, bearer?: string) =>
    fetch(`${platform.url}${path}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });

  beforeAll(async () => {
    const services = testServices();
    store = await createAnalyticsStore({
      kind: 'clickhouse',
      url: services.clickhouseUrl,
      username: 'default',
      password: '',
      database: `qapi_${id}`,
    });
    await applyMigrations(store);
    seeded = await seedSimulatedViewers(store, { viewers: 90, streams: 3, seed: 7 });
    for (const [streamId, stream] of Object.entries(seeded.truth.streams))
      (streamsOf[stream.creator_id] ??= []).push(streamId);
    creators = Object.keys(streamsOf).sort();
    chat = await seedChatAndClips(
      store,
      Object.entries(seeded.truth.streams).map(([streamId, s]) => ({ streamId, at: allWindows(s)[0]!.window_start })),
    );

    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-query-api-'));
    const config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      LIVEPULSE_DATA_DIR: dataDir,
      CLICKHOUSE_URL: services.clickhouseUrl,
      CLICKHOUSE_DATABASE: store.database,
      LIVEPULSE_JWT_SECRET: SECRET,
      LIVEPULSE_WRITE_KEYS: 'demo:lp_test_write_key',
      LIVEPULSE_IVS_WEBHOOK_SECRET: 'query-api-test-ivs-secret',
    });
    platform = await startPlatform(config, [queryApiService], pino({ level: 'silent' }));
    // Each creator registers its streams: who may read them is the registry's answer, not the events' creator_id.
    for (const [creatorId, streamIds] of Object.entries(streamsOf)) {
      for (const streamId of streamIds) {
        const response = await fetch(`${platform.url}/v1/streams`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await token('creator', creatorId)}`, 'content-type': 'application/json' },
          body: JSON.stringify({ stream_id: streamId }),
        });
        if (response.status !== 201)
          throw new Error(`registering ${streamId}: ${response.status} ${await response.text()}`);
      }
    }
    // The best clip has a poster in the object store, as the clip worker leaves it.
    const poster = join(dataDir, 'poster.jpg');
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x180',
      '-frames:v',
      '1',
      '-y',
      poster,
    ]);
    await platform.context.objectStore.put(chat.clipsByScore[0]!.thumbnail_key, await readFile(poster), {
      contentType: 'image/jpeg',
    });
  }, 420_000);

  afterAll(async () => {
    await platform?.stop();
    await store?.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const rangeQuery = () => `from=${seeded.plan.startAt - 3_600_000}&to=${Date.now() + 3_600_000}`;

  describe('GET /v1/streams/:id/metrics', () => {
    it('per 10 s window, from the live windows: peaks, views started and watch time equal the ground truth', async () => {
      const admin = await token('admin');
      for (const [streamId, stream] of Object.entries(seeded.truth.streams)) {
        const answer = (await (
          await get(
            `/v1/streams/${streamId}/metrics?from=${seeded.plan.startAt - 60_000}&to=${Date.now()}&interval=10s`,
            admin,
          )
        ).json()) as MetricsAnswer;
        expect(answer).toMatchObject({
          stream_id: streamId,
          creator_id: stream.creator_id,
          source: 'window',
          interval: '10s',
        });
        expect(
          answer.points.map((p) => [
            p.period_start,
            p.peak_concurrent_views,
            p.views_started,
            p.watch_ms,
            p.rebuffer_ms,
          ]),
        ).toEqual(
          allWindows(stream).map((w) => [
            w.window_start,
            w.concurrent_views,
            w.views_started,
            w.watch_ms,
            w.rebuffer_ms,
          ]),
        );
      }
    });

    it('per minute, from the minute rollup: the peak of each minute equals the ground truth', async () => {
      const analyst = await token('analyst');
      for (const [streamId, stream] of Object.entries(seeded.truth.streams)) {
        const answer = (await (
          await get(`/v1/streams/${streamId}/metrics?${rangeQuery()}&interval=1m`, analyst)
        ).json()) as MetricsAnswer;
        expect(answer.source).toBe('minute');
        expect(answer.points.map((p) => ({ minute: p.period_start, peak: p.peak_concurrent_views }))).toEqual(
          stream.peak_concurrency_by_minute,
        );
        expect(answer.points.reduce((sum, p) => sum + p.watch_ms, 0)).toBe(
          allWindows(stream).reduce((sum, w) => sum + w.watch_ms, 0),
        );
      }
    });

    it('per hour, from the hour rollup, the same peak and watch time', async () => {
      const [streamId, stream] = Object.entries(seeded.truth.streams)[0]!;
      const answer = (await (
        await get(`/v1/streams/${streamId}/metrics?${rangeQuery()}&interval=1h`, await token('admin'))
      ).json()) as MetricsAnswer;
      expect(answer.source).toBe('hour');
      expect(Math.max(...answer.points.map((p) => p.peak_concurrent_views))).toBe(
        Math.max(...allWindows(stream).map((w) => w.concurrent_views)),
      );
      expect(answer.points.reduce((sum, p) => sum + p.watch_ms, 0)).toBe(
        allWindows(stream).reduce((sum, w) => sum + w.watch_ms, 0),
      );
    });
  });

  describe('GET /v1/creators/:id/streams', () => {
    it("lists the creator's streams, oldest first, and only those with viewers in a given range", async () => {
      for (const creatorId of creators) {
        const answer = (await (
          await get(`/v1/creators/${creatorId}/streams`, await token('creator', creatorId))
        ).json()) as { streams: Array<{ stream_id: string; first_window: number; last_window: number }> };
        expect(answer.streams.map((s) => s.stream_id).sort()).toEqual([...streamsOf[creatorId]!].sort());
        for (const s of answer.streams) {
          const windows = allWindows(seeded.truth.streams[s.stream_id]!);
          expect([s.first_window, s.last_window]).toEqual([windows[0]!.window_start, windows.at(-1)!.window_start]);
        }
      }
      const before = (await (
        await get(`/v1/creators/${creators[0]}/streams?to=${seeded.plan.startAt - 60_000}`, await token('admin'))
      ).json()) as { streams: unknown[] };
      expect(before.streams).toEqual([]);
    });
  });

  describe('tokens and creator scoping', () => {
    it('answers 401 without a valid token, 403 for another creator, 404 for an unknown stream', async () => {
      const [mine, theirs] = creators as [string, string];
      const myStream = streamsOf[mine]![0]!;
      const theirStream = streamsOf[theirs]![0]!;
      const creatorToken = await token('creator', mine);
      const expired = await mintApiToken({
        secret: SECRET,
        sub: 'u',
        role: 'admin',
        ttlSeconds: 60,
        issuedAt: Math.floor(Date.now() / 1_000) - 600,
      });
      const cases: Array<[string, string | undefined, number]> = [
        [`/v1/streams/${myStream}/metrics`, undefined, 401],
        [`/v1/creators/${mine}/streams`, undefined, 401],
        [`/v1/creators/${mine}/report`, undefined, 401],
        [`/v1/creators/${mine}/report`, expired, 401],
        [`/v1/creators/${mine}/report`, 'not-a-token', 401],
        [`/v1/streams/${myStream}/metrics`, creatorToken, 200],
        [`/v1/streams/${theirStream}/metrics`, creatorToken, 403],
        [`/v1/creators/${mine}/streams`, creatorToken, 200],
        [`/v1/creators/${theirs}/streams`, creatorToken, 403],
        [`/v1/creators/${mine}/report?format=csv`, creatorToken, 200],
        [`/v1/creators/${theirs}/report?format=pdf`, creatorToken, 403],
        [`/v1/creators/${theirs}/report`, await token('admin'), 200],
        [`/v1/creators/${theirs}/report?format=csv`, await token('analyst'), 200],
        ['/v1/streams/no-such-stream/metrics', await token('admin'), 404],
        ['/v1/streams/no-such-stream/metrics', creatorToken, 404],
      ];
      for (const [path, bearer, status] of cases) {
        const response = await get(path, bearer);
        expect(`${path} ${response.status}`).toBe(`${path} ${status}`);
        if (status !== 200)
          expect(await response.json()).toMatchObject({
            error: status === 401 ? 'unauthorized' : (expect.any(String) as unknown),
            message: expect.any(String) as unknown,
          });
        else await response.arrayBuffer();
      }
      // ?token= works where a browser cannot set headers (a download link).
      expect((await fetch(`${platform.url}/v1/creators/${mine}/report?format=csv&token=${creatorToken}`)).status).toBe(
        200,
      );
    });

    it('registers streams: first registration wins, admins reassign, analysts only read', async () => {
      const [mine, theirs] = creators as [string, string];
      const theirStream = streamsOf[theirs]![0]!;
      const send = async (method: string, path: string, bearer: string, body: unknown) => {
        const response = await fetch(`${platform.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as { creator_id?: string; error?: string } };
      };
      const [myToken, theirToken, admin, analyst] = await Promise.all([
        token('creator', mine),
        token('creator', theirs),
        token('admin'),
        token('analyst'),
      ]);
      const cases: Array<[string, string, string, string, unknown, number, string | undefined]> = [
        ['their stream, by me', 'POST', '/v1/streams', myToken, { stream_id: theirStream }, 409, 'stream_owned'],
        ['their stream, again by them', 'POST', '/v1/streams', theirToken, { stream_id: theirStream }, 200, undefined],
        [
          'a stream for someone else, by me',
          'POST',
          '/v1/streams',
          myToken,
          { stream_id: `new-${id}`, creator_id: theirs },
          403,
          'forbidden',
        ],
        [
          'by an analyst',
          'POST',
          '/v1/streams',
          analyst,
          { stream_id: `new-${id}`, creator_id: mine },
          403,
          'forbidden',
        ],
        [
          'by an admin without a creator',
          'POST',
          '/v1/streams',
          admin,
          { stream_id: `new-${id}` },
          400,
          'invalid_request',
        ],
        ['an IVS stream id, by me', 'POST', '/v1/streams', myToken, { stream_id: `st-${id}` }, 409, 'ivs_stream'],
        ['a hostile id', 'POST', '/v1/streams', myToken, { stream_id: HOSTILE_SQL }, 400, 'invalid_request'],
        [
          'a reassignment, by them',
          'PUT',
          `/v1/streams/${theirStream}/owner`,
          theirToken,
          { creator_id: mine },
          403,
          'forbidden',
        ],
      ];
      for (const [what, method, path, bearer, body, status, error] of cases) {
        const answer = await send(method, path, bearer, body);
        expect([what, answer.status, answer.body.error]).toEqual([what, status, error]);
      }
      // An admin moves their stream to me: I read it, they no longer do; then it goes back.
      expect((await send('PUT', `/v1/streams/${theirStream}/owner`, admin, { creator_id: mine })).body.creator_id).toBe(
        mine,
      );
      expect((await get(`/v1/streams/${theirStream}/metrics`, myToken)).status).toBe(200);
      expect((await get(`/v1/streams/${theirStream}/metrics`, theirToken)).status).toBe(403);
      expect((await get(`/v1/streams/${theirStream}/owner`, analyst)).status).toBe(200);
      expect(
        (await send('PUT', `/v1/streams/${theirStream}/owner`, admin, { creator_id: theirs })).body.creator_id,
      ).toBe(theirs);
      expect((await get(`/v1/streams/${theirStream}/owner`, theirToken)).status).toBe(200);
    });

    it('refuses hostile parameters with 400s naming the parameter, and nothing breaks', async () => {
      const admin = await token('admin');
      const stream = Object.keys(seeded.truth.streams)[0]!;
      const creator = creators[0]!;
      const e = encodeURIComponent;
      const cases: Array<[string, string]> = [
        [`/v1/streams/${stream}/metrics?from=${e(HOSTILE_SQL)}`, 'from'],
        [`/v1/streams/${stream}/metrics?to=${e("2025-01-01' OR '1'='1")}`, 'to'],
        [`/v1/streams/${stream}/metrics?from=2025-02-30`, 'from'],
        [`/v1/streams/${stream}/metrics?from=99999999999999999999`, 'from'],
        [`/v1/streams/${stream}/metrics?from=${e('２０２５-01-01')}`, 'from'],
        [`/v1/streams/${stream}/metrics?from=1e308`, 'from'],
        [`/v1/streams/${stream}/metrics?from=2026-01-02&to=2026-01-01`, 'from'],
        [`/v1/streams/${stream}/metrics?interval=${e("1m'; DROP TABLE clips; --")}`, 'interval'],
        [`/v1/streams/${stream}/metrics?interval=0`, 'interval'],
        [`/v1/streams/${stream}/metrics?from=2025-01-01&to=2026-01-01&interval=10s`, 'interval'],
        [`/v1/streams/${stream}/metrics?property=${e(HOSTILE_SQL)}`, 'property'],
        [`/v1/streams/${e(HOSTILE_SQL)}/metrics`, 'id'],
        [`/v1/streams/${e('ünïcødé-stream')}/metrics`, 'id'],
        [`/v1/streams/${'x'.repeat(200)}/metrics`, 'id'],
        [`/v1/creators/${e(HOSTILE_SQL)}/report`, 'id'],
        [`/v1/creators/${creator}/report?format=${e('pdf; rm -rf /')}`, 'format'],
        [`/v1/creators/${creator}/report?from=${e('-1')}`, 'from'],
        [`/v1/creators/${creator}/report?from=2020-01-01&to=2026-01-01`, 'to'],
        [`/v1/creators/${creator}/streams?from=${e('\u0000')}`, 'from'],
      ];
      for (const [path, parameter] of cases) {
        const response = await get(path, admin);
        const body = (await response.json()) as { statusCode: number; error: string; message: string };
        expect(`${path} → ${response.status}`).toBe(`${path} → 400`);
        expect(body.error).toBe('invalid_request');
        expect(body.message, path).toContain(parameter);
      }
      // An id made of allowed characters, however odd, is just an unknown stream.
      expect((await get(`/v1/streams/${e('a=b+c@d:e/f--1')}/metrics`, admin)).status).toBe(404);
      // A 128-character id is valid; past the router's maxParamLength (256) it answers 414 before any handler runs.
      expect((await get(`/v1/streams/${'x'.repeat(128)}/metrics`, admin)).status).toBe(404);
      expect((await get(`/v1/streams/${'x'.repeat(300)}/metrics`, admin)).status).toBe(414);
      const count = await store.client.query({
        query: 'SELECT toUInt32(count()) AS n FROM viewer_windows_hour',
        format: 'JSONEachRow',
      });
      expect((await count.json<{ n: number }>())[0]!.n).toBeGreaterThan(0);
      expect((await get(`/v1/streams/${stream}/metrics?${rangeQuery()}&interval=1m`, admin)).status).toBe(200);
    });
  });

  describe('GET /v1/creators/:id/report', () => {
    const expectedTotals = (creatorId: string) => {
      const streams = streamsOf[creatorId]!.map((s) => seeded.truth.streams[s]!);
      const byWindow = new Map<number, number>();
      for (const stream of streams)
        for (const w of allWindows(stream))
          byWindow.set(w.window_start, (byWindow.get(w.window_start) ?? 0) + w.concurrent_views);
      const sum = (f: (s: StreamTruth) => number) => streams.reduce((total, s) => total + f(s), 0);
      const perChat = streamsOf[creatorId]!.map((s) => chat.perStream[s]!);
      return {
        peak: Math.max(...byWindow.values()),
        average: mean([...byWindow.values()].filter((v) => v > 0)),
        views: sum((s) => s.totals.views),
        watch_ms: sum((s) => s.totals.watch_ms),
        messages: perChat.reduce((n, c) => n + c.messages, 0),
        moderation: perChat.reduce((n, c) => n + c.moderation, 0),
        enforcement: perChat.reduce((n, c) => n + c.enforcement, 0),
        clips: perChat.reduce((n, c) => n + c.clips, 0),
      };
    };

    it('JSON: totals and every stream equal the ground truth and the seeded chat, moderation and clips', async () => {
      const creatorId = creators[0]!;
      const response = await get(
        `/v1/creators/${creatorId}/report?${rangeQuery()}&format=json`,
        await token('creator', creatorId),
      );
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const report = (await response.json()) as JsonReport;
      const want = expectedTotals(creatorId);
      expect(report.period.resolution).toBe('minute');
      expect(report.stream_count).toBe(streamsOf[creatorId]!.length);
      expect(report.totals).toMatchObject({
        peak_concurrent_views: want.peak,
        engagement: { views: want.views, watch_ms: want.watch_ms },
        chat_messages: want.messages,
        moderation_actions: want.moderation,
        enforcement_actions: want.enforcement,
        clips: want.clips,
      });
      expect(report.totals.average_concurrent_views).toBeCloseTo(want.average, 6);
      expect(Math.max(...report.concurrency.map((p) => p.peak_concurrent_views))).toBe(want.peak);
      expect(report.chat_by_day.reduce((n, d) => n + d.messages, 0)).toBe(want.messages);

      expect(report.streams.map((s) => s.stream_id).sort()).toEqual([...streamsOf[creatorId]!].sort());
      for (const row of report.streams) {
        const truth = seeded.truth.streams[row.stream_id]!;
        const windows = allWindows(truth);
        expect(row).toMatchObject({
          property_id: seeded.plan.propertyId,
          peak_concurrent_views: Math.max(...windows.map((w) => w.concurrent_views)),
          engagement: { views: truth.totals.views, watch_ms: truth.totals.watch_ms },
          qoe: {
            views: truth.totals.views,
            startup_time_p50_ms: truth.totals.startup_time_p50_ms,
            startup_time_p95_ms: truth.totals.startup_time_p95_ms,
          },
          chat_messages: chat.perStream[row.stream_id]!.messages,
          chatters: chat.perStream[row.stream_id]!.chatters,
          clips: chat.perStream[row.stream_id]!.clips,
        });
        expect(row.average_concurrent_views).toBeCloseTo(
          mean(windows.map((w) => w.concurrent_views).filter((v) => v > 0)),
          6,
        );
        expect(row.qoe.rebuffer_percentage ?? 0).toBeCloseTo(truth.totals.rebuffer_percentage ?? 0, 9);
        expect(Math.abs(row.engagement.unique_viewers - truth.totals.unique_viewers)).toBeLessThanOrEqual(1);
      }
      const mineByScore = chat.clipsByScore.filter((c) => streamsOf[creatorId]!.includes(c.stream_id));
      expect(report.top_clips.map((c) => c.clip_id)).toEqual(mineByScore.map((c) => c.clip_id));
    });

    it('the default 30 days read the hour rollup and agree with the minute-resolution report', async () => {
      const creatorId = creators[1]!;
      const report = (await (await get(`/v1/creators/${creatorId}/report`, await token('admin'))).json()) as JsonReport;
      const want = expectedTotals(creatorId);
      expect(report.period.resolution).toBe('hour');
      expect(report.period.to - report.period.from).toBeGreaterThanOrEqual(30 * 86_400_000);
      expect(report.totals).toMatchObject({
        peak_concurrent_views: want.peak,
        engagement: { views: want.views, watch_ms: want.watch_ms },
        chat_messages: want.messages,
        clips: want.clips,
      });
    });

    it('an empty period is a report with no streams, not an error', async () => {
      const report = (await (
        await get(`/v1/creators/${creators[0]}/report?from=2024-01-01&to=2024-02-01`, await token('admin'))
      ).json()) as JsonReport;
      expect(report).toMatchObject({ stream_count: 0, totals: null, streams: [], top_clips: [] });
    });

    it('CSV: streamed, one line per stream and a total line, the same figures as JSON', async () => {
      const creatorId = creators[0]!;
      const query = `/v1/creators/${creatorId}/report?${rangeQuery()}`;
      const json = (await (await get(`${query}&format=json`, await token('admin'))).json()) as JsonReport;
      const response = await get(`${query}&format=csv`, await token('creator', creatorId));
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(response.headers.get('content-disposition')).toMatch(
        new RegExp(`^attachment; filename="livepulse-${creatorId}-\\d{4}-\\d{2}-\\d{2}-\\d{4}-\\d{2}-\\d{2}\\.csv"$`),
      );
      // Streamed, so the length is not known up front.
      expect(response.headers.get('content-length')).toBeNull();
      const lines = (await response.text())
        .trimEnd()
        .split('\r\n')
        .map((line) => line.split(','));
      expect(lines[0]).toEqual(CSV_HEADER);
      const column = (name: string) => CSV_HEADER.indexOf(name);
      const streamLines = lines.slice(1, -1);
      expect(streamLines.map((l) => l[column('stream_id')])).toEqual(json.streams.map((s) => s.stream_id));
      streamLines.forEach((line, i) => {
        expect(Number(line[column('peak_concurrent_viewers')])).toBe(json.streams[i]!.peak_concurrent_views);
        expect(Number(line[column('watch_time_ms')])).toBe(json.streams[i]!.engagement.watch_ms);
        expect(Number(line[column('chat_messages')])).toBe(json.streams[i]!.chat_messages);
      });
      const total = lines.at(-1)!;
      expect(total[column('row')]).toBe('total');
      expect(Number(total[column('peak_concurrent_viewers')])).toBe(json.totals.peak_concurrent_views);
      expect(Number(total[column('views')])).toBe(json.totals.engagement.views);
    });

    it('PDF: renders (pdftoppm) to pages that are not blank, with the charts, figures, clips and moderation in its text', async () => {
      const creatorId = creators.find((c) => streamsOf[c]!.includes(chat.clipsByScore[0]!.stream_id))!;
      const response = await get(
        `/v1/creators/${creatorId}/report?${rangeQuery()}&format=pdf`,
        await token('creator', creatorId),
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/pdf');
      const pdf = Buffer.from(await response.arrayBuffer());
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      const file = join(dataDir, 'report.pdf');
      await writeFile(file, pdf);

      const { stdout: info } = await run('pdfinfo', [file]);
      expect(Number(/Pages:\s+(\d+)/.exec(info)?.[1])).toBeGreaterThanOrEqual(2);
      expect(info).toContain(`Creator performance report: ${creatorId}`);

      const { stdout: layout } = await run('pdftotext', ['-layout', file, '-']);
      const text = layout.replace(/\s+/g, ' ');
      const json = (await (
        await get(`/v1/creators/${creatorId}/report?${rangeQuery()}`, await token('admin'))
      ).json()) as JsonReport;
      for (const expected of [
        'Creator performance report',
        creatorId,
        'Concurrent viewers over time',
        'Watch time per stream',
        'Startup time per stream',
        'Rebuffering per stream',
        'Chat activity',
        'Streams',
        'Top clips',
        'Moderation',
        'PEAK CONCURRENT',
        'UNIQUE VIEWERS',
        'WATCH TIME',
        'MEDIAN STARTUP',
        'AVG VIEW DURATION',
        `At the busiest moment ${formatCount(json.totals.peak_concurrent_views)} people were watching at once`,
        `${formatCount(json.totals.chat_messages)} chat messages`,
        chat.clipsByScore[0]!.clip_id,
        ...streamsOf[creatorId]!,
      ]) {
        expect(text, expected).toContain(expected);
      }

      // The best clip's poster is embedded; its charts are vector graphics, not images.
      const { stdout: images } = await run('pdfimages', ['-list', file]);
      expect(images.trim().split('\n').length - 2).toBe(1);

      await run('pdftoppm', ['-r', '40', '-gray', file, join(dataDir, 'page')]);
      for (const page of ['page-1.pgm', 'page-2.pgm']) {
        const pgm = await readFile(join(dataDir, page));
        const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 32).toString('latin1'))!;
        const pixels = pgm.subarray(header[0].length);
        expect(pixels.length).toBe(Number(header[1]) * Number(header[2]));
        const inked = pixels.reduce((n, v) => n + (v < 230 ? 1 : 0), 0) / pixels.length;
        expect(inked, `${page}: share of inked pixels`).toBeGreaterThan(0.05);
      }
    });
  });
});
