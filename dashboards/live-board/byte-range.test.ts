import { describe, expect, it } from 'vitest';
import { resolveByteRange, type RangeAnswer } from './byte-range.ts';

describe('resolveByteRange', () => {
  const cases: Array<[string | undefined, number, RangeAnswer]> = [
    [undefined, 100, { kind: 'whole' }],
    ['bytes=0-', 100, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=0-1', 100, { kind: 'partial', start: 0, end: 1 }],
    ['bytes=10-19', 100, { kind: 'partial', start: 10, end: 19 }],
    ['bytes=90-500', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-10', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-500', 100, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=99-99', 100, { kind: 'partial', start: 99, end: 99 }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=20-10', 100, { kind: 'whole' }],
    ['bytes=0-1,5-6', 100, { kind: 'whole' }],
    ['items=0-1', 100, { kind: 'whole' }],
    ['bytes=-', 100, { kind: 'whole' }],
    ['bytes=abc', 100, { kind: 'whole' }],
  ];
  it.each(cases)('Range %j on %i bytes', (header, size, expected) => {
    expect(resolveByteRange(header, size)).toEqual(expected);
  });
});
