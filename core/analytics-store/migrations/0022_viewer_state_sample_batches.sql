-- The viewer-analytics processor writes the samples of one checkpoint as a single row (kind
-- 'samples', seq = the checkpoint's state version, t = its latest sample time, body = the samples
-- by view) instead of a row per sample: one insert then carries one row where it carried
-- thousands. Rows of kind 'sample' written before this are still read. Extending an Enum is a
-- metadata-only change, so it is allowed on a sorting-key column.
ALTER TABLE viewer_analytics_state
  MODIFY COLUMN kind Enum8('progress' = 1, 'view' = 2, 'sample' = 3, 'key' = 4, 'samples' = 5);
