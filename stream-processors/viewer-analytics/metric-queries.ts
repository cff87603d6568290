import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { qoeMetrics, type QoeMetrics, type ViewMetricTotals } from './qoe-formulas.ts';

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

const scopeParams = (scope: StreamScope) => ({ property: scope.propertyId, stream: scope.streamId, dimension: scope.dimension ?? 'all' });

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
     ORDER BY window_start, dimension_value`,
    scopeParams(scope),
  );
}

/** Peak concurrent viewers per minute: the largest 10 s window of each minute. `rollup` reads the minute rollup (final windows only). */
export function peakConcurrencyByMinute(store: AnalyticsStore, scope: StreamScope, source: 'live' | 'rollup' = 'live'): Promise<Array<{ minute: number; peak: number }>> {
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

type ViewSums = Omit<ViewTotals, keyof QoeMetrics | 'startup_time_p50_ms' | 'startup_time_p95_ms'> & { startup: [number, number] };

function withFormulas(sums: ViewSums): ViewTotals {
  const { startup, ...rest } = sums;
  const hasStartup = rest.views_with_startup > 0;
  return { ...rest, startup_time_p50_ms: hasStartup ? startup[0] : null, startup_time_p95_ms: hasStartup ? startup[1] : null, ...qoeMetrics(rest) };
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
