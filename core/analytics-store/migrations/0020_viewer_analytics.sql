-- Viewer analytics (stream-processors/viewer-analytics, stream-processors/sinks; docs/analytics.md).
-- Rules of 0001_foundation.sql apply. Tables that feed materialized views keep a longer insert
-- deduplication window: a processor that re-emits a closed window after a crash repeats the same
-- insert token, and the window must still remember it when the sink writes it again.

-- Every accepted player event, for drill-down. A redelivered batch can be cut differently and so
-- escape insert deduplication; identical rows then collapse on the sorting key (read with FINAL
-- to see each event once). Rows expire after 14 days.
CREATE TABLE IF NOT EXISTS player_events_raw (
  property_id LowCardinality(String),
  stream_id String,
  creator_id String,
  view_id String,
  viewer_id String,
  session_id String,
  event_id UUID,
  event LowCardinality(String),
  view_seq UInt32,
  player_state LowCardinality(String),
  event_time DateTime64(3, 'UTC'),
  received_at DateTime64(3, 'UTC'),
  viewer_time DateTime64(3, 'UTC'),
  source LowCardinality(String),
  playhead_ms Nullable(UInt32),
  watch_ms UInt32,
  playing_ms UInt32,
  rebuffer_count UInt32,
  rebuffer_ms UInt32,
  seek_count Nullable(UInt32),
  seek_ms Nullable(UInt32),
  ttff_ms Nullable(UInt32),
  upscale_weighted_ms Nullable(UInt32),
  live_latency_ms Nullable(UInt32),
  dropped_frames Nullable(UInt32),
  device LowCardinality(String),
  os LowCardinality(String),
  browser LowCardinality(String),
  player_name LowCardinality(String),
  player_version LowCardinality(String),
  cdn LowCardinality(String),
  rendition LowCardinality(String),
  country LowCardinality(String),
  error_code String,
  error_severity LowCardinality(String),
  business_exception UInt8,
  source_partition UInt16,
  source_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(event_time)
ORDER BY (property_id, stream_id, event_time, view_id, view_seq, event_id)
TTL toDateTime(event_time) + INTERVAL 14 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- The processor's state, per consumer group and source partition: its progress, its views'
-- headers, one row per applied sample until a fold puts it into its view, and the window-row keys
-- it has published. Written as one insert per batch, before offsets are committed; read with
-- FINAL on restart or rebalance. Folded samples and keys of closed windows are deleted.
CREATE TABLE IF NOT EXISTS viewer_analytics_state (
  consumer_group LowCardinality(String),
  source_partition UInt16,
  kind Enum8('progress' = 1, 'view' = 2, 'sample' = 3, 'key' = 4),
  entity String,
  seq UInt32,
  t Int64,
  body String CODEC(ZSTD(1)),
  version UInt64,
  is_deleted UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (consumer_group, source_partition, kind, entity, seq)
SETTINGS non_replicated_deduplication_window = 1000;

-- Window rows: one partition's partial result per stream, dimension value and window. Early
-- results and the final one share a key; the highest version wins, so a re-emitted window
-- replaces, never adds. Read with FINAL and sum over source_partition.
CREATE TABLE IF NOT EXISTS viewer_windows (
  property_id LowCardinality(String),
  creator_id String,
  stream_id String,
  dimension LowCardinality(String),
  dimension_value String,
  window_start DateTime('UTC'),
  source_partition UInt16,
  concurrent_views UInt32,
  views_started UInt32,
  viewer_ids Array(String),
  viewers AggregateFunction(uniqCombined, String) MATERIALIZED arrayReduce('uniqCombinedState', viewer_ids),
  watch_ms UInt64,
  playing_ms UInt64,
  rebuffer_ms UInt64,
  rebuffer_count UInt32,
  is_final UInt8,
  version UInt64,
  emitted_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (property_id, stream_id, dimension, dimension_value, window_start, creator_id, source_partition)
TTL window_start + INTERVAL 35 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Final window rows only, each inserted once (insert token per closed window chunk): the source
-- of the minute and hour rollups, which therefore never see an early or re-emitted row.
CREATE TABLE IF NOT EXISTS viewer_window_finals (
  property_id LowCardinality(String),
  creator_id String,
  stream_id String,
  dimension LowCardinality(String),
  dimension_value String,
  window_start DateTime('UTC'),
  source_partition UInt16,
  concurrent_views UInt32,
  views_started UInt32,
  viewer_ids Array(String),
  watch_ms UInt64,
  playing_ms UInt64,
  rebuffer_ms UInt64,
  rebuffer_count UInt32,
  version UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (property_id, stream_id, dimension, dimension_value, window_start, creator_id, source_partition)
TTL window_start + INTERVAL 35 DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- One row per ended view (Mux's view export): engagement metrics by started_at, QoE by ended_at.
-- Inserted once per closed window chunk, so the rollups built on it count each view once.
CREATE TABLE IF NOT EXISTS view_summaries (
  property_id LowCardinality(String),
  creator_id String,
  stream_id String,
  view_id String,
  viewer_id String,
  source_partition UInt16,
  started_at DateTime64(3, 'UTC'),
  last_event_at DateTime64(3, 'UTC'),
  ended_at DateTime64(3, 'UTC'),
  end_reason LowCardinality(String),
  device LowCardinality(String),
  os LowCardinality(String),
  browser LowCardinality(String),
  player LowCardinality(String),
  cdn LowCardinality(String),
  rendition LowCardinality(String),
  country LowCardinality(String),
  watch_ms UInt64,
  playing_ms UInt64,
  rebuffer_ms UInt64,
  rebuffer_count UInt32,
  seek_count UInt32,
  seek_ms UInt64,
  startup_time_ms Nullable(UInt32),
  upscale_weighted_ms UInt64,
  downscale_weighted_ms UInt64,
  max_upscale_pct Float64,
  live_latency_ms Nullable(UInt32),
  dropped_frames UInt32,
  playback_failure UInt8,
  startup_failure UInt8,
  business_exception UInt8,
  exit_before_start UInt8,
  error_code String,
  events UInt32,
  version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ended_at)
ORDER BY (property_id, stream_id, view_id, started_at)
TTL toDateTime(ended_at) + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;
