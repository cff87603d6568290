import { describe, expect, it } from 'vitest';
import { finalChunkToken, type WindowFinalMessage } from '../../core/analytics/aggregate-messages.ts';
import { planFinalChunkInserts, writtenChunkKey, yearMonth } from './final-chunk-inserts.ts';
import { closedWindow } from './testing/final-chunks.ts';

const DEC = Date.UTC(2026, 11, 7, 9, 0, 0);
const LAST_OF_NOV = Date.UTC(2026, 10, 30, 23, 59, 50);

/** Two windows of partition 1 (three chunks each) and one of partition 2, as one batch would carry them. */
const p1a = closedWindow({ sourcePartition: 1, windowStart: DEC, rows: 60, views: 30, maxBytes: 8 * 1024 }).parsed;
const p1b = closedWindow({
  sourcePartition: 1,
  windowStart: DEC + 10_000,
  rows: 60,
  views: 30,
  maxBytes: 8 * 1024,
}).parsed;
const p2 = closedWindow({ sourcePartition: 2, windowStart: DEC, rows: 5, views: 5 }).parsed;
// A window closing at the turn of the month: views ended on either side of it.
const turn = closedWindow({
  sourcePartition: 3,
  windowStart: LAST_OF_NOV,
  rows: 4,
  views: 6,
  endedAt: (i) => LAST_OF_NOV + (i % 2 === 0 ? 1_000 : 20_000),
}).parsed;

const summary = (finals: WindowFinalMessage[], written: Set<string> = new Set()) =>
  planFinalChunkInserts(finals, written).map((insert) => ({
    table: insert.table,
    part: insert.part,
    chunks: insert.chunks.length,
    rows: insert.rows.length,
  }));

describe('final chunks as few inserts', () => {
  it('has windows of several chunks in its fixtures, some with rows only and some with views only', () => {
    expect([p1a.length > 2, p1b.length > 2, p2.length]).toEqual([true, true, 1]);
    expect([countViewOnly(p1a) > 0, countRowOnly(p1a) > 0]).toEqual([true, true]);
  });

  it.each<[string, WindowFinalMessage[], Set<string>, ReturnType<typeof summary>]>([
    [
      'a batch of many chunks: one insert per table',
      [...p1a, ...p2, ...p1b],
      new Set(),
      [
        {
          table: 'viewer_window_finals',
          part: 202612,
          chunks: p1a.length + p1b.length + 1 - countViewOnly([...p1a, ...p1b, ...p2]),
          rows: 125,
        },
        {
          table: 'view_summaries',
          part: 202612,
          chunks: p1a.length + p1b.length + 1 - countRowOnly([...p1a, ...p1b, ...p2]),
          rows: 65,
        },
      ],
    ],
    [
      'a chunk twice in one batch (a re-emission caught up with the original) counts once',
      [...p2, ...p2],
      new Set(),
      [
        { table: 'viewer_window_finals', part: 202612, chunks: 1, rows: 5 },
        { table: 'view_summaries', part: 202612, chunks: 1, rows: 5 },
      ],
    ],
    [
      'chunks the ledger holds are left out, per table',
      [...p2, ...p1a],
      new Set([
        writtenChunkKey('viewer_window_finals', 202612, finalChunkToken(p2[0]!)),
        ...p1a.map((m) => writtenChunkKey('view_summaries', 202612, finalChunkToken(m))),
      ]),
      [
        { table: 'viewer_window_finals', part: 202612, chunks: p1a.length - countViewOnly(p1a), rows: 60 },
        { table: 'view_summaries', part: 202612, chunks: 1, rows: 5 },
      ],
    ],
    [
      'everything written: nothing to insert',
      p2,
      new Set([
        writtenChunkKey('viewer_window_finals', 202612, finalChunkToken(p2[0]!)),
        writtenChunkKey('view_summaries', 202612, finalChunkToken(p2[0]!)),
      ]),
      [],
    ],
    [
      'views on either side of a month boundary: one insert per table partition',
      turn,
      new Set(),
      [
        { table: 'viewer_window_finals', part: 202611, chunks: 1, rows: 4 },
        { table: 'view_summaries', part: 202611, chunks: 1, rows: 3 },
        { table: 'view_summaries', part: 202612, chunks: 1, rows: 3 },
      ],
    ],
    [
      'a ledger that holds a chunk in one month only: the other month is still written',
      turn,
      new Set([writtenChunkKey('view_summaries', 202611, finalChunkToken(turn[0]!))]),
      [
        { table: 'viewer_window_finals', part: 202611, chunks: 1, rows: 4 },
        { table: 'view_summaries', part: 202612, chunks: 1, rows: 3 },
      ],
    ],
  ])('%s', (_name, finals, written, expected) => {
    expect(summary(finals, written)).toEqual(expected);
  });

  it('carries each row’s chunk key, in chunk-key order, whatever the order in the batch', () => {
    const [finals] = planFinalChunkInserts([...p1b, ...p2, ...p1a], new Set());
    const keys = finals!.rows.map((row) => row.final_chunk as string);
    expect(keys).toEqual([...keys].sort());
    expect(new Set(keys)).toEqual(
      new Set([...p1a, ...p1b, ...p2].filter((m) => m.rows.length > 0).map(finalChunkToken)),
    );
  });

  it('names the same chunks with the same token and the same rows, however the batches were cut', () => {
    const once = planFinalChunkInserts([...p1a, ...p1b], new Set());
    const recut = planFinalChunkInserts([...p1b.slice(1), ...p1a, p1b[0]!, ...p1a.slice(0, 1)], new Set());
    expect(recut).toEqual(once);
    const fewer = planFinalChunkInserts(p1a, new Set());
    expect(fewer.map((i) => i.dedupToken)).not.toContain(once[0]!.dedupToken);
    expect(new Set(once.map((i) => i.dedupToken)).size).toBe(once.length);
  });

  it('reads months as ClickHouse’s toYYYYMM does, in UTC', () => {
    expect([yearMonth(LAST_OF_NOV), yearMonth(LAST_OF_NOV + 10_000), yearMonth(Date.UTC(2027, 0, 1))]).toEqual([
      202611, 202612, 202701,
    ]);
  });
});

function countViewOnly(finals: WindowFinalMessage[]): number {
  return finals.filter((m) => m.rows.length === 0).length;
}

function countRowOnly(finals: WindowFinalMessage[]): number {
  return finals.filter((m) => m.views.length === 0).length;
}
