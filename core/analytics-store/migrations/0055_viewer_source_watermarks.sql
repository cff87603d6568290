-- How far each viewer-analytics source partition has got (stream-processors/viewer-analytics/live-edge.ts).
-- Rules of 0001_foundation.sql apply. One row per consumer group and source partition, the latest
-- `viewer_watermark` message winning (read with FINAL). The sink writes it after the rows of the
-- same bus batch, so a query that sees a source at a window finds that source's rows up to it: a
-- stream without a row there has no views in that partition, and a partition not there yet is
-- behind, not empty. `closed_before`: the windows starting earlier are final in that partition.
CREATE TABLE IF NOT EXISTS viewer_source_watermarks (
  consumer_group LowCardinality(String),
  source_partition UInt16,
  watermark DateTime64(3, 'UTC'),
  watermark_window_start DateTime('UTC'),
  closed_before DateTime('UTC'),
  version UInt64,
  emitted_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (consumer_group, source_partition)
SETTINGS non_replicated_deduplication_window = 1000;
