import { DIMENSIONS } from '../../core/analytics/aggregate-messages.ts';
import type { VariableSpec } from './board-model.ts';

/**
 * The boards' template variables and the SQL conditions they drive. `$__conditionalAll` turns a
 * condition into `1=1` when "All" is selected, so the default view scans without an IN list.
 * Creators and their streams come from the stream registry (`stream_owners`, core/streams/), never
 * from the creator_id players put in their events: chat, moderation, highlights and clips reach
 * their creator through it, and the variables list registered streams with viewers in the range.
 */
export const CREATOR_CONDITION = '$__conditionalAll(creator_id IN (${creator:singlequote}), $creator)';
export const STREAMS_CONDITION = '$__conditionalAll(stream_id IN (${stream:singlequote}), $stream)';
export const CREATOR_STREAMS_CONDITION =
  '$__conditionalAll(stream_id IN (SELECT stream_id FROM stream_owners FINAL WHERE creator_id IN (${creator:singlequote})), $creator)';
/** Streams with viewers in the dashboard's time range. */
const STREAMS_WITH_VIEWERS =
  "stream_id IN (SELECT stream_id FROM viewer_windows WHERE dimension = 'all' AND $__timeFilter(window_start))";
/** The one stream of the drill-down. */
export const STREAM_CONDITION = 'stream_id = ${stream:singlequote}';

/** Where the viewer-analytics tables (which have creator_id) are filtered by the selected creators and streams. */
export const VIEWER_SCOPE = `${CREATOR_CONDITION} AND ${STREAMS_CONDITION}`;
/** The same for tables keyed by stream only. */
export const STREAM_SCOPE = `${CREATOR_STREAMS_CONDITION} AND ${STREAMS_CONDITION}`;

export const creatorVariable: VariableSpec = {
  name: 'creator',
  label: 'Creator',
  description: 'Creators whose streams the board shows',
  kind: 'query',
  sql: `SELECT DISTINCT creator_id FROM stream_owners FINAL WHERE ${STREAMS_WITH_VIEWERS} ORDER BY creator_id`,
  multi: true,
  includeAll: true,
};

export const streamsVariable: VariableSpec = {
  name: 'stream',
  label: 'Stream',
  description: 'Streams of the selected creators',
  kind: 'query',
  sql: `SELECT stream_id FROM stream_owners FINAL WHERE ${STREAMS_WITH_VIEWERS} AND ${CREATOR_CONDITION} ORDER BY stream_id`,
  multi: true,
  includeAll: true,
};

export const oneStreamVariable: VariableSpec = {
  ...streamsVariable,
  description: 'The stream to drill into',
  multi: false,
  includeAll: false,
};

export const dimensionVariable: VariableSpec = {
  name: 'dimension',
  label: 'Break down by',
  description: 'The dimension that breakdown panels split by',
  kind: 'custom',
  values: [...DIMENSIONS],
  multi: false,
  includeAll: false,
};
