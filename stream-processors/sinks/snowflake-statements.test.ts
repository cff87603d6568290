import { describe, expect, it } from 'vitest';
import type { WindowRow } from '../../core/analytics/aggregate-messages.ts';
import {
  createTableStatement,
  latestPerKey,
  mergeStatement,
  utcText,
  VIEWER_WINDOWS,
  type LoadedWindowRow,
} from './snowflake-statements.ts';

const row: WindowRow = {
  property_id: 'demo',
  creator_id: 'c',
  stream_id: 's',
  dimension: 'all',
  dimension_value: '',
  window_start: Date.UTC(2026, 0, 1, 12, 0, 10),
  concurrent_views: 3,
  views_started: 1,
  viewer_ids: ['a'],
  watch_ms: 10,
  playing_ms: 9,
  rebuffer_ms: 1,
  rebuffer_count: 1,
};

describe('Snowflake statements', () => {
  it('merges on the window key, replacing only with a version at least as new', () => {
    const loaded: LoadedWindowRow[] = [
      { row, sourcePartition: 2, version: '7' },
      { row: { ...row, dimension: 'device', dimension_value: 'tv' }, sourcePartition: 2, version: '7' },
    ];
    const { sqlText, binds } = mergeStatement(VIEWER_WINDOWS, loaded);
    expect(sqlText).toContain('MERGE INTO VIEWER_WINDOWS AS t');
    expect(sqlText).toContain(
      'ON t.PROPERTY_ID = s.PROPERTY_ID AND t.CREATOR_ID = s.CREATOR_ID AND t.STREAM_ID = s.STREAM_ID AND t.DIMENSION = s.DIMENSION AND t.DIMENSION_VALUE = s.DIMENSION_VALUE AND t.WINDOW_START = s.WINDOW_START AND t.SOURCE_PARTITION = s.SOURCE_PARTITION',
    );
    expect(sqlText).toContain('WHEN MATCHED AND s.VERSION >= t.VERSION THEN UPDATE');
    expect(sqlText).toContain('PARSE_JSON(column10) AS VIEWER_IDS');
    expect(sqlText.match(/\?/g)).toHaveLength(binds.length);
    expect(binds.slice(0, 15)).toEqual([
      'demo',
      'c',
      's',
      'all',
      '',
      '2026-01-01 12:00:10.000',
      2,
      3,
      1,
      '["a"]',
      10,
      9,
      1,
      1,
      '7',
    ]);
  });

  it('keeps the newest of rows sharing a key, since Snowflake refuses a MERGE that matches one row twice', () => {
    const rows: LoadedWindowRow[] = [
      { row, sourcePartition: 1, version: '5' },
      { row: { ...row, concurrent_views: 9 }, sourcePartition: 1, version: '11' },
      { row, sourcePartition: 2, version: '3' },
    ];
    expect(latestPerKey(VIEWER_WINDOWS, rows, (r) => r.version).map((r) => [r.sourcePartition, r.version])).toEqual([
      [1, '11'],
      [2, '3'],
    ]);
  });

  it('creates its tables only when missing', () => {
    expect(createTableStatement(VIEWER_WINDOWS)).toMatch(
      /^CREATE TABLE IF NOT EXISTS VIEWER_WINDOWS \(PROPERTY_ID VARCHAR, .* LOADED_AT TIMESTAMP_NTZ\)$/,
    );
    expect(utcText(0)).toBe('1970-01-01 00:00:00.000');
  });
});
