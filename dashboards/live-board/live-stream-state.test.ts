import { describe, expect, it } from 'vitest';
import {
  foldChat,
  foldClips,
  foldHighlights,
  foldSourceProgress,
  foldVerdicts,
  foldViewerWindows,
  peakAfter,
  RETAINED_CHAT_SECONDS,
  RETAINED_VIEWER_WINDOWS,
  sourceProgressOf,
  viewerTotals,
  viewerWindowUpdates,
  type Positioned,
  type ViewerPartitionFacet,
} from './live-stream-state.ts';
import { chatMessage, clipEvent, highlight, rowsMessage, verdict, windowRow } from './testing/live-board-fixtures.ts';

const T0 = 1_750_000_000_000;

const at = <T>(partition: number, offset: number, value: T): Positioned<T> => ({
  partition,
  offset: String(offset),
  value,
});

describe('viewer windows', () => {
  it('splits a message into per-stream updates of `all` rows only', () => {
    const updates = viewerWindowUpdates(
      rowsMessage(3, 7, [
        windowRow('s1', T0, 5),
        windowRow('s1', T0, 2, 'device'),
        windowRow('s2', T0, 1),
        windowRow('s1', T0 + 10_000, 6),
      ]),
    );
    expect([...updates]).toEqual([
      [
        's1',
        {
          source: 'viewer-analytics:3',
          creatorId: 'creator-of-s1',
          version: '7',
          windows: [
            [T0, 5],
            [T0 + 10_000, 6],
          ],
        },
      ],
      ['s2', { source: 'viewer-analytics:3', creatorId: 'creator-of-s2', version: '7', windows: [[T0, 1]] }],
    ]);
  });

  const update = (version: string, windows: Array<[number, number]>) => ({
    source: 'g:0',
    creatorId: 'c',
    version,
    windows,
  });
  const cases: Array<
    [string, ViewerPartitionFacet | undefined, ReturnType<typeof update>, Array<[number, number, string]>]
  > = [
    ['first update', undefined, update('5', [[T0, 3]]), [[T0, 3, '5']]],
    [
      'a later version replaces a window',
      { creator_id: 'c', windows: [[T0, 3, '5']], peak: 0 },
      update('6', [[T0, 4]]),
      [[T0, 4, '6']],
    ],
    [
      'an older version is ignored (redelivery)',
      { creator_id: 'c', windows: [[T0, 4, '6']], peak: 0 },
      update('5', [[T0, 3]]),
      [[T0, 4, '6']],
    ],
    [
      'versions compare as 64-bit numbers, not strings',
      { creator_id: 'c', windows: [[T0, 4, '9']], peak: 0 },
      update('10', [[T0, 7]]),
      [[T0, 7, '10']],
    ],
    [
      'new windows are appended in order',
      { creator_id: 'c', windows: [[T0 + 10_000, 4, '6']], peak: 0 },
      update('7', [[T0, 1]]),
      [
        [T0, 1, '7'],
        [T0 + 10_000, 4, '6'],
      ],
    ],
  ];
  it.each(cases)('%s', (_name, facet, next, expected) => {
    expect(foldViewerWindows(facet, next).windows).toEqual(expected);
  });

  it(`keeps the newest ${RETAINED_VIEWER_WINDOWS} windows`, () => {
    const windows = Array.from({ length: RETAINED_VIEWER_WINDOWS + 5 }, (_, i): [number, number] => [
      T0 + i * 10_000,
      i,
    ]);
    const folded = foldViewerWindows(undefined, update('1', windows));
    expect(folded.windows).toHaveLength(RETAINED_VIEWER_WINDOWS);
    expect(folded.windows[0]![0]).toBe(T0 + 5 * 10_000);
  });

  it('sums partitions window by window; a partition without a row adds nothing', () => {
    const viewers = {
      'g:0': {
        creator_id: 'c',
        windows: [
          [T0, 3, '1'],
          [T0 + 10_000, 4, '2'],
        ] as Array<[number, number, string]>,
        peak: 0,
      },
      'g:1': { creator_id: 'c', windows: [[T0, 5, '1']] as Array<[number, number, string]>, peak: 0 },
    };
    expect(viewerTotals(viewers)).toEqual([
      [T0, 8],
      [T0 + 10_000, 4],
    ]);
    expect(peakAfter(viewers, 0)).toBe(8);
    expect(peakAfter(viewers, 11)).toBe(11);
  });

  it('at the live edge, a partition that has not reached the newest window counts with its newest figure', () => {
    // Partition 0 has reported the window after the boundary; partition 1 is still in the one before.
    const viewers = {
      'g:0': {
        creator_id: 'c',
        windows: [
          [T0, 1, '1'],
          [T0 + 10_000, 1, '2'],
        ] as Array<[number, number, string]>,
        peak: 0,
      },
      'g:1': { creator_id: 'c', windows: [[T0, 1, '1']] as Array<[number, number, string]>, peak: 0 },
    };
    expect(
      viewerTotals(viewers, { 'g:0': { reached: T0 + 10_000, version: '2' }, 'g:1': { reached: T0, version: '1' } }),
    ).toEqual([
      [T0, 2],
      [T0 + 10_000, 2],
    ]);
    // Once partition 1 is there without a row, its views are gone.
    expect(
      viewerTotals(viewers, {
        'g:0': { reached: T0 + 10_000, version: '2' },
        'g:1': { reached: T0 + 10_000, version: '3' },
      }),
    ).toEqual([
      [T0, 2],
      [T0 + 10_000, 1],
    ]);
  });

  it('reads how far a source got from its watermark messages; an older one never moves it back', () => {
    const watermark = {
      type: 'viewer_watermark' as const,
      group: 'g',
      source_partition: 2,
      version: '9',
      emitted_at: T0,
      watermark: T0 + 12_000,
      watermark_window_start: T0 + 10_000,
      closed_before: T0 - 20_000,
    };
    expect(sourceProgressOf(watermark)).toEqual(['g:2', { reached: T0 + 10_000, version: '9' }]);
    expect(sourceProgressOf(rowsMessage(2, 9, [windowRow('s', T0, 1)]))).toBeUndefined();
    expect(viewerWindowUpdates(watermark).size).toBe(0);
    expect(foldSourceProgress({ reached: T0 + 10_000, version: '9' }, { reached: T0, version: '8' })).toEqual({
      reached: T0 + 10_000,
      version: '9',
    });
    expect(foldSourceProgress({ reached: T0, version: '9' }, { reached: T0 + 10_000, version: '10' })).toEqual({
      reached: T0 + 10_000,
      version: '10',
    });
  });
});

describe('chat', () => {
  it('counts messages per second and inline decisions', () => {
    const facet = foldChat(undefined, [
      at(0, 1, chatMessage('s', T0, 1)),
      at(0, 2, chatMessage('s', T0 + 400, 2, 'hold')),
      at(0, 3, chatMessage('s', T0 + 1_000, 3, 'block')),
    ]);
    expect(facet).toEqual({
      applied: { 0: '3' },
      total: 3,
      held_inline: 1,
      blocked_inline: 1,
      per_second: [
        [T0 / 1_000, 2],
        [T0 / 1_000 + 1, 1],
      ],
    });
  });

  it('does not count a redelivered batch twice, but counts what is new in it', () => {
    const once = foldChat(undefined, [at(2, 10, chatMessage('s', T0, 1)), at(2, 11, chatMessage('s', T0, 2))]);
    const again = foldChat(once, [
      at(2, 10, chatMessage('s', T0, 1)),
      at(2, 11, chatMessage('s', T0, 2)),
      at(2, 12, chatMessage('s', T0, 3)),
    ]);
    expect(again.total).toBe(3);
    expect(again.applied).toEqual({ 2: '12' });
    expect(foldChat(again, [at(2, 12, chatMessage('s', T0, 3))])).toBe(again);
  });

  it('keeps offsets per partition (a stream moves when partitions are added)', () => {
    const facet = foldChat(foldChat(undefined, [at(0, 50, chatMessage('s', T0, 1))]), [
      at(1, 3, chatMessage('s', T0, 2)),
    ]);
    expect([facet.total, facet.applied]).toEqual([2, { 0: '50', 1: '3' }]);
  });

  it(`keeps ${RETAINED_CHAT_SECONDS} seconds of counts`, () => {
    const facet = foldChat(undefined, [
      at(0, 1, chatMessage('s', T0, 1)),
      at(0, 2, chatMessage('s', T0 + RETAINED_CHAT_SECONDS * 1_000, 2)),
    ]);
    expect(facet.per_second).toEqual([[T0 / 1_000 + RETAINED_CHAT_SECONDS, 1]]);
    expect(facet.total).toBe(2);
  });
});

describe('verdicts', () => {
  it('counts actions once per offset', () => {
    const batch = [
      at(0, 1, verdict('s', 'remove', 1)),
      at(0, 2, verdict('s', 'remove', 2)),
      at(0, 3, verdict('s', 'ban', 3)),
    ];
    const facet = foldVerdicts(undefined, batch);
    expect(facet.actions).toEqual({ remove: 2, ban: 1 });
    expect(foldVerdicts(facet, batch)).toBe(facet);
  });
});

describe('highlights and clips', () => {
  it('keeps highlights by id, newest first', () => {
    const facet = foldHighlights(foldHighlights(undefined, [highlight('s', 'a', T0), highlight('s', 'b', T0 + 5)]), [
      highlight('s', 'a', T0),
    ]);
    expect(facet.highlights.map((h) => h.highlight_id)).toEqual(['b', 'a']);
  });

  it('lets a later event about a clip replace an earlier one, not the reverse; hides the manifest', () => {
    const created = clipEvent('s', 'c1', 'created', T0, { mp4: 'k1', thumbnail: 'k2', manifest: 'k3' });
    const updated = clipEvent('s', 'c1', 'updated', T0 + 10, {
      mp4: 'k1',
      thumbnail: 'k2',
      vertical: 'k4',
      manifest: 'k3',
    });
    const facet = foldClips(foldClips(undefined, [updated]), [created]);
    expect(facet.clips).toEqual([
      expect.objectContaining({ clip_id: 'c1', status: 'updated', outputs: ['mp4', 'thumbnail', 'vertical'] }),
    ]);
  });

  it('keeps a failed clip with its reason', () => {
    const failed = { ...clipEvent('s', 'c2', 'failed', T0), outputs: undefined, reason: 'no recording' };
    expect(foldClips(undefined, [failed]).clips[0]).toMatchObject({
      status: 'failed',
      outputs: [],
      reason: 'no recording',
    });
  });
});
