import { describe, expect, it } from 'vitest';
import { labelledIndexes, largestInOrder, niceScale } from './chart-scale.ts';

describe('niceScale', () => {
  it.each([
    [100, 4, { max: 100, step: 25, ticks: [0, 25, 50, 75, 100] }],
    [93, 4, { max: 100, step: 25, ticks: [0, 25, 50, 75, 100] }],
    [7, 4, { max: 8, step: 2, ticks: [0, 2, 4, 6, 8] }],
    [1_234, 4, { max: 1_500, step: 500, ticks: [0, 500, 1_000, 1_500] }],
    [0.37, 4, { max: 0.4, step: 0.1, ticks: [0, 0.1, 0.2, 0.3, 0.4] }],
    [1, 4, { max: 1, step: 0.25, ticks: [0, 0.25, 0.5, 0.75, 1] }],
    [45_000, 5, { max: 50_000, step: 10_000, ticks: [0, 10_000, 20_000, 30_000, 40_000, 50_000] }],
  ])('covers %d with about %d steps', (dataMax, target, expected) => {
    expect(niceScale(dataMax, target)).toEqual(expected);
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])('gives a unit axis for %d (nothing to show)', (dataMax) => {
    expect(niceScale(dataMax).max).toBe(1);
  });
});

describe('labelledIndexes', () => {
  it.each([
    [5, 10, [0, 1, 2, 3, 4]],
    [10, 5, [0, 2, 4, 6, 8]],
    [31, 10, [0, 4, 8, 12, 16, 20, 24, 28]],
    [0, 5, []],
  ])('%d bars, at most %d labels', (count, max, expected) => {
    expect(labelledIndexes(count, max)).toEqual(expected);
  });
});

describe('largestInOrder', () => {
  it('keeps the largest, in their original order, ties to the earlier', () => {
    expect(largestInOrder([3, 9, 1, 9, 5], 3, (x) => x)).toEqual([9, 9, 5]);
    expect(largestInOrder([4, 4, 4], 2, (x) => x)).toEqual([4, 4]);
    expect(largestInOrder([1, 2], 5, (x) => x)).toEqual([1, 2]);
  });
});
