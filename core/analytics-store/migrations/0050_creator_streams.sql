-- Which streams each creator has, when they had viewers, and how many (dashboards/query-api, dashboards/reports).
-- Rules of 0001_foundation.sql apply. The viewer-analytics tables are sorted by stream, so "this
-- creator's streams in March" would otherwise scan every rollup row of every creator; this small
-- table is sorted by creator, and the bloom filter answers "whose stream is this" without a scan.
-- min/max are idempotent, so a window inserted twice (or the backfill run twice) changes nothing.
CREATE TABLE IF NOT EXISTS creator_streams (
  creator_id String,
  property_id LowCardinality(String),
  stream_id String,
  first_window SimpleAggregateFunction(min, DateTime('UTC')),
  last_window SimpleAggregateFunction(max, DateTime('UTC')),
  INDEX stream_lookup stream_id TYPE bloom_filter GRANULARITY 1
)
ENGINE = AggregatingMergeTree
ORDER BY (creator_id, property_id, stream_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS creator_streams_mv TO creator_streams AS
SELECT creator_id, property_id, stream_id, min(window_start) AS first_window, max(window_start) AS last_window
FROM viewer_window_finals
WHERE dimension = 'all'
GROUP BY creator_id, property_id, stream_id;

-- Streams that had windows before this migration, from the hour rollup (kept 1,000 days).
INSERT INTO creator_streams (creator_id, property_id, stream_id, first_window, last_window)
SELECT creator_id, property_id, stream_id,
       min(hour + toIntervalSecond(arrayMin(offsets))), max(hour + toIntervalSecond(arrayMax(offsets)))
FROM (SELECT creator_id, property_id, stream_id, hour, sumMapMerge(concurrent_by_window).1 AS offsets
      FROM viewer_windows_hour WHERE dimension = 'all'
      GROUP BY creator_id, property_id, stream_id, hour)
GROUP BY creator_id, property_id, stream_id;

-- Concurrent viewers per stream and 10 s window (dimension 'all'), sorted by creator: what a
-- creator report's peaks, averages and concurrency chart read. The minute and hour rollups keep
-- concurrency inside sumMap states, which cost about a millisecond per row to decode; these are
-- plain numbers. One row per source partition, replaced (not added) if a window is written
-- again; readers sum over partitions with FINAL. Windows from before this migration come from the
-- hour rollup, already summed, under source_partition 65535.
CREATE TABLE IF NOT EXISTS creator_concurrency (
  creator_id String,
  property_id LowCardinality(String),
  stream_id String,
  window_start DateTime('UTC'),
  source_partition UInt16,
  concurrent_views UInt32
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (creator_id, window_start, property_id, stream_id, source_partition)
TTL window_start + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS creator_concurrency_mv TO creator_concurrency AS
SELECT creator_id, property_id, stream_id, window_start, source_partition, concurrent_views
FROM viewer_window_finals
WHERE dimension = 'all';

INSERT INTO creator_concurrency (creator_id, property_id, stream_id, window_start, source_partition, concurrent_views)
SELECT creator_id, property_id, stream_id, hour + toIntervalSecond(w.1), 65535, toUInt32(w.2)
FROM (SELECT creator_id, property_id, stream_id, hour, sumMapMerge(concurrent_by_window) AS by_window
      FROM viewer_windows_hour WHERE dimension = 'all'
      GROUP BY creator_id, property_id, stream_id, hour)
ARRAY JOIN arrayZip(by_window.1, by_window.2) AS w;
