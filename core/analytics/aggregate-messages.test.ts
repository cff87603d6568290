import { describe, expect, it } from 'vitest';
import {
  aggregatesKey,
  aggregatesMessageValidator,
  finalChunkToken,
  watermarkMessage,
  windowFinalMessages,
  windowRowsMessages,
  type ViewSummary,
  type WindowFinalMessage,
  type WindowRow,
} from './aggregate-messages.ts';

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
  const base = {
    group: 'viewer-analytics',
    source_partition: 3,
    window_start: 1_790_000_000_000,
    version: '123',
    emitted_at: 1,
  };

  it('chunks a closed window deterministically, within the size limit, keyed by source partition', () => {
    const rows = Array.from({ length: 500 }, (_, i) => row(i));
    const first = windowFinalMessages(base, rows, [], 16 * 1024);
    const again = windowFinalMessages({ ...base, emitted_at: 999 }, rows, [], 16 * 1024);
    expect(first.length).toBeGreaterThan(3);
    const parsed = first.map((m) => JSON.parse(m.value.toString()) as WindowFinalMessage);
    expect(parsed.map((m) => [m.chunk, m.chunks])).toEqual(parsed.map((_, i) => [i, first.length]));
    expect(parsed.flatMap((m) => m.rows)).toEqual(rows);
    expect(again.map((m) => (JSON.parse(m.value.toString()) as WindowFinalMessage).rows)).toEqual(
      parsed.map((m) => m.rows),
    );
    expect(new Set(first.map((m) => m.key))).toEqual(new Set(['viewer-analytics:viewer-analytics:3']));
    for (const m of first) expect(m.value.length).toBeLessThan(20 * 1024);
    expect(parsed.map(finalChunkToken)).toEqual(
      parsed.map((_, i) => `viewer-final:viewer-analytics:3:1790000000000:${i}`),
    );
    expect(parsed.every((m) => aggregatesMessageValidator.check(m))).toBe(true);
  });

  it('writes each message as JSON.stringify would, rows and views in order, from the JSON made to size the chunks', () => {
    const rows = Array.from({ length: 300 }, (_, i) => row(i));
    // Only the shape matters here: views are serialised like rows.
    const views = Array.from({ length: 200 }, (_, i) => ({
      view_id: `view-${i}`,
      note: 'quote " and \\ and é',
    })) as unknown as ViewSummary[];
    const finals = windowFinalMessages(base, rows, views, 8 * 1024);
    const early = windowRowsMessages({ group: 'g', source_partition: 1, version: '7', emitted_at: 2 }, rows, 8 * 1024);
    expect(finals.length).toBeGreaterThan(5);
    expect(early.length).toBeGreaterThan(3);
    for (const message of [...finals, ...early]) {
      const text = message.value.toString();
      expect(text).toBe(JSON.stringify(JSON.parse(text)));
    }
    const parsed = finals.map((m) => JSON.parse(m.value.toString()) as WindowFinalMessage);
    expect(parsed.flatMap((m) => m.rows)).toEqual(rows);
    expect(parsed.flatMap((m) => m.views)).toEqual(views);
    // Chunks are cut by each item's size as {"row":…} / {"view":…} plus a separator, as they always were.
    for (const m of parsed) {
      const sized = [
        ...m.rows.map((r) => JSON.stringify({ row: r })),
        ...m.views.map((v) => JSON.stringify({ view: v })),
      ].reduce((n, json) => n + Buffer.byteLength(json) + 1, 0);
      expect(sized).toBeLessThanOrEqual(8 * 1024);
    }
  });

  it('validates what it produces and refuses what it does not know', () => {
    const [early] = windowRowsMessages({ group: 'g', source_partition: 0, version: '1', emitted_at: 1 }, [row(1)]);
    expect(aggregatesMessageValidator.check(JSON.parse(early!.value.toString()))).toBe(true);
    expect(
      aggregatesMessageValidator.check({
        type: 'viewer_window_rows',
        group: 'g',
        source_partition: 0,
        version: '-1',
        emitted_at: 1,
        rows: [],
      }),
    ).toBe(false);
    expect(aggregatesMessageValidator.errors({ type: 'something_else' })).toEqual([
      { path: '/', message: 'Expected union value' },
    ]);
  });

  it("publishes a source partition's watermark under the key of its rows, so it follows them", () => {
    const message = watermarkMessage({
      group: 'g',
      source_partition: 3,
      version: '5',
      emitted_at: 10,
      watermark: 25_000,
      watermark_window_start: 20_000,
      closed_before: 0,
    });
    expect(message.key).toBe(aggregatesKey('g', 3));
    const parsed: unknown = JSON.parse(message.value.toString());
    expect(aggregatesMessageValidator.check(parsed)).toBe(true);
    expect(parsed).toMatchObject({ type: 'viewer_watermark', watermark_window_start: 20_000 });
  });
});
