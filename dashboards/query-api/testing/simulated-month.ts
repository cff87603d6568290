import { performance } from 'node:perf_hooks';
import type { AnalyticsStore } from '../../../core/analytics-store/analytics-store.ts';

/**
 * A simulated month of analytics for benchmarks, generated inside the analytics store with
 * INSERT … SELECT … FROM numbers() into the tables the pipeline writes: the stream registry (every
 * stream registered to its creator, as in production), the minute and hour
 * window rollups, creator_concurrency, view_summaries (whose materialized views fill the view rollups),
 * creator_streams, chat_messages, chat_moderation_events, highlights and clips. Streams last
 * 1–4 h, are spread over the month and shared out among the creators; viewer curves rise, wobble
 * and fall; views start through the stream and last minutes to hours. Every figure is a
 * deterministic hash of the stream number, so runs are comparable.
 */
export interface MonthOptions {
  streams: number;
  creators: number;
  /** Epoch seconds, whole hour: the month is the 30 days after it. */
  monthStart: number;
  property: string;
}

const HOUR = 3_600;
const DAY = 24 * HOUR;

/** The month's streams: one row each, every figure a deterministic hash of the stream number. */
const STREAMS_SQL = `
  SELECT number AS i, concat('bench-stream-', toString(number)) AS stream_id,
         concat('bench-creator-', toString(number % {creators:UInt32})) AS creator_id,
         toUInt32({month_start:UInt32} + intDiv(number * {spread:UInt32}, {streams:UInt32}) + cityHash64(number, 1) % 3600) AS start_s,
         toUInt32(3600 + cityHash64(number, 2) % (3 * 3600)) AS duration_s,
         toUInt32(40 + cityHash64(number, 3) % 1200) AS peak
  FROM numbers({streams:UInt32})`;

/** Concurrent viewers `t` seconds into a stream: ramps up over 10 %, wobbles, falls over the last 15 %. */
const concurrencyAt = (t: string) =>
  `toUInt64(greatest(1, floor(peak * least(1, (${t}) / duration_s / 0.1) * least(1, (1 - (${t}) / duration_s) / 0.15) * (0.85 + 0.15 * sin((${t}) / 600)))))`;

function generators(PROPERTY: string): Array<{ what: string; sql: string }> {
  return [
    {
      what: 'stream_owners',
      sql: `INSERT INTO stream_owners (stream_id, creator_id, source, channel_arn, registered_by, registered_at, version)
            SELECT stream_id, creator_id, 'api', '', 'bench', toDateTime64(start_s, 3, 'UTC'), start_s FROM (${STREAMS_SQL})`,
    },
    {
      what: 'creator_streams',
      sql: `INSERT INTO creator_streams (creator_id, property_id, stream_id, first_window, last_window)
            SELECT creator_id, '${PROPERTY}', stream_id, toDateTime(start_s - start_s % 60, 'UTC'), toDateTime(start_s - start_s % 60 + intDiv(duration_s, 60) * 60 - 10, 'UTC')
            FROM (${STREAMS_SQL})`,
    },
    {
      what: 'viewer_windows_minute',
      sql: `INSERT INTO viewer_windows_minute (property_id, creator_id, stream_id, dimension, dimension_value, minute, concurrent_by_window, views_started, viewers, watch_ms, playing_ms, rebuffer_ms, rebuffer_count)
            SELECT '${PROPERTY}', creator_id, stream_id, 'all', '', toDateTime(start_s - start_s % 60 + m * 60, 'UTC'),
                   arrayReduce('sumMapState', [arrayMap(k -> toUInt16(k * 10), range(6))], [counts]),
                   toUInt64(3 + intDiv(arrayMax(counts), 20)),
                   arrayReduce('uniqCombinedState', arrayMap(j -> concat(stream_id, '-viewer-', toString(j)), range(m * 3, m * 3 + arrayMax(counts)))),
                   arraySum(counts) * 10000 AS watch, toUInt64(watch * 0.98), toUInt64(watch * 0.01), toUInt64(intDiv(watch, 600000))
            FROM (SELECT *, m, arrayMap(k -> ${concurrencyAt('m * 60 + k * 10')}, range(6)) AS counts
                  FROM (${STREAMS_SQL}) ARRAY JOIN range(intDiv(duration_s, 60)) AS m)`,
    },
    {
      what: 'creator_concurrency',
      sql: `INSERT INTO creator_concurrency (creator_id, property_id, stream_id, window_start, source_partition, concurrent_views)
            SELECT creator_id, '${PROPERTY}', stream_id, toDateTime(start_s - start_s % 60 + w * 10, 'UTC'), 0, toUInt32(${concurrencyAt('w * 10')})
            FROM (${STREAMS_SQL}) ARRAY JOIN range(intDiv(duration_s, 60) * 6) AS w`,
    },
    {
      what: 'viewer_windows_hour',
      sql: `INSERT INTO viewer_windows_hour (property_id, creator_id, stream_id, dimension, dimension_value, hour, concurrent_by_window, views_started, viewers, watch_ms, playing_ms, rebuffer_ms, rebuffer_count)
            SELECT property_id, creator_id, stream_id, dimension, dimension_value, toStartOfHour(minute) AS hour,
                   sumMapState(arrayMap(k -> toUInt16(toMinute(minute) * 60 + k), by_window.1), by_window.2),
                   sum(started), uniqCombinedMergeState(v), sum(w), sum(p), sum(r), sum(rc)
            FROM (SELECT property_id, creator_id, stream_id, dimension, dimension_value, minute, sumMapMerge(concurrent_by_window) AS by_window,
                         sum(views_started) AS started, uniqCombinedMergeState(viewers) AS v, sum(watch_ms) AS w, sum(playing_ms) AS p,
                         sum(rebuffer_ms) AS r, sum(rebuffer_count) AS rc
                  FROM viewer_windows_minute WHERE property_id = '${PROPERTY}'
                  GROUP BY property_id, creator_id, stream_id, dimension, dimension_value, minute)
            GROUP BY property_id, creator_id, stream_id, dimension, dimension_value, hour`,
    },
    {
      what: 'view_summaries (and through their materialized views, the view rollups)',
      sql: `INSERT INTO view_summaries (property_id, creator_id, stream_id, view_id, viewer_id, source_partition, started_at, last_event_at, ended_at, end_reason,
                                        device, os, browser, player, cdn, rendition, country, watch_ms, playing_ms, rebuffer_ms, rebuffer_count, seek_count, seek_ms,
                                        startup_time_ms, upscale_weighted_ms, downscale_weighted_ms, max_upscale_pct, live_latency_ms, dropped_frames,
                                        playback_failure, startup_failure, business_exception, exit_before_start, error_code, events, version)
            SELECT '${PROPERTY}', creator_id, stream_id, concat(stream_id, '-view-', toString(j)), concat(stream_id, '-viewer-', toString(j % (peak + 40))),
                   toUInt16(j % 6), fromUnixTimestamp64Milli(toInt64(begin * 1000)), fromUnixTimestamp64Milli(toInt64((begin + watch_s) * 1000)),
                   fromUnixTimestamp64Milli(toInt64((begin + watch_s + 30) * 1000)), 'ended',
                   ['desktop', 'mobile', 'tv', 'tablet'][1 + h % 4], ['windows', 'ios', 'android', 'macos', 'tvos'][1 + h % 5],
                   ['chrome', 'safari', 'firefox', 'edge'][1 + h % 4], 'livepulse-web', ['cdn-a', 'cdn-b'][1 + h % 2],
                   ['1080p', '720p', '480p'][1 + h % 3], ['US', 'DE', 'BR', 'JP', 'FR', 'IN'][1 + h % 6],
                   watch_s * 1000, toUInt64(watch_s * 980), toUInt64(watch_s * (h % 7 = 0 ? 40 : 4)), toUInt32(h % 7 = 0 ? 3 : h % 2), 0, 0,
                   toUInt32(400 + h % 3600), 0, 0, 0, toUInt32(2000 + h % 3000), 0,
                   toUInt8(h % 97 = 0), 0, 0, 0, '', toUInt32(10 + watch_s / 10), 1
            FROM (SELECT *, j, cityHash64(stream_id, j) AS h,
                         toUInt32(start_s + h % toUInt64(duration_s * 0.9)) AS begin,
                         toUInt32(least(toUInt64(start_s + duration_s - begin), 60 + (h % 5400))) AS watch_s
                  FROM (${STREAMS_SQL}) ARRAY JOIN range(peak) AS j)`,
    },
    {
      what: 'chat_messages',
      sql: `INSERT INTO chat_messages (message_id, stream_id, user_id, display_name, client_message_id, text, sent_at, heuristic_decision, flag_categories, flag_scores)
            SELECT concat(stream_id, '-msg-', toString(j)), stream_id, concat('chatter-', toString(cityHash64(stream_id, j) % (10 + intDiv(peak, 5)))), 'viewer',
                   toString(j), 'gg that was great', fromUnixTimestamp64Milli(toInt64((start_s + cityHash64(j, stream_id) % duration_s) * 1000)),
                   'allow', [], []
            FROM (${STREAMS_SQL}) ARRAY JOIN range(peak) AS j`,
    },
    {
      what: 'chat_moderation_events',
      sql: `INSERT INTO chat_moderation_events (verdict_id, stream_id, decided_at, source, action, actor_id, message_id, target_user_id, reason, flag_categories, flag_scores, duration_ms, details)
            SELECT concat(stream_id, '-verdict-', toString(j)), stream_id, fromUnixTimestamp64Milli(toInt64((start_s + cityHash64(j, stream_id, 7) % duration_s) * 1000)),
                   ['moderator', 'ai', 'heuristics'][1 + j % 3], ['remove', 'timeout', 'allow', 'ban', 'hold', 'release'][1 + cityHash64(j, stream_id) % 6],
                   'moderator-1', concat(stream_id, '-msg-', toString(j * 40)), concat('chatter-', toString(j)), 'spam', [], [], 0, ''
            FROM (${STREAMS_SQL}) ARRAY JOIN range(intDiv(peak, 40) + 1) AS j`,
    },
    {
      what: 'highlights',
      sql: `INSERT INTO highlights (highlight_id, stream_id, window_start, window_end, score, reasons, requested_by, detected_at)
            SELECT concat(stream_id, '-highlight-', toString(j)), stream_id, fromUnixTimestamp64Milli(toInt64((start_s + 600 + j * 900) * 1000)),
                   fromUnixTimestamp64Milli(toInt64((start_s + 630 + j * 900) * 1000)), 3 + (cityHash64(stream_id, j) % 500) / 100, ['chat spike'], '',
                   fromUnixTimestamp64Milli(toInt64((start_s + 640 + j * 900) * 1000))
            FROM (${STREAMS_SQL}) ARRAY JOIN range(intDiv(duration_s, 3600) + 2) AS j`,
    },
    {
      what: 'clips',
      sql: `INSERT INTO clips (clip_id, highlight_id, stream_id, status, window_start, window_end, duration_ms, outputs, reason, finished_at)
            SELECT concat('clip_', toString(cityHash64(highlight_id))), highlight_id, stream_id, 'created', window_start, window_end, 30000,
                   map('mp4', concat('clips/', highlight_id, '/clip.mp4'), 'thumbnail', concat('clips/', highlight_id, '/poster.jpg')), '', detected_at + INTERVAL 20 SECOND
            FROM highlights WHERE stream_id LIKE 'bench-stream-%'`,
    },
  ];
}

/** Inserts the month; resolves to the seconds each table took. */
export async function generateMonth(
  store: AnalyticsStore,
  options: MonthOptions,
  log: (line: string) => void = () => undefined,
): Promise<Record<string, number>> {
  const params = {
    creators: options.creators,
    streams: options.streams,
    month_start: options.monthStart,
    spread: 30 * DAY - 5 * HOUR,
  };
  const seconds: Record<string, number> = {};
  for (const { what, sql } of generators(options.property)) {
    const started = performance.now();
    await store.client.command({ query: sql, query_params: params, clickhouse_settings: { async_insert: 0 } });
    seconds[what] = (performance.now() - started) / 1_000;
    log(`generated ${what} in ${seconds[what].toFixed(1)} s`);
  }
  return seconds;
}
