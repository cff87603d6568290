-- Host prompts (issue 6): what the host was offered and what the host did with it, for the
-- content team's boards (share of prompts used, AI against heuristic, time to use). See
-- 0001_foundation.sql for the rules every migration follows.

-- Every prompt published on `host.prompts`. Askers are kept as a count, not names: the boards
-- need how many viewers asked, not who. A replayed prompt has the same id and replaces its row.
CREATE TABLE IF NOT EXISTS host_prompts (
  prompt_id String,
  stream_id String,
  created_at DateTime64(3, 'UTC'),
  window_start DateTime64(3, 'UTC'),
  window_end DateTime64(3, 'UTC'),
  source LowCardinality(String),
  model LowCardinality(String),
  priority UInt8,
  prompt String,
  rationale String,
  asker_count UInt16,
  source_message_ids Array(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (stream_id, created_at, prompt_id)
TTL toDateTime(created_at) + INTERVAL 365 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- A host's or moderator's feedback on a prompt: `used` or `dismissed`. One row per prompt, user
-- and action; pressing the button again replaces it (the latest `decided_at` wins).
CREATE TABLE IF NOT EXISTS host_prompt_feedback (
  prompt_id String,
  stream_id String,
  user_id String,
  role LowCardinality(String),
  action LowCardinality(String),
  decided_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(decided_at)
PARTITION BY toYYYYMM(decided_at)
ORDER BY (stream_id, prompt_id, user_id, action)
TTL toDateTime(decided_at) + INTERVAL 365 DAY
SETTINGS non_replicated_deduplication_window = 1000;
