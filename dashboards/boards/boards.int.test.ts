import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatGatewayService } from '../../chat-gateway/service.ts';
import { clipWorkerService } from '../../clip-worker/service.ts';
import { quoteIdentifier } from '../../core/analytics-store/sql-quoting.ts';
import { loadConfig } from '../../core/config.ts';
import { startPlatform, type RunningPlatform } from '../../core/platform.ts';
import { StreamRegistry } from '../../core/streams/stream-registry.ts';
import type { ChatMessage, ChatVerdict } from '../../core/schemas/chat.ts';
import type { ClipEvent, Highlight } from '../../core/schemas/highlight.ts';
import { TOPICS } from '../../core/topics.ts';
import { ingestApiService } from '../../ingest-api/service.ts';
import { highlightDetectorService } from '../../stream-processors/highlights/service.ts';
import { moderationService } from '../../stream-processors/moderation/service.ts';
import { clickHouseSinkService } from '../../stream-processors/sinks/service.ts';
import { collectedEvents } from '../../tools/simulator/collector-view.ts';
import { computeGroundTruth } from '../../tools/simulator/ground-truth.ts';
import { planSimulation } from '../../tools/simulator/viewer-scripts.ts';
import { peakConcurrencyByMinute, viewTotals, windowMetrics } from '../../core/analytics/metric-queries.ts';
import { viewerAnalyticsService } from '../../stream-processors/viewer-analytics/service.ts';
import { countViewSummaries } from '../../test/analytics-truth.ts';
import { testPlatformEnv } from '../../test/platform-env.ts';
import { waitFor } from '../../test/wait-for.ts';
import { clickHouseQueries, type BoardSpec, type ColumnKind } from './board-model.ts';
import { BOARDS } from './boards.ts';
import { creatorPerformance } from './creator-performance.ts';
import { liveOverview } from './live-overview.ts';
import { expandGrafanaQuery, type VariableState } from './grafana-macros.ts';
import { pipelineHealth } from './pipeline-health.ts';
import { qoeByDimensionValue } from './qoe.ts';
import { peakConcurrency } from './stream-drilldown.ts';
import { SHORT_ANALYTICS_SETTINGS } from '../../stream-processors/viewer-analytics/testing/short-settings.ts';
import { analyticsSettingsEnvironment } from '../../test/process-environment.ts';

/**
 * Every ClickHouse query of every board (panels, template variables, annotations), expanded as
 * Grafana and the ClickHouse plugin expand it, run on the ClickHouse engine over data the real
 * services wrote: simulated viewers through the viewer-analytics processor and ClickHouse sink,
 * chat and moderation verdicts through the moderation sink, a highlight through the highlight
 * detector's sink, clips through the clip worker (one made, one that fails for want of a
 * recording). Each query must return rows whose columns are what its panel expects, and the
 * panels that restate a named query (metric-queries.ts) must give its numbers. The Prometheus
 * panels' metrics must be ones the services register.
 */
const settings = SHORT_ANALYTICS_SETTINGS;

type Row = Record<string, unknown>;
type JsonResult = { meta: Array<{ name: string; type: string }>; data: Row[] };

const KIND_OF_TYPE: Array<[RegExp, ColumnKind]> = [
  [/^(Nullable\()?DateTime/, 'time'],
  [/^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/, 'number'],
  [/^(Nullable\()?(LowCardinality\()?(String|FixedString|Enum)/, 'string'],
];
const kindOf = (type: string) => KIND_OF_TYPE.find(([pattern]) => pattern.test(type))?.[1] ?? `unsupported ${type}`;
const epochMs = (value: unknown) => Date.parse(`${String(value).replace(' ', 'T')}Z`);
const MIN_INTERVAL_MS: Record<string, number> = { '10s': 10_000, '1m': 60_000, '1h': 3_600_000 };

describe('the Grafana boards on ClickHouse, over data the services wrote', () => {
  const run = randomUUID().replaceAll('-', '').slice(0, 10);
  const database = `boards_${run}`;
  let dataDir: string;
  let platform: RunningPlatform;
  const plan = planSimulation({
    viewers: 60,
    durationMs: 90_000,
    seed: 17,
    streams: 3,
    startAt: Date.now() - 5 * 60_000,
    maxRebufferMs: settings.maxRebufferMs,
  });
  const truth = computeGroundTruth(plan, settings);
  const streams = Object.keys(truth.streams).sort();
  const creators = [...new Set(plan.views.map((v) => v.creatorId))].sort();
  const [stream0, stream1, stream2] = streams as [string, string, string];
  const chatMessages: ChatMessage[] = [];
  const verdicts: ChatVerdict[] = [];

  async function select(sql: string): Promise<JsonResult> {
    const result = await platform.context.analytics.client.query({ query: sql, format: 'JSON' });
    return result.json<Row>() as unknown as Promise<JsonResult>;
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'livepulse-boards-'));
    const config = loadConfig(
      testPlatformEnv(dataDir, database, {
        ...analyticsSettingsEnvironment(settings),
        // A highlight without a recording fails at once: the clip worker writes a `failed` clip.
        CLIP_MAX_ATTEMPTS: '1',
        CLIP_RECORDING_GRACE_MS: '1000',
        CLIP_SCAN_INTERVAL_MS: '500',
      }),
    );
    platform = await startPlatform(
      config,
      [
        ingestApiService,
        chatGatewayService,
        moderationService,
        viewerAnalyticsService,
        clickHouseSinkService,
        highlightDetectorService,
        clipWorkerService,
      ],
      pino({ level: 'silent' }),
    );
    const { bus } = platform.context;
    // Creators and their streams come from the stream registry: an admin registers the simulated ones.
    const registry = new StreamRegistry(platform.context.analytics, platform.context.liveState);
    for (const [streamId, stream] of Object.entries(truth.streams)) {
      await registry.register({
        source: 'api',
        streamId,
        creatorId: stream.creator_id,
        identity: { userId: 'boards-test-admin', role: 'admin' },
        reassign: false,
      });
    }

    const events = collectedEvents(plan);
    for (let i = 0; i < events.length; i += 2_000) {
      await bus.publish(
        TOPICS.playerEvents,
        events.slice(i, i + 2_000).map((e) => ({ key: e.view_id, value: Buffer.from(JSON.stringify(e)) })),
      );
    }

    // Chat as the gateway publishes it: 12 chatters over the run, some messages held or blocked.
    streams.forEach((streamId, s) => {
      for (let i = 0; i < 30; i++) {
        const decision = i % 10 === 3 ? 'hold' : i % 10 === 7 ? 'block' : 'allow';
        chatMessages.push({
          schema_v: 1,
          message_id: `m-${run}-${s}-${i}`,
          stream_id: streamId,
          user_id: `user-${i % 12}`,
          display_name: `Viewer ${i % 12}`,
          text: decision === 'allow' ? `message ${i}` : 'flagged text',
          sent_at: plan.startAt + 2_000 + i * 2_900,
          heuristic_decision: decision,
          flags:
            decision === 'allow' ? [] : [{ category: decision === 'hold' ? 'spam.caps' : 'profanity', score: 0.9 }],
        });
      }
    });
    const moderation = (
      i: number,
      streamId: string,
      source: ChatVerdict['source'],
      action: ChatVerdict['action'],
    ): ChatVerdict => ({
      schema_v: 1,
      verdict_id: `v-${run}-${i}`,
      stream_id: streamId,
      message_id: chatMessages[i * 7]!.message_id,
      target_user_id: chatMessages[i * 7]!.user_id,
      source,
      action,
      actor_id: source === 'moderator' ? 'mod-1' : source,
      reason: `${action} by ${source}`,
      flags: [],
      ...(action === 'timeout' ? { duration_ms: 600_000 } : {}),
      decided_at: plan.startAt + 20_000 + i * 5_000,
    });
    verdicts.push(
      moderation(0, stream0, 'moderator', 'remove'),
      moderation(1, stream0, 'moderator', 'timeout'),
      moderation(2, stream1, 'heuristics', 'hold'),
      moderation(3, stream2, 'moderator', 'deny'),
    );
    await bus.publish(
      TOPICS.chatMessages,
      chatMessages.map((m) => ({ key: m.stream_id, value: Buffer.from(JSON.stringify(m)) })),
    );
    await bus.publish(
      TOPICS.chatVerdicts,
      verdicts.map((v) => ({ key: v.stream_id, value: Buffer.from(JSON.stringify(v)) })),
    );

    // A "clip that" on stream 0; its clip fails (no recording). A clip of another window was made.
    const highlight: Highlight = {
      schema_v: 1,
      highlight_id: `h-${run}`,
      stream_id: stream0,
      start: plan.startAt + 30_000,
      end: plan.startAt + 50_000,
      score: 0,
      reasons: ['requested'],
      requested_by: 'host-1',
      detected_at: plan.startAt + 52_000,
    };
    const clip: ClipEvent = {
      schema_v: 1,
      clip_id: `c-${run}`,
      highlight_id: `h-${run}-earlier`,
      stream_id: stream0,
      status: 'created',
      start: plan.startAt + 5_000,
      end: plan.startAt + 20_000,
      outputs: { mp4: `clips/${stream0}/c-${run}.mp4`, thumbnail: `clips/${stream0}/c-${run}.jpg` },
      duration_ms: 15_000,
      finished_at: plan.startAt + 60_000,
    };
    await bus.publish(TOPICS.highlights, [{ key: stream0, value: Buffer.from(JSON.stringify(highlight)) }]);
    await bus.publish(TOPICS.clips, [{ key: stream0, value: Buffer.from(JSON.stringify(clip)) }]);

    const count = async (sql: string) => Number((await select(sql)).data[0]!.n);
    await waitFor(
      'every view to end and be summarized',
      async () => (await countViewSummaries(platform.context.analytics, plan.propertyId)) === truth.views,
      { timeoutMs: 150_000, intervalMs: 500 },
    );
    await waitFor(
      'chat and verdicts in ClickHouse',
      async () =>
        (await count('SELECT count() AS n FROM chat_messages FINAL')) === chatMessages.length &&
        (await count('SELECT count() AS n FROM chat_moderation_events FINAL')) === verdicts.length,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await waitFor(
      'the highlight, the made clip and the failed one',
      async () =>
        (await count('SELECT count() AS n FROM highlights FINAL')) >= 1 &&
        (await count(
          "SELECT countIf(status = 'created') > 0 AND countIf(status = 'failed') > 0 AS n FROM clips FINAL",
        )) === 1,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }, 240_000);

  afterAll(async () => {
    await platform?.context.analytics.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(database)}` });
    await platform?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const range = () => ({ fromMs: plan.startAt - 10 * 60_000, toMs: Date.now() + 60_000 });
  const variablesFor = (board: BoardSpec, selection: 'all' | 'some'): Record<string, VariableState> => {
    const variables: Record<string, VariableState> = {};
    for (const variable of board.variables) {
      const options = variable.name === 'creator' ? creators : variable.name === 'stream' ? streams : variable.values!;
      const some =
        variable.name === 'creator'
          ? [creators[0]!]
          : variable.name === 'stream'
            ? variable.multi
              ? [stream0, stream2]
              : [stream0]
            : [options[0]!];
      variables[variable.name] = {
        current: selection === 'all' && variable.includeAll ? 'all' : some,
        options,
        multi: variable.multi,
      };
    }
    return variables;
  };

  describe.each(BOARDS.map((b) => [b.uid, b] as const))('%s', (_uid, board) => {
    it.each(['all', 'some'] as const)(
      'every query returns rows of the expected columns, with %s of the streams selected',
      async (selection) => {
        const variables = variablesFor(board, selection);
        const problems: string[] = [];
        for (const { where, sql, columns } of clickHouseQueries(board)) {
          const panel = board.rows
            .flatMap((r) => r.panels)
            .find((p) => p.targets.some((t) => t.source === 'clickhouse' && t.sql === sql));
          const intervalMs = Math.max(60_000, MIN_INTERVAL_MS[panel?.minInterval ?? '1m']!);
          const expanded = expandGrafanaQuery(sql, { ...range(), intervalMs, variables });
          let result: JsonResult;
          try {
            result = await select(expanded);
          } catch (error) {
            problems.push(`${where}: ${String(error)}\n${expanded}`);
            continue;
          }
          if (result.data.length === 0) problems.push(`${where}: no rows`);
          const actual = result.meta.map((m) => [m.name, kindOf(m.type)]);
          const expected = columns ? Object.entries(columns) : [[result.meta[0]?.name, 'string']];
          if (JSON.stringify(actual) !== JSON.stringify(expected))
            problems.push(`${where}: columns ${JSON.stringify(result.meta)}, expected ${JSON.stringify(expected)}`);
          if (columns?.time === 'time' && result.data.some((row) => Number.isNaN(epochMs(row.time))))
            problems.push(`${where}: a row without a time`);
        }
        expect(problems).toEqual([]);
      },
    );
  });

  const scope = (streamId: string) => ({ propertyId: plan.propertyId, streamId });
  const runPanelSql = async (sql: string, intervalMs: number, variables: Record<string, VariableState>) =>
    (await select(expandGrafanaQuery(sql, { ...range(), intervalMs, variables }))).data;

  it('the drill-down concurrency panel at one minute is peakConcurrencyByMinute', async () => {
    for (const streamId of streams) {
      const rows = await runPanelSql((peakConcurrency.targets[0] as { sql: string }).sql, 60_000, {
        stream: { current: [streamId], options: streams, multi: false },
      });
      expect(
        rows.map((r) => ({ minute: epochMs(r.time), peak: Number(r.concurrent_viewers) })),
        streamId,
      ).toEqual(await peakConcurrencyByMinute(platform.context.analytics, scope(streamId)));
      expect(rows.length).toBeGreaterThan(0);
    }
  });

  it("the overview's total concurrency at 10 s is windowMetrics summed over the selected streams", async () => {
    const panel = liveOverview.rows[1]!.panels[1]!;
    const rows = await runPanelSql((panel.targets[0] as { sql: string }).sql, 10_000, {
      creator: { current: 'all', options: creators, multi: true },
      stream: { current: [stream0, stream1], options: streams, multi: true },
    });
    const expected = new Map<number, number>();
    for (const streamId of [stream0, stream1]) {
      for (const w of await windowMetrics(platform.context.analytics, scope(streamId)))
        expected.set(w.window_start, (expected.get(w.window_start) ?? 0) + w.concurrent_views);
    }
    expect(new Map(rows.map((r) => [epochMs(r.time), Number(r.concurrent_viewers)]))).toEqual(expected);
  });

  it('the QoE breakdown of one stream is viewTotals per dimension value (Mux formulas)', async () => {
    const figures = [
      'views_ended',
      'rebuffer_percentage',
      'rebuffer_frequency_per_minute',
      'startup_time_p50_ms',
      'startup_time_p95_ms',
      'playback_failure_percentage',
      'video_startup_failure_percentage',
      'exits_before_video_start_percentage',
      'business_exception_percentage',
      'upscale_percentage',
    ] as const;
    const round = (v: unknown) => (v === null || v === undefined ? null : Number(Number(v).toFixed(6)));
    for (const dimension of ['device', 'country'] as const) {
      const rows = await runPanelSql(qoeByDimensionValue.sql, 60_000, {
        creator: { current: 'all', options: creators, multi: true },
        stream: { current: [stream1], options: streams, multi: true },
        dimension: { current: [dimension], options: [dimension], multi: false },
      });
      const expected = (await viewTotals(platform.context.analytics, { ...scope(stream1), dimension })).map((t) => ({
        ...t,
        views_ended: t.views,
      }));
      const byValue = (list: Row[]) =>
        Object.fromEntries(
          list.map((r) => [String(r.dimension_value), Object.fromEntries(figures.map((f) => [f, round(r[f])]))]),
        );
      expect(byValue(rows), dimension).toEqual(byValue(expected as unknown as Row[]));
    }
  });

  it('the creator engagement table counts every view once, the chat and moderation stats count what was sent', async () => {
    const creatorsAll = {
      creator: { current: 'all' as const, options: creators, multi: true },
      stream: { current: 'all' as const, options: streams, multi: true },
    };
    const engagement = creatorPerformance.rows[0]!.panels[0]!;
    const rows = await runPanelSql((engagement.targets[0] as { sql: string }).sql, 3_600_000, creatorsAll);
    expect(rows.map((r) => String(r.creator_id)).sort()).toEqual(creators);
    expect(rows.reduce((n, r) => n + Number(r.views_started), 0)).toBe(truth.views);
    const stats = liveOverview.rows[0]!.panels;
    const statValue = async (title: string) =>
      Number(
        Object.values(
          (
            await runPanelSql(
              (stats.find((p) => p.title === title)!.targets[0] as { sql: string }).sql,
              60_000,
              creatorsAll,
            )
          )[0]!,
        )[0],
      );
    expect(await statValue('Chat messages')).toBe(chatMessages.length);
    expect(await statValue('Moderation actions')).toBe(verdicts.length);
    expect(await statValue('Highlights')).toBeGreaterThanOrEqual(1);
    expect(await statValue('Clips')).toBe(1);
  });

  it('every metric the pipeline board charts is registered by the services', () => {
    const registry = platform.context.metrics.registry;
    const names = pipelineHealth.rows
      .flatMap((r) => r.panels)
      .flatMap((p) => p.targets)
      .flatMap((t) => (t.source === 'prometheus' ? [...t.expr.matchAll(/livepulse_[a-z_]+/g)].map((m) => m[0]) : []));
    expect(names.length).toBeGreaterThan(10);
    const missing = [...new Set(names)].filter((name) => !registry.getSingleMetric(name.replace(/_bucket$/, '')));
    expect(missing).toEqual([]);
  });
});
