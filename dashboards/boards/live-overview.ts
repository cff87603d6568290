import { clickHouseStat, type BoardSpec, type PanelSpec } from './board-model.ts';
import type { ClickHouseResultFormat } from './clickhouse-query.ts';
import { liveEdgeNowSql, liveEdgeViewersSql } from '../../core/analytics/live-edge.ts';
import { creatorVariable, STREAM_SCOPE, streamsVariable, VIEWER_SCOPE } from './scope-filters.ts';

/**
 * Live overview: every stream right now. Concurrency is the sum over source partitions of each
 * 10 s window's rows (read FINAL: the latest early or final result per key, as
 * metric-queries.ts does), and over a coarser interval its peak. At the live edge a source
 * partition that has not reached the newest window yet counts with its newest figure, never as
 * empty (live-edge.ts), so the right end of every chart and the "now" stat never read a partial window.
 */
const VIEWER_ROWS = `dimension = 'all' AND $__timeFilter(window_start) AND ${VIEWER_SCOPE}`;
const WINDOW_TOTALS = liveEdgeViewersSql(VIEWER_ROWS);

export const concurrentViewersPerStream: PanelSpec = {
  title: 'Concurrent viewers per stream',
  description: 'Viewers watching each stream (peak of the 10 s windows in each interval).',
  kind: 'timeseries',
  unit: 'short',
  width: 16,
  height: 9,
  minInterval: '10s',
  targets: [
    {
      source: 'clickhouse',
      format: 'time_series',
      sql: `SELECT $__timeInterval(window_start) AS time, stream_id, toUInt64(max(viewers)) AS concurrent_viewers
FROM (${WINDOW_TOTALS})
GROUP BY time, stream_id ORDER BY time, stream_id`,
      columns: { time: 'time', stream_id: 'string', concurrent_viewers: 'number' },
    },
  ],
};

const chatVelocityPerStream: PanelSpec = {
  title: 'Chat velocity',
  description: 'Chat messages per minute in each stream.',
  kind: 'timeseries',
  unit: 'short',
  width: 12,
  height: 8,
  minInterval: '10s',
  targets: [
    {
      source: 'clickhouse',
      format: 'time_series',
      sql: `SELECT $__timeInterval(sent_at) AS time, stream_id, count() * 60 / ($__interval_s) AS messages_per_minute
FROM chat_messages FINAL
WHERE $__timeFilter(sent_at) AND ${STREAM_SCOPE}
GROUP BY time, stream_id ORDER BY time, stream_id`,
      columns: { time: 'time', stream_id: 'string', messages_per_minute: 'number' },
    },
  ],
};

export const moderationActions: PanelSpec = {
  title: 'Moderation actions',
  description: 'Verdicts and moderator actions (chat.verdicts), by action.',
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
      sql: `SELECT $__timeInterval(decided_at) AS time, toString(action) AS action, count() AS actions
FROM chat_moderation_events FINAL
WHERE $__timeFilter(decided_at) AND ${STREAM_SCOPE}
GROUP BY time, action ORDER BY time, action`,
      columns: { time: 'time', action: 'string', actions: 'number' },
    },
  ],
};

export const highlightsTable = (scope: string): PanelSpec => ({
  title: 'Highlights',
  description: 'Detected and requested highlights, newest first.',
  kind: 'table',
  width: 12,
  height: 9,
  targets: [
    {
      source: 'clickhouse',
      format: 'table',
      sql: `SELECT detected_at AS time, stream_id, window_start, window_end, round(score, 2) AS score, arrayStringConcat(reasons, ', ') AS reasons, requested_by
FROM highlights FINAL
WHERE $__timeFilter(window_start) AND ${scope}
ORDER BY detected_at DESC LIMIT 100`,
      columns: {
        time: 'time',
        stream_id: 'string',
        window_start: 'time',
        window_end: 'time',
        score: 'number',
        reasons: 'string',
        requested_by: 'string',
      },
    },
  ],
});

export const clipsTable = (scope: string): PanelSpec => ({
  title: 'Clips',
  description: 'Clips by their latest event, newest first; thumbnail and mp4 are object-store keys.',
  kind: 'table',
  width: 12,
  height: 9,
  targets: [
    {
      source: 'clickhouse',
      format: 'table',
      sql: `SELECT finished_at AS time, stream_id, clip_id, toString(status) AS status, duration_ms / 1000 AS duration_s, outputs['thumbnail'] AS thumbnail, outputs['mp4'] AS mp4
FROM clips FINAL
WHERE $__timeFilter(window_start) AND ${scope}
ORDER BY finished_at DESC LIMIT 100`,
      columns: {
        time: 'time',
        stream_id: 'string',
        clip_id: 'string',
        status: 'string',
        duration_s: 'number',
        thumbnail: 'string',
        mp4: 'string',
      },
    },
  ],
});

const stat = (
  title: string,
  description: string,
  sql: string,
  column: string,
  format: ClickHouseResultFormat = 'table',
): PanelSpec => clickHouseStat(title, description, sql, column, { width: 4, format });

export const liveOverview: BoardSpec = {
  uid: 'livepulse-live-overview',
  file: 'live-overview.json',
  title: 'Livepulse / Live overview',
  description:
    'Concurrent viewers per stream and in total, chat velocity, moderation, highlights and clips, refreshed every 5 s.',
  tags: ['livepulse', 'live'],
  refresh: '5s',
  time: { from: 'now-30m', to: 'now' },
  variables: [creatorVariable, streamsVariable],
  annotations: [],
  rows: [
    {
      title: 'Right now',
      panels: [
        stat(
          'Concurrent viewers',
          'Viewers of the selected streams now: the newest 10 s window any source partition has reached, a partition not there yet counting with its newest figure.',
          liveEdgeNowSql(VIEWER_ROWS),
          'concurrent_viewers',
        ),
        stat(
          'Streams with viewers',
          'Streams that had a viewer in the time range.',
          `SELECT uniqExact(stream_id) AS streams FROM viewer_windows FINAL WHERE dimension = 'all' AND concurrent_views > 0 AND $__timeFilter(window_start) AND ${VIEWER_SCOPE}`,
          'streams',
        ),
        stat(
          'Chat messages',
          'Chat messages accepted in the time range.',
          `SELECT count() AS messages FROM chat_messages FINAL WHERE $__timeFilter(sent_at) AND ${STREAM_SCOPE}`,
          'messages',
        ),
        stat(
          'Moderation actions',
          'Verdicts and moderator actions in the time range.',
          `SELECT count() AS actions FROM chat_moderation_events FINAL WHERE $__timeFilter(decided_at) AND ${STREAM_SCOPE}`,
          'actions',
        ),
        stat(
          'Highlights',
          'Highlights whose window starts in the time range.',
          `SELECT count() AS highlights FROM highlights FINAL WHERE $__timeFilter(window_start) AND ${STREAM_SCOPE}`,
          'highlights',
        ),
        stat(
          'Clips',
          'Clips made (not failed) whose window starts in the time range.',
          `SELECT countIf(status != 'failed') AS clips FROM clips FINAL WHERE $__timeFilter(window_start) AND ${STREAM_SCOPE}`,
          'clips',
        ),
      ],
    },
    {
      title: 'Viewers',
      panels: [
        concurrentViewersPerStream,
        {
          title: 'Concurrent viewers, all selected streams',
          description: 'Sum over the selected streams per 10 s window; its peak in each interval.',
          kind: 'timeseries',
          unit: 'short',
          width: 8,
          height: 9,
          minInterval: '10s',
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(window_start) AS time, toUInt64(max(viewers)) AS concurrent_viewers
FROM (SELECT window_start, sum(viewers) AS viewers FROM (${WINDOW_TOTALS}) GROUP BY window_start)
GROUP BY time ORDER BY time`,
              columns: { time: 'time', concurrent_viewers: 'number' },
            },
          ],
        },
      ],
    },
    { title: 'Chat and moderation', panels: [chatVelocityPerStream, moderationActions] },
    { title: 'Highlights and clips', panels: [highlightsTable(STREAM_SCOPE), clipsTable(STREAM_SCOPE)] },
  ],
};
