import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import type { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { quoteIdentifier } from '../../core/analytics-store/sql-quoting.ts';
import { applyMigrations } from '../../core/analytics-store/migrations.ts';
import { loadConfig } from '../../core/config.ts';
import { mintApiToken, type ApiRole } from '../../core/http/api-auth.ts';
import { startPlatform, type RunningPlatform } from '../../core/platform.ts';
import { TOPICS } from '../../core/topics.ts';
import { samplePlayerEvent } from '../../ingest-api/events/sample-player-events.ts';
import { ingestApiService } from '../../ingest-api/service.ts';
import { clickHouseSinkService } from '../../stream-processors/sinks/service.ts';
import { viewerAnalyticsService } from '../../stream-processors/viewer-analytics/service.ts';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import { liveBoardService } from '../live-board/service.ts';
import { queryApiService } from './service.ts';
import { seedChatAndClips, seedSimulatedViewers, type SeededAnalytics } from './testing/seed-analytics.ts';

/**
 * Issue 20 §4, as it was found: write keys are public, so an attacker sends one player event
 * through the collector with the victim's stream_id and its own creator_id. Before the stream
 * registry that made the victim's stream the attacker's: 200 on its metrics (history included)
 * and live view, its chat in the attacker's report, and 403 for the victim on its own live view.
 * Here the whole pipeline runs (collector, viewer analytics, ClickHouse sink, live board, query
 * API) over a victim with history, and the attacker must meet 403 everywhere while the victim's
 * access and figures stay as they were.
 */
const SECRET = 'ownership-test-secret-0123456789abcdef';
const WRITE_KEY = 'lp_ownership_write_key';

describe('a forged creator_id on a player event claims nothing', () => {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const attacker = `attacker-${id}`;
  let store: AnalyticsStore;
  let platform: RunningPlatform;
  let dataDir: string;
  let seeded: SeededAnalytics;
  let victim: string;
  let victimStreams: string[];
  let target: string;

  const token = (role: ApiRole, creatorId?: string) =>
    mintApiToken({ secret: SECRET, sub: `user-${creatorId ?? role}`, role, creatorId, ttlSeconds: 600 });
  const call = async (method: string, path: string, bearer: string, body?: unknown) => {
    const response = await fetch(`${platform.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const get = (path: string, bearer: string) => call('GET', path, bearer);
  const sendPlayerEvent = async (creatorId: string, viewId: string) => {
    const event = samplePlayerEvent({
      stream_id: target,
      creator_id: creatorId,
      view_id: viewId,
      viewer_id: `viewer-${viewId}`,
      event: 'viewstart',
    });
    const response = await fetch(`${platform.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
      body: JSON.stringify({ metadata: { sdk: 'ownership-test/1', sent_at: Date.now() }, events: [event] }),
    });
    expect(response.status).toBe(202);
  };
  const historyRange = () =>
    `from=${seeded.plan.startAt - 60_000}&to=${seeded.plan.startAt + seeded.plan.durationMs + 120_000}`;
  const count = async (query: string, params: Record<string, unknown>) =>
    Number(
      (
        await (await store.client.query({ query, query_params: params, format: 'JSONEachRow' })).json<{ n: string }>()
      )[0]!.n,
    );

  beforeAll(async () => {
    const services = testServices();
    store = await createAnalyticsStore({
      kind: 'clickhouse',
      url: services.clickhouseUrl,
      username: 'default',
      password: '',
      database: `owner_${id}`,
    });
    await applyMigrations(store);
    // Three streams: the victim has streams 0 and 2, another creator stream 1 (viewer-scripts.ts).
    seeded = await seedSimulatedViewers(store, { viewers: 45, streams: 3, seed: 20 });
    const byCreator = new Map<string, string[]>();
    for (const [streamId, stream] of Object.entries(seeded.truth.streams))
      byCreator.set(stream.creator_id, [...(byCreator.get(stream.creator_id) ?? []), streamId]);
    [victim, victimStreams] = [...byCreator.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    target = victimStreams[0]!;
    await seedChatAndClips(
      store,
      Object.entries(seeded.truth.streams).map(([streamId, s]) => ({ streamId, at: s.windows[0]!.window_start })),
    );

    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-ownership-'));
    const config = loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      LIVEPULSE_DATA_DIR: dataDir,
      CLICKHOUSE_URL: services.clickhouseUrl,
      CLICKHOUSE_DATABASE: store.database,
      LIVEPULSE_JWT_SECRET: SECRET,
      LIVEPULSE_WRITE_KEYS: `${seeded.plan.propertyId}:${WRITE_KEY}`,
      LIVEPULSE_IVS_WEBHOOK_SECRET: 'ownership-test-ivs-secret',
      ANALYTICS_ALLOWED_LATENESS_MS: '2000',
      ANALYTICS_EMIT_INTERVAL_MS: '300',
      ANALYTICS_IDLE_ADVANCE_MS: '500',
    });
    platform = await startPlatform(
      config,
      [ingestApiService, viewerAnalyticsService, clickHouseSinkService, liveBoardService, queryApiService],
      pino({ level: 'silent' }),
    );
  }, 420_000);

  afterAll(async () => {
    await platform?.stop();
    await store?.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('the victim registers its streams with its own token', async () => {
    const victimToken = await token('creator', victim);
    for (const streamId of victimStreams) {
      const answer = await call('POST', '/v1/streams', victimToken, { stream_id: streamId });
      expect([answer.status, answer.body]).toEqual([
        201,
        expect.objectContaining({ stream_id: streamId, creator_id: victim, source: 'api' }),
      ]);
    }
  });

  it("leaves the attacker at 403 everywhere, and the victim's access and figures as they were", async () => {
    const [victimToken, attackerToken, admin] = await Promise.all([
      token('creator', victim),
      token('creator', attacker),
      token('admin'),
    ]);
    // The victim's stream is live: one of its viewers reports, and the live board shows it.
    await sendPlayerEvent(victim, `legit-${id}`);
    await waitFor(
      'the live board to show the victim its stream',
      async () => (await get(`/v1/streams/${target}/live`, victimToken)).status === 200,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const metricsBefore = await get(`/v1/streams/${target}/metrics?${historyRange()}&interval=1m`, victimToken);
    const reportBefore = await get(`/v1/creators/${victim}/report?${historyRange()}`, victimToken);
    expect([metricsBefore.status, reportBefore.status]).toEqual([200, 200]);

    // The attack: one event with the victim's stream id and the attacker's creator id, through the public collector.
    await sendPlayerEvent(attacker, `forged-${id}`);
    await waitFor(
      "the forged view's window to be final in ClickHouse",
      async () =>
        (await count(
          'SELECT toString(count()) AS n FROM creator_streams WHERE creator_id = {c:String} AND stream_id = {s:String}',
          { c: attacker, s: target },
        )) > 0,
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const bus = platform.context.bus as EmbeddedBus;
    await waitFor(
      'the live board to fold every aggregate',
      async () => {
        const [committed, end] = await Promise.all([
          bus.committedOffsets('live-board', TOPICS.analyticsAggregates),
          bus.endOffsets(TOPICS.analyticsAggregates),
        ]);
        return end.every((e, p) => e === 0 || committed[p] === e);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    // The attacker: refused on every read of the stream, and the stream is in none of its lists.
    const refusals: Array<[string, number]> = [];
    for (const path of [
      `/v1/streams/${target}/metrics?${historyRange()}`,
      `/v1/streams/${target}/live`,
      `/v1/streams/${target}/owner`,
    ]) {
      refusals.push([path, (await get(path, attackerToken)).status]);
    }
    expect(refusals).toEqual(refusals.map(([path]) => [path, 403]));
    const overview = await get('/v1/live/overview', attackerToken);
    expect((overview.body.streams as Array<{ stream_id: string }>).map((s) => s.stream_id)).not.toContain(target);
    expect((await get(`/v1/creators/${attacker}/streams`, attackerToken)).body).toEqual({
      creator_id: attacker,
      streams: [],
    });
    const attackerReport = await get(`/v1/creators/${attacker}/report?${historyRange()}`, attackerToken);
    expect(attackerReport.body).toMatchObject({
      stream_count: 0,
      totals: null,
      streams: [],
      chat_by_day: [],
      top_clips: [],
    });
    expect((await call('POST', '/v1/streams', attackerToken, { stream_id: target })).status).toBe(409);

    // The victim: its live view, its history and its report exactly as before the attack.
    const live = await get(`/v1/streams/${target}/live`, victimToken);
    expect([live.status, live.body.creator_id]).toEqual([200, victim]);
    expect(await get(`/v1/streams/${target}/metrics?${historyRange()}&interval=1m`, victimToken)).toEqual(
      metricsBefore,
    );
    const reportAfter = await get(`/v1/creators/${victim}/report?${historyRange()}`, victimToken);
    expect({ ...reportAfter.body, generated_at: 0 }).toEqual({ ...reportBefore.body, generated_at: 0 });
    expect((await get(`/v1/streams/${target}/owner`, admin)).body).toMatchObject({ creator_id: victim, source: 'api' });
  }, 300_000);
});
