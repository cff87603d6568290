-- The viewer-analytics processor keeps its state on the bus now, in a compacted changelog topic
-- per consumer group (`viewer-analytics.state-changelog`; stream-processors/viewer-analytics/
-- state-store.ts), as Kafka Streams does: the analytics store holds only what people query.
-- The table of 0020 and 0022 goes; a processor upgraded onto this starts from an empty
-- changelog (docs/operations.md says how to have it read player.events again from the start).
DROP TABLE IF EXISTS viewer_analytics_state;
