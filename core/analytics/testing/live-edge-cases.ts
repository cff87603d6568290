import type { SourceWindows } from '../live-edge.ts';

/** The live-edge rule as a table: source partitions' rows and progress, and the series they make. Run by the pure core's unit test and, on ClickHouse, by its SQL twin's. */
const W = 1_750_000_000_000;
export const w = (n: number) => W + n * 10_000;

export const LIVE_EDGE_CASES: Array<[name: string, sources: SourceWindows[], series: Array<[number, number]>]> = [
  [
    'every source at the same window: the plain sum',
    [
      {
        windows: [
          [w(0), 2],
          [w(1), 3],
        ],
        reached: w(1),
      },
      {
        windows: [
          [w(0), 1],
          [w(1), 1],
        ],
        reached: w(1),
      },
    ],
    [
      [w(0), 3],
      [w(1), 4],
    ],
  ],
  [
    'a source not at the newest window yet counts with its newest figure, not as empty',
    [
      {
        windows: [
          [w(0), 2],
          [w(1), 2],
        ],
        reached: w(1),
      },
      { windows: [[w(0), 1]], reached: w(0) },
      { windows: [[w(0), 4]], reached: w(0) },
    ],
    [
      [w(0), 7],
      [w(1), 7],
    ],
  ],
  [
    'a source that reached a window without a row there has no views in it',
    [
      {
        windows: [
          [w(0), 2],
          [w(1), 2],
        ],
        reached: w(1),
      },
      { windows: [[w(0), 1]], reached: w(1) },
    ],
    [
      [w(0), 3],
      [w(1), 2],
    ],
  ],
  [
    'every view gone: the reached window reads 0',
    [{ windows: [[w(0), 2]], reached: w(2) }],
    [
      [w(0), 2],
      [w(2), 0],
    ],
  ],
  [
    'a source ahead by several windows: the one behind is carried into each',
    [
      {
        windows: [
          [w(0), 1],
          [w(1), 1],
          [w(2), 5],
        ],
        reached: w(2),
      },
      { windows: [[w(0), 3]], reached: w(0) },
    ],
    [
      [w(0), 4],
      [w(1), 4],
      [w(2), 8],
    ],
  ],
  [
    'a source of unknown progress is summed where it has rows and not carried',
    [
      {
        windows: [
          [w(0), 1],
          [w(1), 1],
        ],
        reached: w(1),
      },
      { windows: [[w(0), 3]] },
    ],
    [
      [w(0), 4],
      [w(1), 1],
    ],
  ],
  [
    'a watermark behind the newest row (rows land first) is as far as the rows',
    [
      {
        windows: [
          [w(0), 1],
          [w(1), 2],
        ],
        reached: w(0),
      },
      { windows: [[w(0), 1]], reached: w(0) },
    ],
    [
      [w(0), 2],
      [w(1), 3],
    ],
  ],
  [
    'an extra window slot in the facet (version) is ignored',
    [
      {
        windows: [
          [w(0), 1, '7'],
          [w(1), 2, '9'],
        ],
        reached: w(1),
      },
    ],
    [
      [w(0), 1],
      [w(1), 2],
    ],
  ],
  ['no rows and no progress: nothing', [{ windows: [] }], []],
];
