import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import {
  creatorConcurrencyByInterval,
  creatorReportRows,
  creatorStreams,
  type CreatorReportRow,
  type CreatorScope,
  type CreatorStream,
  type TimeRange,
} from '../../core/analytics/metric-queries.ts';
import type { ReportPlan } from '../../core/analytics/time-range.ts';

/**
 * What a creator report is made of. Everything here is bounded (one row per stream at most, one
 * point per chart interval, ten clips, one row per moderation action), so the PDF can hold it;
 * the per-stream rows of CSV and JSON reports are streamed from {@link creatorReportRows} instead.
 */
export interface CreatorReportSummary {
  creator_id: string;
  period: TimeRange & { resolution: ReportPlan['source'] };
  generated_at: number;
  streams: CreatorStream[];
  /** All streams together; null when the creator had no stream in the period. */
  totals: CreatorReportRow | null;
  concurrency: Array<{ period_start: number; peak_concurrent_views: number; average_concurrent_views: number }>;
  chat_by_day: Array<{ day: number; messages: number; chatters: number }>;
  top_clips: TopClip[];
  moderation: Array<{ action: string; source: string; count: number }>;
}

export interface TopClip {
  clip_id: string;
  stream_id: string;
  window_start: number;
  duration_ms: number;
  score: number;
  reasons: string[];
  thumbnail_key: string;
}

export const TOP_CLIPS = 10;

async function rows<T>(store: AnalyticsStore, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

const IN_RANGE = (column: string) =>
  `${column} >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') AND ${column} < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')`;

function chatByDay(store: AnalyticsStore, streams: string[], range: TimeRange) {
  return rows<CreatorReportSummary['chat_by_day'][number]>(
    store,
    `SELECT toUnixTimestamp(toStartOfDay(sent_at, 'UTC')) * 1000 AS day, toUInt32(uniqExact(message_id)) AS messages, toUInt32(uniqExact(user_id)) AS chatters
     FROM chat_messages WHERE stream_id IN {streams:Array(String)} AND ${IN_RANGE('sent_at')}
     GROUP BY day ORDER BY day`,
    { streams, from_ms: range.from, to_ms: range.to },
  );
}

/** The clips with the highest highlight scores (requested clips, scored 0, last). */
function topClips(store: AnalyticsStore, streams: string[], range: TimeRange) {
  return rows<TopClip>(
    store,
    `SELECT c.clip_id AS clip_id, c.stream_id AS stream_id, toUnixTimestamp64Milli(c.window_start) AS window_start, c.duration_ms AS duration_ms,
            h.score AS score, h.reasons AS reasons, c.outputs['thumbnail'] AS thumbnail_key
     FROM (SELECT * FROM clips FINAL WHERE stream_id IN {streams:Array(String)} AND status != 'failed' AND ${IN_RANGE('window_start')}) AS c
     LEFT JOIN (SELECT highlight_id, argMax(score, detected_at) AS score, argMax(reasons, detected_at) AS reasons FROM highlights
                WHERE stream_id IN {streams:Array(String)} GROUP BY highlight_id) AS h ON h.highlight_id = c.highlight_id
     ORDER BY score DESC, window_start, clip_id LIMIT {limit:UInt32}`,
    { streams, from_ms: range.from, to_ms: range.to, limit: TOP_CLIPS },
  );
}

function moderationSummary(store: AnalyticsStore, streams: string[], range: TimeRange) {
  return rows<CreatorReportSummary['moderation'][number]>(
    store,
    `SELECT toString(action) AS action, toString(source) AS source, toUInt32(count()) AS count FROM chat_moderation_events FINAL
     WHERE stream_id IN {streams:Array(String)} AND ${IN_RANGE('decided_at')}
     GROUP BY action, source ORDER BY count DESC, action, source`,
    { streams, from_ms: range.from, to_ms: range.to },
  );
}

export function creatorScope(creatorId: string, streams: CreatorStream[]): CreatorScope {
  return { creatorId, streams: streams.map(({ property_id, stream_id }) => ({ property_id, stream_id })) };
}

/** The bounded parts of a creator's report over the plan's range. */
export async function loadReportSummary(
  store: AnalyticsStore,
  creatorId: string,
  plan: ReportPlan,
  now: number,
): Promise<CreatorReportSummary> {
  const streams = await creatorStreams(store, creatorId, plan.range);
  const summary: CreatorReportSummary = {
    creator_id: creatorId,
    period: { ...plan.range, resolution: plan.source },
    generated_at: now,
    streams,
    totals: null,
    concurrency: [],
    chat_by_day: [],
    top_clips: [],
    moderation: [],
  };
  if (streams.length === 0) return summary;
  const scope = creatorScope(creatorId, streams);
  const ids = scope.streams.map((s) => s.stream_id);
  for await (const row of creatorReportRows(store, scope, plan.range, { by: 'creator' })) summary.totals = row;
  summary.concurrency = await creatorConcurrencyByInterval(store, scope, plan.range, {
    intervalSeconds: plan.chartIntervalSeconds,
  });
  summary.chat_by_day = await chatByDay(store, ids, plan.range);
  summary.top_clips = await topClips(store, ids, plan.range);
  summary.moderation = await moderationSummary(store, ids, plan.range);
  return summary;
}

/** One row per stream of the summary, streamed from the store. */
export function streamRows(store: AnalyticsStore, summary: CreatorReportSummary): AsyncGenerator<CreatorReportRow> {
  return creatorReportRows(store, creatorScope(summary.creator_id, summary.streams), summary.period, { by: 'stream' });
}
