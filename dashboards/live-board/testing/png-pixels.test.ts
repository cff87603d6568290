import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePng, pixelStatistics } from './png-pixels.ts';

function chunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  // The decoder does not check CRCs; zeros keep this encoder short.
  return Buffer.concat([length, Buffer.from(type, 'latin1'), body, Buffer.alloc(4)]);
}

/** A 2×2 RGB PNG whose rows are already filtered as given. */
function png(filteredRows: number[][]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0);
  header.writeUInt32BE(filteredRows.length, 4);
  header[8] = 8;
  header[9] = 2;
  const raw = Buffer.from(filteredRows.flat());
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('decodePng', () => {
  const red = [255, 0, 0];
  const cases: Array<[string, number[][], number[]]> = [
    [
      'none',
      [
        [0, ...red, 0, 0, 255],
        [0, 0, 255, 0, ...red],
      ],
      [...red, 0, 0, 255, 0, 255, 0, ...red],
    ],
    [
      'sub',
      [
        [1, 10, 20, 30, 5, 5, 5],
        [0, 0, 0, 0, 0, 0, 0],
      ],
      [10, 20, 30, 15, 25, 35, 0, 0, 0, 0, 0, 0],
    ],
    [
      'up',
      [
        [0, 10, 20, 30, 1, 2, 3],
        [2, 1, 1, 1, 1, 1, 1],
      ],
      [10, 20, 30, 1, 2, 3, 11, 21, 31, 2, 3, 4],
    ],
    [
      'average',
      [
        [0, 10, 20, 30, 40, 50, 60],
        [3, 0, 0, 0, 0, 0, 0],
      ],
      [10, 20, 30, 40, 50, 60, 5, 10, 15, 22, 30, 37],
    ],
    [
      'paeth',
      [
        [0, 10, 20, 30, 40, 50, 60],
        [4, 1, 1, 1, 1, 1, 1],
      ],
      [10, 20, 30, 40, 50, 60, 11, 21, 31, 41, 51, 61],
    ],
  ];
  it.each(cases)('undoes the %s filter', (_name, rows, expected) => {
    const decoded = decodePng(png(rows));
    expect([decoded.width, decoded.height, decoded.channels]).toEqual([2, 2, 3]);
    expect([...decoded.pixels]).toEqual(expected);
  });

  it('tells a uniform image from a varied one', () => {
    expect(
      pixelStatistics(
        decodePng(
          png([
            [0, 9, 9, 9, 9, 9, 9],
            [0, 9, 9, 9, 9, 9, 9],
          ]),
        ),
      ),
    ).toEqual({ lumaVariance: expect.closeTo(0, 6) as unknown, distinctColors: 1 });
    expect(
      pixelStatistics(
        decodePng(
          png([
            [0, 0, 0, 0, 255, 255, 255],
            [0, 255, 255, 255, 0, 0, 0],
          ]),
        ),
      ).lumaVariance,
    ).toBeCloseTo(127.5 ** 2, 0);
  });

  it('rejects what is not a PNG', () => {
    expect(() => decodePng(Buffer.from('GIF89a'))).toThrow(/not a PNG/);
  });
});
