-- Minute and hour rollups of viewer analytics (docs/analytics.md). Every materialized view reads a
-- table whose rows are each inserted exactly once (viewer_window_finals, view_summaries), never
-- the ReplacingMergeTree of early results, so a re-emitted window cannot be counted twice.
-- Sums over source partitions happen in the rollup's merge; unique viewers merge uniqCombined
-- states; startup times keep exact quantile states (one value per view) so p50/p95 stay exact.

-- Window rows per minute and hour. Concurrency per window is kept as a map from the window's
-- offset in the period (seconds) to its viewers summed over partitions, so the peak is the map's
-- largest value: arrayMax(sumMapMerge(concurrent_by_window).2).
CREATE TABLE IF NOT EXISTS viewer_windows_minute (
  property_id LowCardinality(String),
  creator_id String,
  stream_id String,
  dimension LowCardinality(String),
  dimension_value String,
  minute DateTime('UTC'),
  concurrent_by_window AggregateFunction(sumMap, Array(UInt16), Array(UInt64)),
  views_started SimpleAggregateFunction(sum, UInt64),
  viewers AggregateFunction(uniqCombined, String),
  watch_ms SimpleAggregateFunction(sum, UInt64),
  playing_ms SimpleAggregateFunction(sum, UInt64),
  rebuffer_ms SimpleAggregateFunction(sum, UInt64),
  rebuffer_count SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (property_id, stream_id, dimension, dimension_value, minute, creator_id)
TTL minute + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS viewer_windows_minute_mv TO viewer_windows_minute AS
SELECT
  property_id, creator_id, stream_id, dimension, dimension_value,
  toStartOfMinute(window_start) AS minute,
  sumMapState([toUInt16(toSecond(window_start))], [toUInt64(concurrent_views)]) AS concurrent_by_window,
  toUInt64(sum(views_started)) AS views_started,
  uniqCombinedArrayState(viewer_ids) AS viewers,
  toUInt64(sum(watch_ms)) AS watch_ms,
  toUInt64(sum(playing_ms)) AS playing_ms,
  toUInt64(sum(rebuffer_ms)) AS rebuffer_ms,
  toUInt64(sum(rebuffer_count)) AS rebuffer_count
FROM viewer_window_finals
GROUP BY property_id, creator_id, stream_id, dimension, dimension_value, minute;

CREATE TABLE IF NOT EXISTS viewer_windows_hour (
  property_id LowCardinality(String),
  creator_id String,
  stream_id String,
  dimension LowCardinality(String),
  dimension_value String,
  hour DateTime('UTC'),
  concurrent_by_window AggregateFunction(sumMap, Array(UInt16), Array(UInt64)),
  views_started SimpleAggregateFunction(sum, UInt64),
  viewers AggregateFunction(uniqCombined, String),
  watch_ms SimpleAggregateFunction(sum, UInt64),
  playing_ms SimpleAggregateFunction(sum, UInt64),
  rebuffer_ms SimpleAggregateFunction(sum, UInt64),
  rebuffer_count SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (property_id, stream_id, dimension, dimension_value, hour, creator_id)
TTL hour + INTERVAL 1000 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS viewer_windows_hour_mv TO viewer_windows_hour AS
SELECT
  property_id, creator_id, stream_id, dimension, dimension_value,
  toStartOfHour(window_start) AS hour,
  sumMapState([toUInt16(toMinute(window_start) * 60 + toSecond(window_start))], [toUInt64(concurrent_views)]) AS concurrent_by_window,
  toUInt64(sum(views_started)) AS views_started,
  uniqCombinedArrayState(viewer_ids) AS viewers,
  toUInt64(sum(watch_ms)) AS watch_ms,
  toUInt64(sum(playing_ms)) AS playing_ms,
  toUInt64(sum(rebuffer_ms)) AS rebuffer_ms,
  toUInt64(sum(rebuffer_count)) AS rebuffer_count
FROM viewer_window_finals
GROUP BY property_id, creator_id, stream_id, dimension, dimension_value, hour;

-- Ended views per minute and hour, by dimension (each view once per dimension, with its last
-- reported value, and once as `all`), and twice over: `bucket` says which time the row is bucketed by:
-- 'start' (engagement: views, viewers, watch and playing time, as Mux buckets them) or
-- 'end' (QoE: startup, rebuffering, failures, exits, upscaling).
CREATE TABLE IF NOT EXISTS view_rollup_minute (
  property_id LowCardinality(String),
  creator_id String,
  stream_id String,
  dimension LowCardinality(String),
  dimension_value String,
  bucket Enum8('start' = 1, 'end' = 2),
  minute DateTime('UTC'),
  views SimpleAggregateFunction(sum, UInt64),
  viewers AggregateFunction(uniqCombined, String),
  watch_ms SimpleAggregateFunction(sum, UInt64),
  playing_ms SimpleAggregateFunction(sum, UInt64),
  rebuffer_ms SimpleAggregateFunction(sum, UInt64),
  rebuffer_count SimpleAggregateFunction(sum, UInt64),
  startup_times AggregateFunction(quantilesExact(0.5, 0.95), UInt32),
  views_with_startup SimpleAggregateFunction(sum, UInt64),
  playback_failures SimpleAggregateFunction(sum, UInt64),
  startup_failures SimpleAggregateFunction(sum, UInt64),
  exits_before_start SimpleAggregateFunction(sum, UInt64),
  business_exceptions SimpleAggregateFunction(sum, UInt64),
  upscale_weighted_ms SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (property_id, stream_id, bucket, dimension, dimension_value, minute, creator_id)
TTL minute + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS view_rollup_minute_mv TO view_rollup_minute AS
SELECT
  property_id, creator_id, stream_id,
  d.1 AS dimension, d.2 AS dimension_value,
  b.1 AS bucket, toStartOfMinute(b.2) AS minute,
  toUInt64(count()) AS views,
  uniqCombinedState(viewer_id) AS viewers,
  toUInt64(sum(watch_ms)) AS watch_ms,
  toUInt64(sum(playing_ms)) AS playing_ms,
  toUInt64(sum(rebuffer_ms)) AS rebuffer_ms,
  toUInt64(sum(rebuffer_count)) AS rebuffer_count,
  quantilesExactStateIf(0.5, 0.95)(assumeNotNull(startup_time_ms), startup_time_ms IS NOT NULL) AS startup_times,
  toUInt64(countIf(startup_time_ms IS NOT NULL)) AS views_with_startup,
  toUInt64(sum(playback_failure)) AS playback_failures,
  toUInt64(sum(startup_failure)) AS startup_failures,
  toUInt64(sum(exit_before_start)) AS exits_before_start,
  toUInt64(sum(business_exception)) AS business_exceptions,
  toUInt64(sum(upscale_weighted_ms)) AS upscale_weighted_ms
FROM view_summaries
ARRAY JOIN arrayZip(['all', 'device', 'os', 'browser', 'player', 'cdn', 'rendition', 'country'], ['', device, os, browser, player, cdn, rendition, country]) AS d
ARRAY JOIN [('start', started_at), ('end', ended_at)] AS b
GROUP BY property_id, creator_id, stream_id, dimension, dimension_value, bucket, minute;

CREATE TABLE IF NOT EXISTS view_rollup_hour (
  property_id LowCardinality(String),
  creator_id String,
  stream_id String,
  dimension LowCardinality(String),
  dimension_value String,
  bucket Enum8('start' = 1, 'end' = 2),
  hour DateTime('UTC'),
  views SimpleAggregateFunction(sum, UInt64),
  viewers AggregateFunction(uniqCombined, String),
  watch_ms SimpleAggregateFunction(sum, UInt64),
  playing_ms SimpleAggregateFunction(sum, UInt64),
  rebuffer_ms SimpleAggregateFunction(sum, UInt64),
  rebuffer_count SimpleAggregateFunction(sum, UInt64),
  startup_times AggregateFunction(quantilesExact(0.5, 0.95), UInt32),
  views_with_startup SimpleAggregateFunction(sum, UInt64),
  playback_failures SimpleAggregateFunction(sum, UInt64),
  startup_failures SimpleAggregateFunction(sum, UInt64),
  exits_before_start SimpleAggregateFunction(sum, UInt64),
  business_exceptions SimpleAggregateFunction(sum, UInt64),
  upscale_weighted_ms SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (property_id, stream_id, bucket, dimension, dimension_value, hour, creator_id)
TTL hour + INTERVAL 1000 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS view_rollup_hour_mv TO view_rollup_hour AS
SELECT
  property_id, creator_id, stream_id,
  d.1 AS dimension, d.2 AS dimension_value,
  b.1 AS bucket, toStartOfHour(b.2) AS hour,
  toUInt64(count()) AS views,
  uniqCombinedState(viewer_id) AS viewers,
  toUInt64(sum(watch_ms)) AS watch_ms,
  toUInt64(sum(playing_ms)) AS playing_ms,
  toUInt64(sum(rebuffer_ms)) AS rebuffer_ms,
  toUInt64(sum(rebuffer_count)) AS rebuffer_count,
  quantilesExactStateIf(0.5, 0.95)(assumeNotNull(startup_time_ms), startup_time_ms IS NOT NULL) AS startup_times,
  toUInt64(countIf(startup_time_ms IS NOT NULL)) AS views_with_startup,
  toUInt64(sum(playback_failure)) AS playback_failures,
  toUInt64(sum(startup_failure)) AS startup_failures,
  toUInt64(sum(exit_before_start)) AS exits_before_start,
  toUInt64(sum(business_exception)) AS business_exceptions,
  toUInt64(sum(upscale_weighted_ms)) AS upscale_weighted_ms
FROM view_summaries
ARRAY JOIN arrayZip(['all', 'device', 'os', 'browser', 'player', 'cdn', 'rendition', 'country'], ['', device, os, browser, player, cdn, rendition, country]) AS d
ARRAY JOIN [('start', started_at), ('end', ended_at)] AS b
GROUP BY property_id, creator_id, stream_id, dimension, dimension_value, bucket, hour;
