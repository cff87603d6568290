-- Highlights, clips and the recording index (issue 7). See 0001_foundation.sql for the rules
-- every migration follows.

-- Every highlight on the `highlights` topic, detected or requested. A replayed highlight has the
-- same id and replaces its row.
CREATE TABLE IF NOT EXISTS highlights (
  highlight_id String,
  stream_id String,
  window_start DateTime64(3, 'UTC'),
  window_end DateTime64(3, 'UTC'),
  score Float64,
  reasons Array(String),
  requested_by String,
  detected_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (stream_id, window_start, highlight_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Clip events (`clips` topic). A clip is first `created` (mp4 + thumbnail), then `updated` as
-- the vertical version and the sprite land; the latest event per clip wins (query with FINAL).
CREATE TABLE IF NOT EXISTS clips (
  clip_id String,
  highlight_id String,
  stream_id String,
  status LowCardinality(String),
  window_start DateTime64(3, 'UTC'),
  window_end DateTime64(3, 'UTC'),
  duration_ms UInt32,
  outputs Map(String, String),
  reason String,
  finished_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(finished_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (stream_id, clip_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- IVS recording state changes from `stream.lifecycle`: which object-store prefix holds the
-- recording of a stream. One row per EventBridge event (its id is the dedupe key), so late or
-- out-of-order events need no read-modify-write: readers aggregate per prefix.
CREATE TABLE IF NOT EXISTS recording_events (
  event_id String,
  channel_id String,
  stream_id String,
  kind LowCardinality(String),
  occurred_at DateTime64(3, 'UTC'),
  recording_prefix String,
  recording_bucket String,
  reason String
)
ENGINE = ReplacingMergeTree
ORDER BY (stream_id, event_id)
SETTINGS non_replicated_deduplication_window = 1000;
