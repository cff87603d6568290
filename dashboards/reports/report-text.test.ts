import { describe, expect, it } from 'vitest';
import type { CreatorReportRow } from '../../core/analytics/metric-queries.ts';
import { qoeMetrics } from '../../core/analytics/qoe-formulas.ts';
import type { CreatorReportSummary } from './report-data.ts';
import { CSV_HEADER } from './report-format.ts';
import { csvReport, jsonReport } from './report-text.ts';

const sums = {
  views: 2,
  unique_viewers: 2,
  watch_ms: 120_000,
  playing_ms: 118_000,
  rebuffer_ms: 1_200,
  rebuffer_count: 1,
  views_with_startup: 2,
  startup_time_p50_ms: 800,
  startup_time_p95_ms: 900,
  playback_failures: 0,
  startup_failures: 0,
  exits_before_start: 0,
  business_exceptions: 0,
  upscale_weighted_ms: 0,
  dimension_value: '',
};
const row = (key: string, peak: number): CreatorReportRow => ({
  key,
  first_window: Date.UTC(2026, 5, 1),
  last_window: Date.UTC(2026, 5, 1, 1),
  peak_concurrent_views: peak,
  average_concurrent_views: peak / 2,
  engagement: { ...sums, ...qoeMetrics(sums) },
  qoe: { ...sums, ...qoeMetrics(sums) },
  chat_messages: 3,
  chatters: 2,
  moderation_actions: 1,
  enforcement_actions: 0,
  clips: 0,
});
const summary: CreatorReportSummary = {
  creator_id: 'c1',
  period: { from: Date.UTC(2026, 5, 1), to: Date.UTC(2026, 6, 1), resolution: 'hour' },
  generated_at: Date.UTC(2026, 6, 1, 9),
  streams: [
    { property_id: 'demo', creator_id: 'c1', stream_id: 's1', first_window: 0, last_window: 0 },
    { property_id: 'demo', creator_id: 'c1', stream_id: 's2', first_window: 0, last_window: 0 },
  ],
  totals: row('', 7),
  concurrency: [{ period_start: Date.UTC(2026, 5, 1), peak_concurrent_views: 7, average_concurrent_views: 3 }],
  chat_by_day: [],
  top_clips: [],
  moderation: [],
};
// eslint-disable-next-line @typescript-eslint/require-await -- stands in for the store's row stream, an AsyncIterable
async function* rows(...items: CreatorReportRow[]): AsyncGenerator<CreatorReportRow> {
  for (const item of items) yield item;
}
async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

describe('csvReport', () => {
  it('writes the header, a line per stream as it arrives, and the total line last', async () => {
    const chunks = await collect(csvReport(summary, rows(row('s1', 4), row('s2', 5))));
    expect(chunks).toHaveLength(4);
    expect(chunks[0]).toBe(`${CSV_HEADER.join(',')}\r\n`);
    expect(chunks.slice(1).map((c) => c.split(',').slice(0, 3))).toEqual([
      ['stream', 's1', 'demo'],
      ['stream', 's2', 'demo'],
      ['total', '', ''],
    ]);
  });

  it('has no total line when there were no streams', async () => {
    expect(await collect(csvReport({ ...summary, streams: [], totals: null }, rows()))).toEqual([
      `${CSV_HEADER.join(',')}\r\n`,
    ]);
  });
});

describe('jsonReport', () => {
  it('is one JSON document, streams last, one chunk per stream', async () => {
    const chunks = await collect(jsonReport(summary, rows(row('s1', 4), row('s2', 5))));
    expect(chunks).toHaveLength(4);
    const document = JSON.parse(chunks.join('')) as Record<string, unknown> & {
      streams: Array<Record<string, unknown>>;
    };
    expect(Object.keys(document).at(-1)).toBe('streams');
    expect(document).toMatchObject({ creator_id: 'c1', stream_count: 2, totals: { peak_concurrent_views: 7 } });
    expect(document.streams.map((s) => [s.stream_id, s.property_id, s.peak_concurrent_views])).toEqual([
      ['s1', 'demo', 4],
      ['s2', 'demo', 5],
    ]);
  });

  it('is valid JSON with no streams', async () => {
    expect(
      JSON.parse((await collect(jsonReport({ ...summary, streams: [], totals: null }, rows()))).join('')),
    ).toMatchObject({ stream_count: 0, totals: null, streams: [] });
  });
});
