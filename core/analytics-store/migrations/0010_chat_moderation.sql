-- Chat and its moderation (issue 5). See 0001_foundation.sql for the rules every migration follows.

-- Every message the chat gateway accepted (`chat.messages`), with the inline heuristic decision
-- and what the rules found. Chat velocity and moderation rates are queries over this table
-- (count per stream and minute; uniqExact(message_id) or FINAL where a replay may have re-inserted
-- a batch under different boundaries). Kept 90 days.
CREATE TABLE IF NOT EXISTS chat_messages (
  message_id String,
  stream_id String,
  user_id String,
  display_name String,
  client_message_id String,
  text String,
  sent_at DateTime64(3, 'UTC'),
  heuristic_decision LowCardinality(String),
  flag_categories Array(LowCardinality(String)),
  flag_scores Array(Float32)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(sent_at)
ORDER BY (stream_id, sent_at, message_id)
TTL toDateTime(sent_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- The moderation audit log (`chat.verdicts`): every moderator action (who, what, when, why),
-- every AI verdict and every hold that timed out. Never expires: it is the record moderators and
-- trust-and-safety reviews rely on.
CREATE TABLE IF NOT EXISTS chat_moderation_events (
  verdict_id String,
  stream_id String,
  decided_at DateTime64(3, 'UTC'),
  source LowCardinality(String),
  action LowCardinality(String),
  actor_id String,
  message_id String,
  target_user_id String,
  reason String,
  flag_categories Array(LowCardinality(String)),
  flag_scores Array(Float32),
  duration_ms UInt64,
  details String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(decided_at)
ORDER BY (stream_id, decided_at, verdict_id)
SETTINGS non_replicated_deduplication_window = 1000;
