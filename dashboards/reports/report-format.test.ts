import { describe, expect, it } from 'vitest';
import type { CreatorReportRow } from '../../core/analytics/metric-queries.ts';
import { qoeMetrics } from '../../core/analytics/qoe-formulas.ts';
import {
  CSV_HEADER,
  csvCell,
  csvRow,
  formatDuration,
  formatHours,
  formatPercentage,
  formatPeriod,
} from './report-format.ts';

describe('csvCell', () => {
  it.each([
    [null, ''],
    [42, '42'],
    [1.23456, '1.235'],
    [0.1 + 0.2, '0.3'],
    ['stream-1', 'stream-1'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    [' padded', '" padded"'],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+1+2', "'+1+2"],
    ['-5', "'-5"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['ünïcødé ✓', 'ünïcødé ✓'],
    ["'; DROP TABLE clips; --", "'; DROP TABLE clips; --"],
  ])('%j → %s', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });
});

const views = {
  views: 4,
  unique_viewers: 3,
  watch_ms: 600_000,
  playing_ms: 580_000,
  rebuffer_ms: 6_000,
  rebuffer_count: 2,
  views_with_startup: 4,
  startup_time_p50_ms: 900,
  startup_time_p95_ms: 2_000,
  playback_failures: 1,
  startup_failures: 0,
  exits_before_start: 0,
  business_exceptions: 0,
  upscale_weighted_ms: 0,
  dimension_value: '',
};
const row: CreatorReportRow = {
  key: '=cmd',
  first_window: Date.UTC(2026, 5, 1, 20),
  last_window: Date.UTC(2026, 5, 1, 22),
  peak_concurrent_views: 3,
  average_concurrent_views: 1.5,
  engagement: { ...views, ...qoeMetrics(views) },
  qoe: { ...views, ...qoeMetrics(views) },
  chat_messages: 10,
  chatters: 4,
  moderation_actions: 2,
  enforcement_actions: 1,
  clips: 1,
};

describe('csvRow', () => {
  it('writes a stream line in header order, guarding the id; the total line has no stream id or property', () => {
    expect(CSV_HEADER.slice(0, 6)).toEqual([
      'row',
      'stream_id',
      'property_id',
      'first_window',
      'last_window',
      'peak_concurrent_viewers',
    ]);
    expect(csvRow('stream', row, { property_id: 'demo' })).toBe(
      "stream,'=cmd,demo,2026-06-01T20:00:00.000Z,2026-06-01T22:00:00.000Z,3,1.5,4,3,600000,150000,900,2000,1,0.2,25,10,4,2,1,1\r\n",
    );
    expect(csvRow('total', row, null).startsWith('total,,,2026-06-01T20:00:00.000Z')).toBe(true);
    expect(csvRow('stream', row, { property_id: 'demo' }).split(',')).toHaveLength(CSV_HEADER.length);
  });
});

describe('formatting for people', () => {
  it.each([
    [null, '—'],
    [850, '850 ms'],
    [42_400, '42 s'],
    [245_000, '4 min 05 s'],
    [3 * 3_600_000 + 5 * 60_000 + 10_000, '3 h 05 min'],
    [1_500 * 3_600_000, '1,500 h 00 min'],
  ])('formatDuration(%j) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('formats hours, percentages and periods', () => {
    expect(formatHours(4_444_200_000)).toBe('1,234.5 h');
    expect(formatPercentage(null)).toBe('—');
    expect(formatPercentage(1.23456)).toBe('1.23 %');
    expect(formatPeriod(Date.UTC(2026, 5, 1), Date.UTC(2026, 6, 1))).toBe('2026-06-01 to 2026-06-30');
    expect(formatPeriod(Date.UTC(2026, 5, 1, 10), Date.UTC(2026, 5, 1, 14))).toBe(
      '2026-06-01 10:00 UTC to 2026-06-01 14:00 UTC',
    );
  });
});
