-- The stream registry: who owns each stream (core/streams/). Rules of 0001_foundation.sql apply.
-- Written only by trusted sources: the IVS control plane (a channel's livepulse:creator_id tag,
-- read when its Stream Start arrives) and the authenticated registry API (a creator's or an
-- admin's token). Player events never write here: their creator_id is a hint. One row per
-- registration; the latest version per stream is its owner (read with FINAL). First registration
-- wins and only admins reassign, which the registry decides before it writes.
CREATE TABLE IF NOT EXISTS stream_owners (
  stream_id String,
  creator_id String,
  source LowCardinality(String),
  channel_arn String,
  registered_by String,
  registered_at DateTime64(3, 'UTC'),
  version UInt64,
  INDEX creator_lookup creator_id TYPE bloom_filter GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY stream_id
SETTINGS non_replicated_deduplication_window = 1000;
