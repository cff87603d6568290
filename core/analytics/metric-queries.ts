import type { AnalyticsStore } from '../analytics-store/analytics-store.ts';
import { CLOSED_BY_EVERY_SOURCE_SQL, REACHED_BY_EVERY_SOURCE_SQL } from './live-edge.ts';
import { qoeMetrics, ratioPercentage, type QoeMetrics, type ViewMetricTotals } from './qoe-formulas.ts';

/**
 * Named queries over the viewer-analytics tables, for dashboards, reports and tests. Window rows
 * are per source partition: every query sums them (reading the ReplacingMergeTree with FINAL so
 * each key counts once at its latest version). View metrics come from ended views.
 */
export interface StreamScope {
  propertyId: string;
  streamId: string;
  /** `all` (the default) for the stream total, or a dimension to break it down by. */
  dimension?: string;
}

export interface WindowMetrics {
  window_start: number;
  dimension_value: string;
  concurrent_views: number;
  views_started: number;
  unique_viewers: number;
  watch_ms: number;
  playing_ms: number;
  rebuffer_ms: number;
  rebuffer_count: number;
}

async function rows<T>(store: AnalyticsStore, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

const scopeParams = (scope: StreamScope) => ({
  property: scope.propertyId,
  stream: scope.streamId,
  dimension: scope.dimension ?? 'all',
});

/**
 * A window key somebody was in. The processor replaces an early row whose key emptied out (a late
 * event moved the view to another key, or ended it before the window) with a zero row, so that the
 * latest value per key is right; a zero row is not a window anybody was in, and is not listed.
 * A HAVING condition over a query's sums: its alias for the concurrency sum, and the others by name.
 */
const somebodyInWindow = (concurrencyAlias: string) =>
  `${concurrencyAlias} + views_started + watch_ms + playing_ms + rebuffer_ms + rebuffer_count > 0`;

/** Every window of a stream (latest values, summed over partitions), per dimension value. */
export function windowMetrics(store: AnalyticsStore, scope: StreamScope): Promise<WindowMetrics[]> {
  return rows<WindowMetrics>(
    store,
    `SELECT toUnixTimestamp(window_start) * 1000 AS window_start, dimension_value,
            toUInt32(sum(concurrent_views)) AS concurrent_views, toUInt32(sum(views_started)) AS views_started,
            toUInt32(uniqCombinedMerge(viewers)) AS unique_viewers,
            toUInt64(sum(watch_ms)) AS watch_ms, toUInt64(sum(playing_ms)) AS playing_ms,
            toUInt64(sum(rebuffer_ms)) AS rebuffer_ms, toUInt32(sum(rebuffer_count)) AS rebuffer_count
     FROM viewer_windows FINAL
     WHERE property_id = {property:String} AND stream_id = {stream:String} AND dimension = {dimension:String}
     GROUP BY window_start, dimension_value
     HAVING ${somebodyInWindow('concurrent_views')}
     ORDER BY window_start, dimension_value`,
    scopeParams(scope),
  );
}

/** Peak concurrent viewers per minute: the largest 10 s window of each minute. `rollup` reads the minute rollup (final windows only). */
export function peakConcurrencyByMinute(
  store: AnalyticsStore,
  scope: StreamScope,
  source: 'live' | 'rollup' = 'live',
): Promise<Array<{ minute: number; peak: number }>> {
  const query =
    source === 'live'
      ? `SELECT toUnixTimestamp(toStartOfMinute(window_start)) * 1000 AS minute, toUInt32(max(viewers)) AS peak
         FROM (SELECT window_start, sum(concurrent_views) AS viewers FROM viewer_windows FINAL
               WHERE property_id = {property:String} AND stream_id = {stream:String} AND dimension = {dimension:String}
               GROUP BY window_start)
         GROUP BY minute ORDER BY minute`
      : `SELECT toUnixTimestamp(minute) * 1000 AS minute, toUInt32(arrayMax(sumMapMerge(concurrent_by_window).2)) AS peak
         FROM viewer_windows_minute
         WHERE property_id = {property:String} AND stream_id = {stream:String} AND dimension = {dimension:String}
         GROUP BY minute ORDER BY minute`;
  return rows(store, query, scopeParams(scope));
}

export interface ViewTotals extends ViewMetricTotals {
  dimension_value: string;
}

type ViewSums = Omit<ViewTotals, keyof QoeMetrics | 'startup_time_p50_ms' | 'startup_time_p95_ms'> & {
  startup: [number, number];
};

function withFormulas(sums: ViewSums): ViewTotals {
  const { startup, ...rest } = sums;
  const hasStartup = rest.views_with_startup > 0;
  return {
    ...rest,
    startup_time_p50_ms: hasStartup ? startup[0] : null,
    startup_time_p95_ms: hasStartup ? startup[1] : null,
    ...qoeMetrics(rest),
  };
}

const VIEW_SUM_COLUMNS = `
  toUInt32(count()) AS views, toUInt32(uniqCombined(viewer_id)) AS unique_viewers,
  toUInt64(sum(watch_ms)) AS watch_ms, toUInt64(sum(playing_ms)) AS playing_ms,
  toUInt64(sum(rebuffer_ms)) AS rebuffer_ms, toUInt32(sum(rebuffer_count)) AS rebuffer_count,
  toUInt32(countIf(startup_time_ms IS NOT NULL)) AS views_with_startup,
  quantilesExactIf(0.5, 0.95)(assumeNotNull(startup_time_ms), startup_time_ms IS NOT NULL) AS startup,
  toUInt32(sum(playback_failure)) AS playback_failures, toUInt32(sum(startup_failure)) AS startup_failures,
  toUInt32(sum(exit_before_start)) AS exits_before_start, toUInt32(sum(business_exception)) AS business_exceptions,
  toUInt64(sum(upscale_weighted_ms)) AS upscale_weighted_ms`;

const DIMENSION_COLUMN = `multiIf({dimension:String} = 'all', '', {dimension:String} = 'device', device, {dimension:String} = 'os', os,
  {dimension:String} = 'browser', browser, {dimension:String} = 'player', player, {dimension:String} = 'cdn', cdn,
  {dimension:String} = 'rendition', rendition, country)`;

/** Engagement and QoE over the stream's ended views, per value of the dimension (each view by its last reported value). */
export async function viewTotals(store: AnalyticsStore, scope: StreamScope): Promise<ViewTotals[]> {
  const sums = await rows<ViewSums>(
    store,
    `SELECT ${DIMENSION_COLUMN} AS dimension_value, ${VIEW_SUM_COLUMNS}
     FROM view_summaries FINAL
     WHERE property_id = {property:String} AND stream_id = {stream:String}
     GROUP BY dimension_value ORDER BY dimension_value`,
    scopeParams(scope),
  );
  return sums.map(withFormulas);
}

/**
 * The same per period from the rollups: `start` buckets views by when they started (engagement,
 * as Mux does), `end` by when they ended (QoE). `period` is `minute` or `hour`.
 */
export async function viewTotalsByPeriod(
  store: AnalyticsStore,
  scope: StreamScope,
  bucket: 'start' | 'end',
  period: 'minute' | 'hour' = 'minute',
): Promise<Array<ViewTotals & { period_start: number }>> {
  const table = period === 'minute' ? 'view_rollup_minute' : 'view_rollup_hour';
  const sums = await rows<ViewSums & { period_start: number }>(
    store,
    `SELECT toUnixTimestamp(${period}) * 1000 AS period_start, dimension_value,
            toUInt32(sum(views)) AS views, toUInt32(uniqCombinedMerge(viewers)) AS unique_viewers,
            toUInt64(sum(watch_ms)) AS watch_ms, toUInt64(sum(playing_ms)) AS playing_ms,
            toUInt64(sum(rebuffer_ms)) AS rebuffer_ms, toUInt32(sum(rebuffer_count)) AS rebuffer_count,
            toUInt32(sum(views_with_startup)) AS views_with_startup, quantilesExactMerge(0.5, 0.95)(startup_times) AS startup,
            toUInt32(sum(playback_failures)) AS playback_failures, toUInt32(sum(startup_failures)) AS startup_failures,
            toUInt32(sum(exits_before_start)) AS exits_before_start, toUInt32(sum(business_exceptions)) AS business_exceptions,
            toUInt64(sum(upscale_weighted_ms)) AS upscale_weighted_ms
     FROM ${table}
     WHERE property_id = {property:String} AND stream_id = {stream:String} AND dimension = {dimension:String} AND bucket = {bucket:String}
     GROUP BY period_start, dimension_value ORDER BY period_start, dimension_value`,
    { ...scopeParams(scope), bucket },
  );
  return sums.map(({ period_start, ...rest }) => ({ period_start, ...withFormulas(rest) }));
}

/*
 * Time-ranged queries for the query API and creator reports (dashboards/). Ranges are half-open
 * [from, to) in epoch ms. `source` says which table answers: the live 10 s windows (kept 35
 * days), or the minute or hour rollups (final windows only) for longer ranges. A creator's
 * streams come from `creator_streams` (migration 0050, sorted by creator), limited to those the
 * stream registry gives the creator.
 */
export type MetricSource = 'window' | 'minute' | 'hour';

export interface TimeRange {
  from: number;
  to: number;
}

const rangeParams = (range: TimeRange) => ({ from_ms: range.from, to_ms: range.to });
const IN_RANGE = (column: string) =>
  `${column} >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') AND ${column} < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')`;

export interface CreatorStream {
  property_id: string;
  creator_id: string;
  stream_id: string;
  /** Start of the stream's first and last 10 s window with viewers, epoch ms. */
  first_window: number;
  last_window: number;
}

/** Reads creator_streams merged per stream; `where` and `having` are fixed SQL with bound parameters. */
function creatorStreamsQuery(where: string, having = ''): string {
  return `SELECT property_id, creator_id, stream_id, toUnixTimestamp(first_at) * 1000 AS first_window, toUnixTimestamp(last_at) * 1000 AS last_window
    FROM (SELECT property_id, creator_id, stream_id, min(first_window) AS first_at, max(last_window) AS last_at
          FROM creator_streams WHERE ${where} GROUP BY property_id, creator_id, stream_id ${having})
    ORDER BY first_at, stream_id, property_id`;
}

/** The properties and creator hints a stream's viewer data carries; who owns it is the registry's answer (core/streams/). */
export function streamOwners(store: AnalyticsStore, streamId: string): Promise<CreatorStream[]> {
  return rows<CreatorStream>(store, creatorStreamsQuery('stream_id = {stream:String}'), { stream: streamId });
}

/**
 * The properties whose live windows (final or not) name the stream. creator_streams learns of a
 * stream from its first final window, the allowed lateness after its first view; until then only
 * the live windows know it.
 */
export async function liveStreamProperties(
  store: AnalyticsStore,
  streamId: string,
): Promise<Array<{ property_id: string }>> {
  return rows(
    store,
    `SELECT DISTINCT property_id FROM viewer_windows WHERE stream_id = {stream:String} AND dimension = 'all' ORDER BY property_id`,
    { stream: streamId },
  );
}

/**
 * A creator's streams that had viewers in the range (every stream when no range), oldest first:
 * the streams the registry (`stream_owners`, core/streams/) gives the creator, with the windows
 * whose creator_id names it. A player's creator_id alone never puts a stream here.
 */
export function creatorStreams(store: AnalyticsStore, creatorId: string, range?: TimeRange): Promise<CreatorStream[]> {
  const overlaps = range
    ? `HAVING last_at >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') AND first_at < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')`
    : '';
  const registered =
    'creator_id = {creator:String} AND stream_id IN (SELECT stream_id FROM stream_owners FINAL WHERE creator_id = {creator:String})';
  return rows<CreatorStream>(store, creatorStreamsQuery(registered, overlaps), {
    creator: creatorId,
    ...(range ? rangeParams(range) : {}),
  });
}

export interface IntervalMetrics {
  period_start: number;
  /** The largest 10 s window of the interval. */
  peak_concurrent_views: number;
  /** Mean over the interval's 10 s windows that had viewers. */
  average_concurrent_views: number;
  views_started: number;
  unique_viewers: number;
  watch_ms: number;
  playing_ms: number;
  rebuffer_ms: number;
  rebuffer_count: number;
  rebuffer_percentage: number | null;
}

/**
 * Per 10 s window (summed over partitions), the columns every interval query aggregates. Live
 * windows only up to the newest one every source partition has reached: a newer one still lacks
 * the partitions behind (docs/analytics.md, "The live edge").
 */
function windowsOf(source: MetricSource, where: string): string {
  if (source === 'window') {
    return `SELECT window_start AS period, sum(concurrent_views) AS peak, sum(concurrent_views) AS window_sum, 1 AS window_count,
              sum(views_started) AS views_started, uniqCombinedMergeState(viewers) AS viewers, sum(watch_ms) AS watch_ms,
              sum(playing_ms) AS playing_ms, sum(rebuffer_ms) AS rebuffer_ms, sum(rebuffer_count) AS rebuffer_count
            FROM viewer_windows FINAL WHERE ${where} AND ${IN_RANGE('window_start')} AND window_start <= ${REACHED_BY_EVERY_SOURCE_SQL}
            GROUP BY period HAVING ${somebodyInWindow('peak')}`;
  }
  const table = source === 'minute' ? 'viewer_windows_minute' : 'viewer_windows_hour';
  return `SELECT ${source} AS period, sumMapMerge(concurrent_by_window).2 AS concurrency, arrayMax(concurrency) AS peak,
            arraySum(concurrency) AS window_sum, length(concurrency) AS window_count,
            sum(views_started) AS views_started, uniqCombinedMergeState(viewers) AS viewers, sum(watch_ms) AS watch_ms,
            sum(playing_ms) AS playing_ms, sum(rebuffer_ms) AS rebuffer_ms, sum(rebuffer_count) AS rebuffer_count
          FROM ${table} WHERE ${where} AND ${IN_RANGE(source)} GROUP BY period`;
}

/**
 * A stream's viewer metrics per interval of `intervalSeconds` (aligned to the Unix epoch, so a
 * multiple of the source's period). Only intervals with viewers have a row.
 */
export async function streamMetricsByInterval(
  store: AnalyticsStore,
  scope: Omit<StreamScope, 'dimension'>,
  range: TimeRange,
  options: { source: MetricSource; intervalSeconds: number },
): Promise<IntervalMetrics[]> {
  const where = `property_id = {property:String} AND stream_id = {stream:String} AND dimension = 'all'`;
  const result = await rows<Omit<IntervalMetrics, 'rebuffer_percentage'>>(
    store,
    `SELECT toUnixTimestamp(period) DIV {step:UInt32} * {step:UInt32} * 1000 AS period_start,
            toUInt32(max(peak)) AS peak_concurrent_views, sum(window_sum) / sum(window_count) AS average_concurrent_views,
            toUInt32(sum(views_started)) AS views_started, toUInt32(uniqCombinedMerge(viewers)) AS unique_viewers,
            toUInt64(sum(watch_ms)) AS watch_ms, toUInt64(sum(playing_ms)) AS playing_ms,
            toUInt64(sum(rebuffer_ms)) AS rebuffer_ms, toUInt32(sum(rebuffer_count)) AS rebuffer_count
     FROM (${windowsOf(options.source, where)})
     GROUP BY period_start ORDER BY period_start`,
    { property: scope.propertyId, stream: scope.streamId, step: options.intervalSeconds, ...rangeParams(range) },
  );
  return result.map((r) => ({ ...r, rebuffer_percentage: ratioPercentage(r.rebuffer_ms, r.watch_ms) }));
}

/** Several streams of one creator: the filter that the creator report's queries share. */
export interface CreatorScope {
  creatorId: string;
  /** The creator's streams, from {@link creatorStreams}. */
  streams: Pick<CreatorStream, 'property_id' | 'stream_id'>[];
}

const creatorParams = (scope: CreatorScope) => ({
  creator: scope.creatorId,
  properties: [...new Set(scope.streams.map((s) => s.property_id))],
  streams: scope.streams.map((s) => s.stream_id),
});
const CREATOR_FILTER = `property_id IN {properties:Array(String)} AND stream_id IN {streams:Array(String)} AND creator_id = {creator:String}`;

/** The creator's concurrent viewers per interval: their streams' windows summed, then the peak and mean per interval. */
export function creatorConcurrencyByInterval(
  store: AnalyticsStore,
  scope: CreatorScope,
  range: TimeRange,
  options: { intervalSeconds: number },
): Promise<Array<{ period_start: number; peak_concurrent_views: number; average_concurrent_views: number }>> {
  return rows(
    store,
    `SELECT toUnixTimestamp(window_start) DIV {step:UInt32} * {step:UInt32} * 1000 AS period_start,
            toUInt32(max(viewers)) AS peak_concurrent_views, avg(viewers) AS average_concurrent_views
     FROM (${creatorWindows("''")})
     GROUP BY period_start ORDER BY period_start`,
    { ...creatorParams(scope), step: options.intervalSeconds, ...rangeParams(range) },
  );
}

/**
 * Concurrent viewers per 10 s window with viewers, summed over partitions and over the streams
 * that share a `key` (a fixed expression: the stream, or '' for all the creator's streams). Only
 * windows every source partition has closed: before that, some partitions' finals are missing.
 */
function creatorWindows(key: 'stream_id' | "''"): string {
  return `SELECT ${key} AS key, window_start, sum(concurrent_views) AS viewers FROM creator_concurrency FINAL
          WHERE ${CREATOR_FILTER} AND ${IN_RANGE('window_start')} AND window_start < ${CLOSED_BY_EVERY_SOURCE_SQL}
          GROUP BY key, window_start HAVING viewers > 0`;
}

/** The view sums that {@link withFormulas} turns into engagement and QoE metrics, over the views matching `condition`, each column prefixed. */
function viewSumColumnsIf(prefix: string, condition: string): string {
  const startup = `${condition} AND startup_time_ms IS NOT NULL`;
  return `toUInt32(countIf(${condition})) AS ${prefix}views, toUInt32(uniqCombinedIf(viewer_id, ${condition})) AS ${prefix}unique_viewers,
    toUInt64(sumIf(watch_ms, ${condition})) AS ${prefix}watch_ms, toUInt64(sumIf(playing_ms, ${condition})) AS ${prefix}playing_ms,
    toUInt64(sumIf(rebuffer_ms, ${condition})) AS ${prefix}rebuffer_ms, toUInt32(sumIf(rebuffer_count, ${condition})) AS ${prefix}rebuffer_count,
    toUInt32(countIf(${startup})) AS ${prefix}views_with_startup, quantilesExactIf(0.5, 0.95)(assumeNotNull(startup_time_ms), ${startup}) AS ${prefix}startup,
    toUInt32(sumIf(playback_failure, ${condition})) AS ${prefix}playback_failures, toUInt32(sumIf(startup_failure, ${condition})) AS ${prefix}startup_failures,
    toUInt32(sumIf(exit_before_start, ${condition})) AS ${prefix}exits_before_start, toUInt32(sumIf(business_exception, ${condition})) AS ${prefix}business_exceptions,
    toUInt64(sumIf(upscale_weighted_ms, ${condition})) AS ${prefix}upscale_weighted_ms`;
}
const VIEW_SUM_KEYS = [
  'views',
  'unique_viewers',
  'watch_ms',
  'playing_ms',
  'rebuffer_ms',
  'rebuffer_count',
  'views_with_startup',
  'startup',
  'playback_failures',
  'startup_failures',
  'exits_before_start',
  'business_exceptions',
  'upscale_weighted_ms',
] as const;

/** Moderation actions that took something down (the rest are approvals, releases and settings). */
export const ENFORCEMENT_ACTIONS = ['remove', 'deny', 'timeout', 'ban'] as const;

/** One line of a creator report: a stream, or (`key` '') all the creator's streams together. */
export interface CreatorReportRow {
  key: string;
  /** First and last 10 s window with viewers in the range, epoch ms (0 when none). */
  first_window: number;
  last_window: number;
  peak_concurrent_views: number;
  average_concurrent_views: number;
  /** Engagement, over the views that started in the range. */
  engagement: ViewTotals;
  /** QoE, over the views that ended in the range (as Mux buckets them). */
  qoe: ViewTotals;
  chat_messages: number;
  chatters: number;
  moderation_actions: number;
  enforcement_actions: number;
  clips: number;
}

type RawReportRow = Omit<CreatorReportRow, 'engagement' | 'qoe'> & Record<string, unknown>;

function reportRow(raw: RawReportRow): CreatorReportRow {
  const sums = (prefix: string) => {
    const picked: Record<string, unknown> = { dimension_value: '' };
    for (const key of VIEW_SUM_KEYS) picked[key] = raw[`${prefix}${key}`];
    if (!Array.isArray(picked.startup) || picked.startup.length < 2) picked.startup = [0, 0];
    return withFormulas(picked as ViewSums & { dimension_value: string });
  };
  return {
    key: raw.key,
    first_window: raw.first_window,
    last_window: raw.last_window,
    peak_concurrent_views: raw.peak_concurrent_views,
    average_concurrent_views: raw.average_concurrent_views,
    engagement: sums('e_'),
    qoe: sums('q_'),
    chat_messages: raw.chat_messages,
    chatters: raw.chatters,
    moderation_actions: raw.moderation_actions,
    enforcement_actions: raw.enforcement_actions,
    clips: raw.clips,
  };
}

/**
 * The creator report's figures, per stream (`by: 'stream'`, one row per stream of the scope, in
 * its order) or for all the creator's streams together (`by: 'creator'`, one row: its peak is the
 * largest window of the streams summed, its unique viewers are counted across streams).
 * Concurrency comes from `creator_concurrency` (sorted by creator, plain numbers), views from
 * `view_summaries` (as {@link viewTotals}: engagement over the views that started in the range,
 * QoE over those that ended in it), chat, moderation and clips from their tables. Rows are
 * yielded as ClickHouse sends them, so a long report never sits in memory whole.
 */
export async function* creatorReportRows(
  store: AnalyticsStore,
  scope: CreatorScope,
  range: TimeRange,
  options: { by: 'stream' | 'creator' },
): AsyncGenerator<CreatorReportRow> {
  if (scope.streams.length === 0) return;
  // The grouping key is one of two fixed expressions, never input.
  const key = options.by === 'stream' ? 'stream_id' : "''";
  const keys =
    options.by === 'stream'
      ? `SELECT stream_id AS key, idx FROM (SELECT arrayJoin(arrayEnumerate({streams:Array(String)})) AS idx, {streams:Array(String)}[idx] AS stream_id)`
      : `SELECT '' AS key, 1 AS idx`;
  const streamFilter = 'stream_id IN {streams:Array(String)}';
  const started = IN_RANGE('started_at');
  const ended = IN_RANGE('ended_at');
  const query = `
    SELECT k.key AS key,
      toUnixTimestamp(w.first_window) * 1000 AS first_window, toUnixTimestamp(w.last_window) * 1000 AS last_window,
      toUInt32(w.peak) AS peak_concurrent_views, w.average AS average_concurrent_views,
      v.*,
      toUInt32(c.messages) AS chat_messages, toUInt32(c.chatters) AS chatters,
      toUInt32(m.actions) AS moderation_actions, toUInt32(m.enforcement) AS enforcement_actions,
      toUInt32(cl.clips) AS clips
    FROM (${keys}) AS k
    LEFT JOIN (
      SELECT key, min(window_start) AS first_window, max(window_start) AS last_window, max(viewers) AS peak, avg(viewers) AS average
      FROM (${creatorWindows(key)}) GROUP BY key) AS w ON w.key = k.key
    LEFT JOIN (
      SELECT ${key} AS v_key, ${viewSumColumnsIf('e_', started)}, ${viewSumColumnsIf('q_', ended)}
      FROM view_summaries FINAL
      WHERE ${CREATOR_FILTER} AND ((${started}) OR (${ended})) GROUP BY v_key) AS v ON v.v_key = k.key
    LEFT JOIN (
      SELECT ${key} AS key, uniqExact(message_id) AS messages, uniqExact(user_id) AS chatters FROM chat_messages
      WHERE ${streamFilter} AND ${IN_RANGE('sent_at')} GROUP BY key) AS c ON c.key = k.key
    LEFT JOIN (
      SELECT ${key} AS key, count() AS actions, countIf(action IN {enforcement:Array(String)}) AS enforcement FROM chat_moderation_events FINAL
      WHERE ${streamFilter} AND ${IN_RANGE('decided_at')} GROUP BY key) AS m ON m.key = k.key
    LEFT JOIN (
      SELECT ${key} AS key, count() AS clips FROM clips FINAL
      WHERE ${streamFilter} AND status != 'failed' AND ${IN_RANGE('window_start')} GROUP BY key) AS cl ON cl.key = k.key
    ORDER BY k.idx`;
  const result = await store.client.query({
    query,
    query_params: { ...creatorParams(scope), ...rangeParams(range), enforcement: [...ENFORCEMENT_ACTIONS] },
    format: 'JSONEachRow',
  });
  for await (const batch of result.stream<RawReportRow>()) {
    for (const row of batch) yield reportRow(row.json());
  }
}
