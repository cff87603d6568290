-- Rules for every migration:
-- * Every MergeTree-family table (MergeTree, ReplacingMergeTree, AggregatingMergeTree,
--   SummingMergeTree, materialized-view targets included) sets
--   `non_replicated_deduplication_window`. Plain MergeTree defaults it to 0 (off), and it is what
--   makes a retried insert with the same `insert_deduplication_token` a no-op on chDB and on a
--   single-node ClickHouse alike (Replicated* tables deduplicate by default).
-- * Every statement is safe to run twice (IF NOT EXISTS / IF EXISTS): two processes starting
--   together may both apply a pending migration, and a crash mid-file re-runs the whole file.
-- * Applied files never change; add a new file instead (the runner checks a checksum).

-- Input that failed validation or processing, kept with the reason so it can be inspected and
-- replayed. Rows expire after 30 days.
CREATE TABLE IF NOT EXISTS dead_letters (
  topic LowCardinality(String),
  partition UInt32,
  offset String,
  key String,
  reason String,
  payload String,
  failed_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (topic, failed_at)
TTL toDateTime(failed_at) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 1000;
