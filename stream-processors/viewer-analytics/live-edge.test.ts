import { describe, expect, it } from 'vitest';
import { liveEdgeAt, liveEdgeSeries, type SourceWindows } from './live-edge.ts';

const W = 1_750_000_000_000;
const w = (n: number) => W + n * 10_000;

describe('liveEdgeSeries', () => {
  const cases: Array<[string, SourceWindows[], Array<[number, number]>]> = [
    ['every source at the same window: the plain sum', [{ windows: [[w(0), 2], [w(1), 3]], reached: w(1) }, { windows: [[w(0), 1], [w(1), 1]], reached: w(1) }], [[w(0), 3], [w(1), 4]]],
    [
      'a source not at the newest window yet counts with its newest figure, not as empty',
      [{ windows: [[w(0), 2], [w(1), 2]], reached: w(1) }, { windows: [[w(0), 1]], reached: w(0) }, { windows: [[w(0), 4]], reached: w(0) }],
      [[w(0), 7], [w(1), 7]],
    ],
    ['a source that reached a window without a row there has no views in it', [{ windows: [[w(0), 2], [w(1), 2]], reached: w(1) }, { windows: [[w(0), 1]], reached: w(1) }], [[w(0), 3], [w(1), 2]]],
    ['every view gone: the reached window reads 0', [{ windows: [[w(0), 2]], reached: w(2) }], [[w(0), 2], [w(2), 0]]],
    ['a source ahead by several windows: the one behind is carried into each', [{ windows: [[w(0), 1], [w(1), 1], [w(2), 5]], reached: w(2) }, { windows: [[w(0), 3]], reached: w(0) }], [[w(0), 4], [w(1), 4], [w(2), 8]]],
    ['a source of unknown progress is summed where it has rows and not carried', [{ windows: [[w(0), 1], [w(1), 1]], reached: w(1) }, { windows: [[w(0), 3]] }], [[w(0), 4], [w(1), 1]]],
    ['a watermark behind the newest row (rows land first) is as far as the rows', [{ windows: [[w(0), 1], [w(1), 2]], reached: w(0) }, { windows: [[w(0), 1]], reached: w(0) }], [[w(0), 2], [w(1), 3]]],
    ['an extra window slot in the facet (version) is ignored', [{ windows: [[w(0), 1, '7'], [w(1), 2, '9']], reached: w(1) }], [[w(0), 1], [w(1), 2]]],
    ['no rows and no progress: nothing', [{ windows: [] }], []],
  ];
  it.each(cases)('%s', (_name, sources, expected) => {
    expect(liveEdgeSeries(sources)).toEqual(expected);
  });
});

describe('liveEdgeAt', () => {
  const sources: SourceWindows[] = [{ windows: [[w(0), 2], [w(1), 3]], reached: w(1) }, { windows: [[w(0), 1]], reached: w(0) }];
  const cases: Array<[string, number, [number, number] | undefined]> = [
    ['before any window', w(0) - 1, undefined],
    ['inside the first window', w(0) + 5_000, [w(0), 3]],
    ['at the edge: the source behind carried', w(1) + 9_999, [w(1), 4]],
    ['past the newest reached window', w(5), [w(1), 4]],
  ];
  it.each(cases)('%s', (_name, atMs, expected) => {
    expect(liveEdgeAt(sources, atMs)).toEqual(expected);
  });
});
