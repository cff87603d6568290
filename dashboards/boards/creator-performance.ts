import { clickHouseTable, type BoardSpec } from './board-model.ts';
import { CREATOR_CONDITION, creatorVariable } from './scope-filters.ts';

/**
 * Creators over days and weeks, from the hour rollups (final windows and ended views only, so
 * the last hour fills in as windows close). Engagement is bucketed by view start, quality by
 * view end, as Mux does. Chat and clips reach their creator through the stream.
 */
// An hour bucket counts when any of it is in the range: its start may precede the range's.
const HOUR_IN_RANGE = 'hour >= toStartOfHour($__fromTime) AND hour <= ($__toTime)';

const HOURS = (bucket: 'start' | 'end') => `FROM view_rollup_hour
WHERE bucket = '${bucket}' AND dimension = 'all' AND ${HOUR_IN_RANGE} AND ${CREATOR_CONDITION}`;

const STREAMS_OF_CREATORS = `(SELECT DISTINCT stream_id, creator_id FROM viewer_windows_hour WHERE dimension = 'all' AND ${CREATOR_CONDITION})`;

export const creatorPerformance: BoardSpec = {
  uid: 'livepulse-creators',
  file: 'creator-performance.json',
  title: 'Livepulse / Creator performance',
  description:
    'Per creator: streams, peak audience, views and unique viewers, watch time, view duration, startup and rebuffering, chat, moderation and clips.',
  tags: ['livepulse', 'creators'],
  refresh: '1m',
  time: { from: 'now-30d', to: 'now' },
  variables: [creatorVariable],
  annotations: [],
  rows: [
    {
      title: 'Engagement',
      panels: [
        clickHouseTable(
          'Engagement by creator',
          'Views that started in the time range: streams, views, unique viewers, watch time and average view duration.',
          `SELECT creator_id, uniqExact(stream_id) AS streams, toUInt64(sum(views)) AS views_started, toUInt64(uniqCombinedMerge(viewers)) AS unique_viewers,
  sum(watch_ms) / 3600000 AS watch_hours, sum(watch_ms) / nullIf(sum(views), 0) / 1000 AS average_view_duration_s
${HOURS('start')}
GROUP BY creator_id ORDER BY watch_hours DESC, creator_id`,
          {
            creator_id: 'string',
            streams: 'number',
            views_started: 'number',
            unique_viewers: 'number',
            watch_hours: 'number',
            average_view_duration_s: 'number',
          },
          14,
        ),
        clickHouseTable(
          'Quality by creator',
          'Views that ended in the time range: startup time and rebuffering (ratios of sums).',
          `SELECT creator_id, toUInt64(sum(views)) AS views_ended,
  if(sum(views_with_startup) > 0, quantilesExactMerge(0.5, 0.95)(startup_times)[1], NULL) AS startup_time_p50_ms,
  100 * sum(rebuffer_ms) / nullIf(sum(watch_ms), 0) AS rebuffer_percentage,
  100 * sum(playback_failures) / nullIf(sum(views), 0) AS playback_failure_percentage
${HOURS('end')}
GROUP BY creator_id ORDER BY views_ended DESC, creator_id`,
          {
            creator_id: 'string',
            views_ended: 'number',
            startup_time_p50_ms: 'number',
            rebuffer_percentage: 'number',
            playback_failure_percentage: 'number',
          },
          10,
        ),
        {
          title: 'Watch hours per creator',
          description: 'Watch time of the views that started in each interval.',
          kind: 'timeseries',
          unit: 'h',
          width: 12,
          height: 8,
          minInterval: '1h',
          stackedBars: true,
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(hour) AS time, creator_id, sum(watch_ms) / 3600000 AS watch_hours
${HOURS('start')}
GROUP BY time, creator_id ORDER BY time, creator_id`,
              columns: { time: 'time', creator_id: 'string', watch_hours: 'number' },
            },
          ],
        },
        clickHouseTable(
          'Streams',
          'Each stream: when it had viewers and its peak concurrent viewers (largest 10 s window, from the hour rollup).',
          `SELECT creator_id, stream_id, min(hour) AS first_hour, max(hour) AS last_hour, toUInt64(max(peak)) AS peak_concurrent_viewers
FROM (SELECT creator_id, stream_id, hour, arrayMax(sumMapMerge(concurrent_by_window).2) AS peak
      FROM viewer_windows_hour WHERE dimension = 'all' AND ${HOUR_IN_RANGE} AND ${CREATOR_CONDITION}
      GROUP BY creator_id, stream_id, hour)
GROUP BY creator_id, stream_id ORDER BY peak_concurrent_viewers DESC, stream_id`,
          {
            creator_id: 'string',
            stream_id: 'string',
            first_hour: 'time',
            last_hour: 'time',
            peak_concurrent_viewers: 'number',
          },
        ),
      ],
    },
    {
      title: 'Community',
      panels: [
        clickHouseTable(
          'Chat by creator',
          "Messages and chatters in the creators' streams.",
          `SELECT s.creator_id AS creator_id, count() AS messages, uniqExact(m.user_id) AS chatters
FROM chat_messages AS m FINAL
INNER JOIN ${STREAMS_OF_CREATORS} AS s ON m.stream_id = s.stream_id
WHERE $__timeFilter(m.sent_at)
GROUP BY creator_id ORDER BY messages DESC, creator_id`,
          { creator_id: 'string', messages: 'number', chatters: 'number' },
          8,
        ),
        clickHouseTable(
          'Moderation by creator',
          "Verdicts and moderator actions in the creators' streams, by action.",
          `SELECT s.creator_id AS creator_id, toString(e.action) AS action, count() AS actions
FROM chat_moderation_events AS e FINAL
INNER JOIN ${STREAMS_OF_CREATORS} AS s ON e.stream_id = s.stream_id
WHERE $__timeFilter(e.decided_at)
GROUP BY creator_id, action ORDER BY creator_id, actions DESC, action`,
          { creator_id: 'string', action: 'string', actions: 'number' },
          8,
        ),
        clickHouseTable(
          'Latest clips',
          "Clips made from the creators' streams, newest first.",
          `SELECT s.creator_id AS creator_id, c.stream_id AS stream_id, c.clip_id AS clip_id, c.window_start AS time, c.duration_ms / 1000 AS duration_s, c.outputs['thumbnail'] AS thumbnail
FROM clips AS c FINAL
INNER JOIN ${STREAMS_OF_CREATORS} AS s ON c.stream_id = s.stream_id
WHERE c.status != 'failed' AND $__timeFilter(c.window_start)
ORDER BY time DESC LIMIT 50`,
          {
            creator_id: 'string',
            stream_id: 'string',
            clip_id: 'string',
            time: 'time',
            duration_s: 'number',
            thumbnail: 'string',
          },
          8,
        ),
      ],
    },
  ],
};
