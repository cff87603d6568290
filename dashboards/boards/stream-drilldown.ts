import { liveEdgeViewersSql, REACHED_BY_EVERY_SOURCE_SQL } from '../../core/analytics/live-edge.ts';
import { clickHouseStat, type BoardSpec, type PanelSpec } from './board-model.ts';
import { clipsTable, highlightsTable } from './live-overview.ts';
import { creatorVariable, dimensionVariable, oneStreamVariable, STREAM_CONDITION } from './scope-filters.ts';

/**
 * One stream in detail, with its highlights and clips as annotations. The per-window figures sum
 * the source partitions' rows of viewer_windows FINAL, as metric-queries.ts `windowMetrics` does.
 */
const rowsOf = (dimension: string) =>
  `dimension = ${dimension} AND $__timeFilter(window_start) AND ${STREAM_CONDITION}`;
const windowsOf = (dimension: string) => `FROM viewer_windows FINAL
WHERE ${rowsOf(dimension)}`;
/** Per-window flows (views started, rebuffering) up to the newest window every source partition has reached, so a chart never ends on a partial window (live-edge.ts). */
const reachedWindowsOf = (dimension: string) =>
  `${windowsOf(dimension)} AND window_start <= ${REACHED_BY_EVERY_SOURCE_SQL}`;
/** Concurrent viewers per window (and `key`), a source partition behind at the live edge counting with its newest figure (live-edge.ts). */
const liveEdgeOf = (dimension: string, key: string) => liveEdgeViewersSql(rowsOf(dimension), key);

export const peakConcurrency: PanelSpec = {
  title: 'Concurrent viewers',
  description:
    'Peak concurrent viewers in each interval (the largest 10 s window); at a 1 minute interval, metric-queries.ts peakConcurrencyByMinute.',
  kind: 'timeseries',
  unit: 'short',
  width: 12,
  height: 9,
  minInterval: '10s',
  targets: [
    {
      source: 'clickhouse',
      format: 'time_series',
      sql: `SELECT $__timeInterval(window_start) AS time, toUInt32(max(viewers)) AS concurrent_viewers
FROM (${liveEdgeOf("'all'", 'stream_id')})
GROUP BY time ORDER BY time`,
      columns: { time: 'time', concurrent_viewers: 'number' },
    },
  ],
};

const stat = (title: string, description: string, sql: string, column: string, unit = 'short'): PanelSpec =>
  clickHouseStat(title, description, sql, column, { unit });

export const streamDrilldown: BoardSpec = {
  uid: 'livepulse-stream',
  file: 'stream-drilldown.json',
  title: 'Livepulse / Stream drill-down',
  description:
    'One stream: audience, its breakdown, quality, chat and moderation, with highlights and clips marked on every graph.',
  tags: ['livepulse', 'live'],
  refresh: '5s',
  time: { from: 'now-1h', to: 'now' },
  variables: [creatorVariable, oneStreamVariable, dimensionVariable],
  annotations: [
    {
      name: 'Highlights',
      color: 'orange',
      sql: `SELECT window_start AS time, window_end AS timeEnd, concat('Highlight (score ', toString(round(score, 1)), '): ', arrayStringConcat(reasons, ', ')) AS text, 'highlight' AS tags
FROM highlights FINAL WHERE $__timeFilter(window_start) AND ${STREAM_CONDITION}`,
    },
    {
      name: 'Clips',
      color: 'purple',
      sql: `SELECT window_start AS time, window_end AS timeEnd, concat('Clip ', toString(status), ': ', clip_id) AS text, 'clip' AS tags
FROM clips FINAL WHERE $__timeFilter(window_start) AND ${STREAM_CONDITION}`,
    },
  ],
  rows: [
    {
      title: 'Audience',
      panels: [
        stat(
          'Peak concurrent viewers',
          'The largest 10 s window in the time range.',
          `SELECT toUInt32(max(viewers)) AS peak_concurrent_viewers FROM (SELECT window_start, sum(concurrent_views) AS viewers ${windowsOf("'all'")} GROUP BY window_start)`,
          'peak_concurrent_viewers',
        ),
        stat(
          'Unique viewers',
          'Distinct viewers in the windows of the time range (uniqCombined).',
          `SELECT toUInt64(uniqCombinedMerge(viewers)) AS unique_viewers ${windowsOf("'all'")}`,
          'unique_viewers',
        ),
        stat(
          'Views started',
          'Views that started in the time range.',
          `SELECT toUInt64(sum(views_started)) AS views_started ${windowsOf("'all'")}`,
          'views_started',
        ),
        stat(
          'Watch time',
          'Time spent watching in the time range.',
          `SELECT sum(watch_ms) / 1000 AS watch_seconds ${windowsOf("'all'")}`,
          'watch_seconds',
          's',
        ),
        peakConcurrency,
        {
          title: 'Concurrent viewers by $dimension',
          description: 'Peak concurrent viewers in each interval, per value of the chosen dimension.',
          kind: 'timeseries',
          unit: 'short',
          width: 12,
          height: 9,
          minInterval: '10s',
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(window_start) AS time, dimension_value, toUInt32(max(viewers)) AS concurrent_viewers
FROM (${liveEdgeOf('${dimension:singlequote}', 'dimension_value')})
GROUP BY time, dimension_value ORDER BY time, dimension_value`,
              columns: { time: 'time', dimension_value: 'string', concurrent_viewers: 'number' },
            },
          ],
        },
      ],
    },
    {
      title: 'Quality',
      panels: [
        {
          title: 'Rebuffering',
          description: 'Rebuffering as a share of watch time in each interval (Σ rebuffer ÷ Σ watch).',
          kind: 'timeseries',
          unit: 'percent',
          width: 12,
          height: 8,
          minInterval: '10s',
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(window_start) AS time, 100 * sum(rebuffer_ms) / nullIf(sum(watch_ms), 0) AS rebuffer_percentage
${reachedWindowsOf("'all'")}
GROUP BY time ORDER BY time`,
              columns: { time: 'time', rebuffer_percentage: 'number' },
            },
          ],
        },
        {
          title: 'Views started',
          description: 'Views that started in each interval.',
          kind: 'timeseries',
          unit: 'short',
          width: 12,
          height: 8,
          minInterval: '10s',
          stackedBars: true,
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(window_start) AS time, toUInt64(sum(views_started)) AS views_started
${reachedWindowsOf("'all'")}
GROUP BY time ORDER BY time`,
              columns: { time: 'time', views_started: 'number' },
            },
          ],
        },
      ],
    },
    {
      title: 'Chat',
      panels: [
        {
          title: 'Chat velocity by heuristic decision',
          description: 'Messages per minute, by what the inline heuristics decided.',
          kind: 'timeseries',
          unit: 'short',
          width: 12,
          height: 8,
          minInterval: '10s',
          stackedBars: true,
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(sent_at) AS time, toString(heuristic_decision) AS decision, count() * 60 / ($__interval_s) AS messages_per_minute
FROM chat_messages FINAL
WHERE $__timeFilter(sent_at) AND ${STREAM_CONDITION}
GROUP BY time, decision ORDER BY time, decision`,
              columns: { time: 'time', decision: 'string', messages_per_minute: 'number' },
            },
          ],
        },
        {
          title: 'Moderation actions',
          description: 'Verdicts and moderator actions, by source and action.',
          kind: 'timeseries',
          unit: 'short',
          width: 12,
          height: 8,
          minInterval: '10s',
          stackedBars: true,
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(decided_at) AS time, concat(toString(source), ': ', toString(action)) AS action, count() AS actions
FROM chat_moderation_events FINAL
WHERE $__timeFilter(decided_at) AND ${STREAM_CONDITION}
GROUP BY time, action ORDER BY time, action`,
              columns: { time: 'time', action: 'string', actions: 'number' },
            },
          ],
        },
      ],
    },
    { title: 'Highlights and clips', panels: [highlightsTable(STREAM_CONDITION), clipsTable(STREAM_CONDITION)] },
  ],
};
