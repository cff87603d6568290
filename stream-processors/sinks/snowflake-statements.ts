import type { ViewSummary, WindowRow } from '../../core/analytics/aggregate-messages.ts';

/**
 * The Snowflake side of the warehouse sink: table definitions and batched, idempotent MERGE
 * statements with positional binds. A MERGE matches on the row's key and replaces (when the
 * version is not older) or inserts, so loading the same final window twice — a redelivered batch,
 * a re-emitted window — leaves one row with the same values.
 *
 * Snowflake's VALUES clause takes only constants, so JSON arrays travel as text and are parsed in
 * the USING select, and times travel as UTC text.
 */
export type BindValue = string | number | boolean | null;

export interface Statement {
  sqlText: string;
  binds: BindValue[];
}

interface Column<Row> {
  name: string;
  type: string;
  /** Expression over the VALUES column (`v` is its name, e.g. column3) giving the typed value; CAST to `type` otherwise. */
  cast?: (v: string) => string;
  value: (row: Row) => BindValue;
}

export interface TableSpec<Row> {
  name: string;
  columns: Array<Column<Row>>;
  key: string[];
}

export function utcText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

const timestamp = (v: string) => `TO_TIMESTAMP_NTZ(${v})`;
const json = (v: string) => `PARSE_JSON(${v})`;

export interface LoadedWindowRow {
  row: WindowRow;
  sourcePartition: number;
  version: string;
}

export interface LoadedViewSummary {
  view: ViewSummary;
  sourcePartition: number;
  version: string;
}

export const VIEWER_WINDOWS: TableSpec<LoadedWindowRow> = {
  name: 'VIEWER_WINDOWS',
  key: ['PROPERTY_ID', 'CREATOR_ID', 'STREAM_ID', 'DIMENSION', 'DIMENSION_VALUE', 'WINDOW_START', 'SOURCE_PARTITION'],
  columns: [
    { name: 'PROPERTY_ID', type: 'VARCHAR', value: (r) => r.row.property_id },
    { name: 'CREATOR_ID', type: 'VARCHAR', value: (r) => r.row.creator_id },
    { name: 'STREAM_ID', type: 'VARCHAR', value: (r) => r.row.stream_id },
    { name: 'DIMENSION', type: 'VARCHAR', value: (r) => r.row.dimension },
    { name: 'DIMENSION_VALUE', type: 'VARCHAR', value: (r) => r.row.dimension_value },
    { name: 'WINDOW_START', type: 'TIMESTAMP_NTZ', cast: timestamp, value: (r) => utcText(r.row.window_start) },
    { name: 'SOURCE_PARTITION', type: 'NUMBER(5,0)', value: (r) => r.sourcePartition },
    { name: 'CONCURRENT_VIEWS', type: 'NUMBER(10,0)', value: (r) => r.row.concurrent_views },
    { name: 'VIEWS_STARTED', type: 'NUMBER(10,0)', value: (r) => r.row.views_started },
    { name: 'VIEWER_IDS', type: 'ARRAY', cast: json, value: (r) => JSON.stringify(r.row.viewer_ids) },
    { name: 'WATCH_MS', type: 'NUMBER(20,0)', value: (r) => r.row.watch_ms },
    { name: 'PLAYING_MS', type: 'NUMBER(20,0)', value: (r) => r.row.playing_ms },
    { name: 'REBUFFER_MS', type: 'NUMBER(20,0)', value: (r) => r.row.rebuffer_ms },
    { name: 'REBUFFER_COUNT', type: 'NUMBER(10,0)', value: (r) => r.row.rebuffer_count },
    { name: 'VERSION', type: 'NUMBER(20,0)', value: (r) => r.version },
  ],
};

export const VIEW_SUMMARIES: TableSpec<LoadedViewSummary> = {
  name: 'VIEW_SUMMARIES',
  key: ['PROPERTY_ID', 'VIEW_ID', 'STARTED_AT'],
  columns: [
    { name: 'PROPERTY_ID', type: 'VARCHAR', value: (r) => r.view.property_id },
    { name: 'CREATOR_ID', type: 'VARCHAR', value: (r) => r.view.creator_id },
    { name: 'STREAM_ID', type: 'VARCHAR', value: (r) => r.view.stream_id },
    { name: 'VIEW_ID', type: 'VARCHAR', value: (r) => r.view.view_id },
    { name: 'VIEWER_ID', type: 'VARCHAR', value: (r) => r.view.viewer_id },
    { name: 'SOURCE_PARTITION', type: 'NUMBER(5,0)', value: (r) => r.sourcePartition },
    { name: 'STARTED_AT', type: 'TIMESTAMP_NTZ', cast: timestamp, value: (r) => utcText(r.view.started_at) },
    { name: 'LAST_EVENT_AT', type: 'TIMESTAMP_NTZ', cast: timestamp, value: (r) => utcText(r.view.last_event_at) },
    { name: 'ENDED_AT', type: 'TIMESTAMP_NTZ', cast: timestamp, value: (r) => utcText(r.view.ended_at) },
    { name: 'END_REASON', type: 'VARCHAR', value: (r) => r.view.end_reason },
    { name: 'DEVICE', type: 'VARCHAR', value: (r) => r.view.device },
    { name: 'OS', type: 'VARCHAR', value: (r) => r.view.os },
    { name: 'BROWSER', type: 'VARCHAR', value: (r) => r.view.browser },
    { name: 'PLAYER', type: 'VARCHAR', value: (r) => r.view.player },
    { name: 'CDN', type: 'VARCHAR', value: (r) => r.view.cdn },
    { name: 'RENDITION', type: 'VARCHAR', value: (r) => r.view.rendition },
    { name: 'COUNTRY', type: 'VARCHAR', value: (r) => r.view.country },
    { name: 'WATCH_MS', type: 'NUMBER(20,0)', value: (r) => r.view.watch_ms },
    { name: 'PLAYING_MS', type: 'NUMBER(20,0)', value: (r) => r.view.playing_ms },
    { name: 'REBUFFER_MS', type: 'NUMBER(20,0)', value: (r) => r.view.rebuffer_ms },
    { name: 'REBUFFER_COUNT', type: 'NUMBER(10,0)', value: (r) => r.view.rebuffer_count },
    { name: 'STARTUP_TIME_MS', type: 'NUMBER(10,0)', value: (r) => r.view.startup_time_ms },
    { name: 'UPSCALE_WEIGHTED_MS', type: 'NUMBER(20,0)', value: (r) => r.view.upscale_weighted_ms },
    { name: 'PLAYBACK_FAILURE', type: 'BOOLEAN', value: (r) => r.view.playback_failure },
    { name: 'STARTUP_FAILURE', type: 'BOOLEAN', value: (r) => r.view.startup_failure },
    { name: 'BUSINESS_EXCEPTION', type: 'BOOLEAN', value: (r) => r.view.business_exception },
    { name: 'EXIT_BEFORE_START', type: 'BOOLEAN', value: (r) => r.view.exit_before_start },
    { name: 'ERROR_CODE', type: 'VARCHAR', value: (r) => r.view.error_code },
    { name: 'VERSION', type: 'NUMBER(20,0)', value: (r) => r.version },
  ],
};

export function createTableStatement<Row>(table: TableSpec<Row>): string {
  const columns = [...table.columns.map((c) => `${c.name} ${c.type}`), 'LOADED_AT TIMESTAMP_NTZ'];
  return `CREATE TABLE IF NOT EXISTS ${table.name} (${columns.join(', ')})`;
}

/** Rows with the same key keep the highest version (Snowflake refuses a MERGE whose source matches a target row twice). */
export function latestPerKey<Row>(table: TableSpec<Row>, rows: readonly Row[], version: (row: Row) => string): Row[] {
  const keyColumns = table.columns.filter((c) => table.key.includes(c.name));
  const latest = new Map<string, Row>();
  for (const row of rows) {
    const key = JSON.stringify(keyColumns.map((c) => c.value(row)));
    const seen = latest.get(key);
    if (!seen || BigInt(version(row)) >= BigInt(version(seen))) latest.set(key, row);
  }
  return [...latest.values()];
}

/** One MERGE for up to `rows.length` rows: positional binds, row by row. */
export function mergeStatement<Row>(table: TableSpec<Row>, rows: readonly Row[]): Statement {
  if (rows.length === 0) throw new RangeError(`mergeStatement(${table.name}): no rows`);
  const placeholders = `(${table.columns.map(() => '?').join(', ')})`;
  // Typed explicitly: bound values arrive as text or numbers, and a comparison must not depend on implicit casts.
  const select = table.columns
    .map((c, i) => `${c.cast ? c.cast(`column${i + 1}`) : `CAST(column${i + 1} AS ${c.type})`} AS ${c.name}`)
    .join(', ');
  const on = table.key.map((k) => `t.${k} = s.${k}`).join(' AND ');
  const updates = table.columns.filter((c) => !table.key.includes(c.name)).map((c) => `${c.name} = s.${c.name}`);
  const names = table.columns.map((c) => c.name);
  const sqlText = [
    `MERGE INTO ${table.name} AS t`,
    `USING (SELECT ${select} FROM VALUES ${rows.map(() => placeholders).join(', ')}) AS s`,
    `ON ${on}`,
    `WHEN MATCHED AND s.VERSION >= t.VERSION THEN UPDATE SET ${[...updates, 'LOADED_AT = CURRENT_TIMESTAMP()'].join(', ')}`,
    `WHEN NOT MATCHED THEN INSERT (${[...names, 'LOADED_AT'].join(', ')}) VALUES (${[...names.map((n) => `s.${n}`), 'CURRENT_TIMESTAMP()'].join(', ')})`,
  ].join('\n');
  return { sqlText, binds: rows.flatMap((row) => table.columns.map((c) => c.value(row))) };
}
