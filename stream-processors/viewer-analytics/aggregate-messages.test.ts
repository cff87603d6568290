import { describe, expect, it } from 'vitest';
import { aggregatesMessageValidator, finalChunkToken, windowFinalMessages, windowRowsMessages, type WindowFinalMessage, type WindowRow } from './aggregate-messages.ts';

const row = (i: number): WindowRow => ({
  property_id: 'demo',
  creator_id: 'creator-1',
  stream_id: `stream-${i % 7}`,
  dimension: 'device',
  dimension_value: `device-${i}`,
  window_start: 1_790_000_000_000,
  concurrent_views: i,
  views_started: 1,
  viewer_ids: [`viewer-${i}`],
  watch_ms: 10_000,
  playing_ms: 9_000,
  rebuffer_ms: 0,
  rebuffer_count: 0,
});

describe('aggregates messages', () => {
  const base = { group: 'viewer-analytics', source_partition: 3, window_start: 1_790_000_000_000, version: '123', emitted_at: 1 };

  it('chunks a closed window deterministically, within the size limit, keyed by source partition', () => {
    const rows = Array.from({ length: 500 }, (_, i) => row(i));
    const first = windowFinalMessages(base, rows, [], 16 * 1024);
    const again = windowFinalMessages({ ...base, emitted_at: 999 }, rows, [], 16 * 1024);
    expect(first.length).toBeGreaterThan(3);
    const parsed = first.map((m) => JSON.parse(m.value.toString()) as WindowFinalMessage);
    expect(parsed.map((m) => [m.chunk, m.chunks])).toEqual(parsed.map((_, i) => [i, first.length]));
    expect(parsed.flatMap((m) => m.rows)).toEqual(rows);
    expect(again.map((m) => JSON.parse(m.value.toString()).rows)).toEqual(parsed.map((m) => m.rows));
    expect(new Set(first.map((m) => m.key))).toEqual(new Set(['viewer-analytics:viewer-analytics:3']));
    for (const m of first) expect(m.value.length).toBeLessThan(20 * 1024);
    expect(parsed.map(finalChunkToken)).toEqual(parsed.map((_, i) => `viewer-final:viewer-analytics:3:1790000000000:${i}`));
    expect(parsed.every((m) => aggregatesMessageValidator.check(m))).toBe(true);
  });

  it('validates what it produces and refuses what it does not know', () => {
    const [early] = windowRowsMessages({ group: 'g', source_partition: 0, version: '1', emitted_at: 1 }, [row(1)]);
    expect(aggregatesMessageValidator.check(JSON.parse(early!.value.toString()))).toBe(true);
    expect(aggregatesMessageValidator.check({ type: 'viewer_window_rows', group: 'g', source_partition: 0, version: '-1', emitted_at: 1, rows: [] })).toBe(false);
    expect(aggregatesMessageValidator.errors({ type: 'something_else' }).length).toBeGreaterThan(0);
  });
});
