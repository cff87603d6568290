import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdentifier } from '../core/analytics-store/sql-quoting.ts';
import { partitionForKey } from '../core/bus/partitioner.ts';
import { loadConfig } from '../core/config.ts';
import { mintApiToken } from '../core/http/api-auth.ts';
import { startPlatform, type RunningPlatform } from '../core/platform.ts';
import type { PlayerEvent } from '../core/schemas/player-event.ts';
import { expandGrafanaQuery, type VariableState } from '../dashboards/boards/grafana-macros.ts';
import { liveOverview } from '../dashboards/boards/live-overview.ts';
import { peakConcurrency } from '../dashboards/boards/stream-drilldown.ts';
import { liveBoardService } from '../dashboards/live-board/service.ts';
import { queryApiService } from '../dashboards/query-api/service.ts';
import { ingestApiService } from '../ingest-api/service.ts';
import { clickHouseSinkService } from '../stream-processors/sinks/service.ts';
import { viewerAnalyticsService } from '../stream-processors/viewer-analytics/service.ts';
import { TEST_PLATFORM_SECRETS, testPlatformEnv } from './platform-env.ts';
import { waitFor } from './wait-for.ts';

/**
 * Issue 20 §1: the figure shown "now" is never a partial window. Six viewers of one stream on
 * three bus partitions send heartbeats at their own offsets (so at each 10 s boundary some
 * partitions reach the new window at once and the idle ones only `ANALYTICS_IDLE_ADVANCE_MS`
 * later), join, pause, resume and leave at staggered offsets inside windows. For 60 s, every
 * 250 ms, the live endpoint, the newest 10 s point of `/metrics` and the expanded SQL of each
 * panel that shows "now" are read: every
 * reading must be the true count, or, within the documented freshness delay after a real change,
 * the count before it. The analytics settings are the production defaults.
 */
const WINDOW_MS = 10_000;
const PARTITIONS = 4;
/** docs/analytics.md, "The live edge": a join, pause or leave shows within this. */
const FRESHNESS_MS = 5_000;
const POLL_MS = 250;
const POLL_FOR_MS = 60_000;

type Action = { at: number; view: number; kind: 'join' | 'heartbeat' | 'pause' | 'resume' | 'leave' };
interface Change {
  sentAt: number;
  acceptedAt: number;
  before: number;
  after: number;
}
interface Reading {
  path: string;
  startedAt: number;
  finishedAt: number;
  value: number;
}

/** View ids whose keys land on partitions 0, 1, 2 (two each), as the bus places them. */
function viewIdsOnThreePartitions(run: string): string[] {
  const byPartition = new Map<number, string[]>();
  for (let i = 0; [...byPartition.values()].filter((ids) => ids.length >= 2).length < 3; i++) {
    const id = `view-${run}-${i}`;
    const partition = partitionForKey(id, PARTITIONS);
    if (partition > 2) continue;
    const ids = byPartition.get(partition) ?? [];
    if (ids.length < 2) byPartition.set(partition, [...ids, id]);
  }
  // Interleaved, so the first three views (who join before the polls) sit on three partitions.
  return [0, 1].flatMap((k) => [0, 1, 2].map((p) => byPartition.get(p)![k]!));
}

describe('the live edge: every "now" reading is the true count', () => {
  const run = randomUUID().replaceAll('-', '').slice(0, 10);
  const database = `live_edge_${run}`;
  const streamId = `stream-${run}`;
  const creatorId = `creator-${run}`;
  const viewIds = viewIdsOnThreePartitions(run);
  let dataDir: string;
  let platform: RunningPlatform;
  let token: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-live-edge-'));
    const config = loadConfig(testPlatformEnv(dataDir, database, { EMBEDDED_BUS_PARTITIONS: String(PARTITIONS) }));
    platform = await startPlatform(
      config,
      [ingestApiService, viewerAnalyticsService, clickHouseSinkService, liveBoardService, queryApiService],
      pino({ level: 'silent' }),
    );
    token = await mintApiToken({
      secret: TEST_PLATFORM_SECRETS.jwtSecret,
      sub: 'live-edge-admin',
      role: 'admin',
      ttlSeconds: 3_600,
    });
  }, 120_000);

  afterAll(async () => {
    await platform?.context.analytics.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(database)}` });
    await platform?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('through GET /v1/streams/:id/live, the newest point of /metrics and the Grafana "now" panels, for 60 s of joins, pauses and leaves', async () => {
    // Polling starts at a window boundary, at least 25 s from now (the first three join before it).
    const pollFrom = Math.ceil((Date.now() + 25_000) / WINDOW_MS) * WINDOW_MS;
    const heartbeatOffsets = [200, 1_300, 4_100, 6_200, 7_700, 9_100];
    const changes: Array<Omit<Action, 'at'> & { offset: number }> = [
      { view: 0, kind: 'join', offset: -20_000 + 2_500 },
      { view: 1, kind: 'join', offset: -20_000 + 3_000 },
      { view: 2, kind: 'join', offset: -10_000 + 2_000 },
      { view: 3, kind: 'join', offset: 10_000 + 2_500 },
      { view: 4, kind: 'join', offset: 30_000 + 2_000 },
      { view: 1, kind: 'pause', offset: 30_000 + 3_500 },
      { view: 5, kind: 'join', offset: 50_000 + 2_000 },
      { view: 0, kind: 'leave', offset: 50_000 + 3_000 },
      { view: 1, kind: 'resume', offset: 50_000 + 3_500 },
    ];
    const actions: Action[] = changes.map(({ view, kind, offset }) => ({ view, kind, at: pollFrom + offset }));
    // Heartbeats every 10 s at each view's own offset while it plays (a paused player sends none).
    for (let view = 0; view < viewIds.length; view++) {
      const joinedAt = actions.find((a) => a.view === view && a.kind === 'join')!.at;
      for (
        let at = Math.floor(joinedAt / WINDOW_MS) * WINDOW_MS + heartbeatOffsets[view]!;
        at < pollFrom + POLL_FOR_MS;
        at += WINDOW_MS
      ) {
        const paused =
          actions.some((a) => a.view === view && a.kind === 'pause' && a.at < at) &&
          !actions.some((a) => a.view === view && a.kind === 'resume' && a.at < at);
        const left = actions.some((a) => a.view === view && a.kind === 'leave' && a.at < at);
        if (at > joinedAt + 500 && !paused && !left) actions.push({ view, kind: 'heartbeat', at });
      }
    }
    actions.sort((a, b) => a.at - b.at);

    const sequence = new Map<number, number>();
    const watching = new Set<number>();
    const truth: Change[] = [];
    const send = async (action: Action) => {
      const seq = (sequence.get(action.view) ?? 0) + 1;
      sequence.set(action.view, seq);
      const now = Date.now();
      const { event, state } = {
        join: { event: 'viewstart', state: 'starting' },
        heartbeat: { event: 'heartbeat', state: 'playing' },
        pause: { event: 'pause', state: 'paused' },
        resume: { event: 'play', state: 'playing' },
        leave: { event: 'viewend', state: 'ended' },
      }[action.kind];
      const played = seq * 1_000;
      const body: { metadata: { sent_at: number }; events: PlayerEvent[] } = {
        metadata: { sent_at: now },
        events: [
          {
            schema_v: 1,
            event_id: randomUUID(),
            event,
            view_id: viewIds[action.view]!,
            view_seq: seq,
            viewer_id: `viewer-${run}-${action.view}`,
            stream_id: streamId,
            creator_id: creatorId,
            is_live: true,
            viewer_time: now,
            player_state: state,
            counters: { watch_ms: played, playing_ms: played, rebuffer_count: 0, rebuffer_ms: 0 },
          },
        ],
      };
      const before = watching.size;
      if (action.kind === 'join' || action.kind === 'resume') watching.add(action.view);
      if (action.kind === 'pause' || action.kind === 'leave') watching.delete(action.view);
      const response = await fetch(`${platform.url}/v1/events?key=${TEST_PLATFORM_SECRETS.writeKey}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status, await response.text()).toBe(202);
      if (watching.size !== before) truth.push({ sentAt: now, acceptedAt: Date.now(), before, after: watching.size });
    };
    const player = (async () => {
      for (const action of actions) {
        await sleep(Math.max(0, action.at - Date.now()));
        await send(action);
      }
    })();

    const overviewVariables: Record<string, VariableState> = {
      creator: { current: 'all', options: [creatorId], multi: true },
      stream: { current: [streamId], options: [streamId], multi: true },
    };
    const drilldownVariables: Record<string, VariableState> = {
      ...overviewVariables,
      stream: { current: [streamId], options: [streamId], multi: false },
    };
    const panelSql = (title: string, rowTitle: string) => {
      const panel = liveOverview.rows.find((r) => r.title === rowTitle)!.panels.find((p) => p.title === title)!;
      return (panel.targets[0] as { sql: string }).sql;
    };
    // As Grafana shows them: a stat reduces to the last value (lastNotNull), a chart ends at its newest point.
    const newestPoint = (rows: Array<Record<string, unknown>>) => Number(rows.at(-1)?.concurrent_viewers ?? 0);
    const nowPanels: Array<{
      path: string;
      sql: string;
      variables: Record<string, VariableState>;
      value: (rows: Array<Record<string, unknown>>) => number;
    }> = [
      {
        path: 'Live overview › Right now › Concurrent viewers',
        sql: panelSql('Concurrent viewers', 'Right now'),
        variables: overviewVariables,
        value: newestPoint,
      },
      {
        path: 'Live overview › Concurrent viewers per stream (newest point)',
        sql: panelSql('Concurrent viewers per stream', 'Viewers'),
        variables: overviewVariables,
        value: newestPoint,
      },
      {
        path: 'Live overview › Concurrent viewers, all selected streams (newest point)',
        sql: panelSql('Concurrent viewers, all selected streams', 'Viewers'),
        variables: overviewVariables,
        value: newestPoint,
      },
      {
        path: 'Stream drill-down › Concurrent viewers (newest point)',
        sql: (peakConcurrency.targets[0] as { sql: string }).sql,
        variables: drilldownVariables,
        value: newestPoint,
      },
    ];
    const readings: Reading[] = [];
    const read = async (path: string, fetchValue: () => Promise<number>) => {
      const startedAt = Date.now();
      const value = await fetchValue();
      readings.push({ path, startedAt, finishedAt: Date.now(), value });
    };
    const live = async () => {
      const response = await fetch(`${platform.url}/v1/streams/${streamId}/live`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return response.status === 404
        ? 0
        : ((await response.json()) as { viewers: { current: number } }).viewers.current;
    };
    // The query API's newest 10 s point, as a client polling for the latest figure reads it (a
    // stream whose first window is not final yet included: its live windows make it known).
    const metrics = async () => {
      const now = Date.now();
      const response = await fetch(
        `${platform.url}/v1/streams/${streamId}/metrics?interval=10s&from=${now - 5 * 60_000}&to=${now + WINDOW_MS}`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(response.status, 'GET /v1/streams/:id/metrics').toBe(200);
      return (
        ((await response.json()) as { points: Array<{ peak_concurrent_views: number }> }).points.at(-1)
          ?.peak_concurrent_views ?? 0
      );
    };
    const grafana = (panel: (typeof nowPanels)[number]) => async () => {
      const now = Date.now();
      const sql = expandGrafanaQuery(panel.sql, {
        fromMs: now - 30 * 60_000,
        toMs: now,
        intervalMs: WINDOW_MS,
        variables: panel.variables,
      });
      const result = await platform.context.analytics.client.query({ query: sql, format: 'JSONEachRow' });
      return panel.value(await result.json<Record<string, unknown>>());
    };

    // The three first viewers show everywhere before the polls start.
    await sleep(Math.max(0, pollFrom - 3_000 - Date.now()));
    await waitFor('the three first viewers on the live endpoint', async () => (await live()) === 3, {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await sleep(Math.max(0, pollFrom - Date.now()));
    while (Date.now() < pollFrom + POLL_FOR_MS) {
      const tick = Date.now();
      await Promise.all([
        read('GET /v1/streams/:id/live', live),
        read('GET /v1/streams/:id/metrics (newest 10 s point)', metrics),
        ...nowPanels.map((panel) => read(panel.path, grafana(panel))),
      ]);
      await sleep(Math.max(0, tick + POLL_MS - Date.now()));
    }
    await player;

    // What a reading may be: the true count at some instant from FRESHNESS_MS before it started to when it finished.
    const allowed = (reading: Reading) => {
      const from = reading.startedAt - FRESHNESS_MS;
      let current = 0;
      const values = new Set<number>();
      for (const change of truth) if (change.acceptedAt < from) current = change.after;
      values.add(current);
      for (const change of truth) {
        if (change.sentAt <= reading.finishedAt && change.acceptedAt >= from) {
          values.add(change.before);
          values.add(change.after);
        }
      }
      return values;
    };
    const wrong = readings
      .filter((reading) => !allowed(reading).has(reading.value))
      .map(
        (r) =>
          `${r.path} at ${((r.startedAt % WINDOW_MS) / 1000).toFixed(2)} s into a window (t+${((r.startedAt - pollFrom) / 1000).toFixed(2)} s): ${r.value}, true ${[...allowed(r)].join(' or ')}`,
      );
    const paths = new Set(readings.map((r) => r.path));
    expect(paths.size).toBe(2 + nowPanels.length);
    for (const path of paths)
      expect(readings.filter((r) => r.path === path).length, path).toBeGreaterThan(POLL_FOR_MS / POLL_MS / 4);
    expect(truth.filter((c) => c.acceptedAt >= pollFrom).length).toBe(6);
    expect(wrong).toEqual([]);
  }, 180_000);
});
