-- Final chunks inserted many to an insert (stream-processors/sinks/final-chunk-inserts.ts).
-- Rules of 0001_foundation.sql apply. The sink used to insert each closed window chunk on its own,
-- its idempotency key as the insert token, which is what kept a chunk re-emitted by a restarted
-- processor out of the rollups. A batch's chunks now share one insert per table partition, so the
-- key travels with each row (`final_chunk`; '' for rows written before) and these views keep a
-- ledger of which chunks each table partition holds: the sink reads it and leaves those chunks out.
-- A materialized view runs as part of the insert, so the ledger says what the table holds.
ALTER TABLE viewer_window_finals ADD COLUMN IF NOT EXISTS final_chunk String DEFAULT '' CODEC(ZSTD(1));

ALTER TABLE view_summaries ADD COLUMN IF NOT EXISTS final_chunk String DEFAULT '' CODEC(ZSTD(1));

-- One row per chunk, table and table partition (toYYYYMM of its partition key); repeats are
-- harmless. `window_start` is the chunk's window, read from its key
-- (`viewer-final:<group>:<source partition>:<window start ms>:<chunk>`), so a backfill can
-- delete a range here as in the tables (docs/operations.md).
CREATE TABLE IF NOT EXISTS viewer_final_chunks (
  final_chunk String,
  target LowCardinality(String),
  part UInt32,
  window_start DateTime('UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (final_chunk, target, part)
TTL window_start + INTERVAL 35 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS viewer_final_chunks_from_finals_mv TO viewer_final_chunks AS
SELECT DISTINCT final_chunk, 'viewer_window_finals' AS target, toYYYYMM(window_start) AS part, window_start
FROM viewer_window_finals
WHERE final_chunk != '';

CREATE MATERIALIZED VIEW IF NOT EXISTS viewer_final_chunks_from_summaries_mv TO viewer_final_chunks AS
SELECT DISTINCT final_chunk, 'view_summaries' AS target, toYYYYMM(ended_at) AS part,
  toDateTime(intDiv(toUInt64(splitByChar(':', final_chunk)[-2]), 1000), 'UTC') AS window_start
FROM view_summaries
WHERE final_chunk != '';
