import { describe, expect, it } from 'vitest';
import { liveEdgeAt, liveEdgeSeries, type SourceWindows } from './live-edge.ts';
import { LIVE_EDGE_CASES, w } from './testing/live-edge-cases.ts';

describe('liveEdgeSeries', () => {
  it.each(LIVE_EDGE_CASES)('%s', (_name, sources, expected) => {
    expect(liveEdgeSeries(sources)).toEqual(expected);
  });
});

describe('liveEdgeAt', () => {
  const sources: SourceWindows[] = [
    {
      windows: [
        [w(0), 2],
        [w(1), 3],
      ],
      reached: w(1),
    },
    { windows: [[w(0), 1]], reached: w(0) },
  ];
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
