import { describe, expect, it } from 'vitest';
import type { WindowRowsMessage } from '../../core/analytics/aggregate-messages.ts';
import { ViewerCounts } from './viewer-counts.ts';

const W0 = Date.parse('2026-05-01T20:00:00.000Z');

function rows(
  sourcePartition: number,
  version: number,
  windowStart: number,
  counts: Record<string, number>,
  dimension: 'all' | 'device' = 'all',
): WindowRowsMessage {
  return {
    type: 'viewer_window_rows',
    group: 'viewer-analytics',
    source_partition: sourcePartition,
    version: String(version),
    emitted_at: windowStart,
    rows: Object.entries(counts).map(([stream, concurrent]) => ({
      property_id: 'p',
      creator_id: 'c',
      stream_id: stream,
      dimension,
      dimension_value: dimension === 'all' ? '' : 'desktop',
      window_start: windowStart,
      concurrent_views: concurrent,
      views_started: 0,
      viewer_ids: [],
      watch_ms: 0,
      playing_ms: 0,
      rebuffer_ms: 0,
      rebuffer_count: 0,
    })),
  };
}

describe('ViewerCounts', () => {
  it('sums the latest version of each source partition for the newest window at or before the time', () => {
    const counts = new ViewerCounts();
    counts.observe(rows(0, 1, W0, { s: 40 }));
    counts.observe(rows(1, 1, W0, { s: 25 }));
    counts.observe(rows(0, 2, W0, { s: 42 }));
    counts.observe(rows(0, 1, W0, { s: 99 }));
    counts.observe(rows(0, 3, W0 + 10_000, { s: 50 }));
    expect(counts.at('s', W0 + 5_000)).toBe(67);
    expect(counts.at('s', W0 + 12_000)).toBe(50);
    expect(counts.at('s', W0 - 1)).toBeUndefined();
    expect(counts.at('other', W0)).toBeUndefined();
  });

  it('counts a partition that has not reached the newest window with its newest figure, not as empty', () => {
    const counts = new ViewerCounts();
    const watermark = (sourcePartition: number, version: number, windowStart: number) =>
      counts.observe({
        type: 'viewer_watermark',
        group: 'viewer-analytics',
        source_partition: sourcePartition,
        version: String(version),
        emitted_at: windowStart,
        watermark: windowStart + 1,
        watermark_window_start: windowStart,
        closed_before: windowStart - 30_000,
      });
    counts.observe(rows(0, 1, W0, { s: 40 }));
    counts.observe(rows(1, 1, W0, { s: 25 }));
    watermark(0, 1, W0);
    watermark(1, 1, W0);
    counts.observe(rows(0, 2, W0 + 10_000, { s: 41 }));
    watermark(0, 2, W0 + 10_000);
    expect(counts.at('s', W0 + 12_000)).toBe(66);
    // Partition 1 got there with no row for the stream: its views have gone.
    watermark(1, 2, W0 + 10_000);
    expect(counts.at('s', W0 + 12_000)).toBe(41);
    // A redelivered older watermark changes nothing.
    watermark(1, 1, W0);
    expect(counts.at('s', W0 + 12_000)).toBe(41);
  });

  it('reads only the per-stream total, not the dimension breakdowns', () => {
    const counts = new ViewerCounts();
    counts.observe(rows(0, 1, W0, { s: 10 }, 'device'));
    expect(counts.at('s', W0)).toBeUndefined();
  });

  it('forgets windows long behind the newest', () => {
    const counts = new ViewerCounts(60_000);
    counts.observe(rows(0, 1, W0, { s: 10 }));
    counts.observe(rows(0, 2, W0 + 120_000, { s: 20 }));
    expect(counts.at('s', W0 + 1_000)).toBeUndefined();
  });
});
