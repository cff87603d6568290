import { describe, expect, it } from 'vitest';
import { compareWindowFigures, type WindowFigures } from './window-figures.ts';

const tolerances = { watchMsTotal: 0.01, viewersTotalBelow: 0.25 };
const row = (stream_id: string, window_start: number, viewers: number, watch_ms: number): WindowFigures => ({
  stream_id,
  window_start,
  viewers,
  watch_ms,
});

describe('compareWindowFigures', () => {
  it('agrees when the figures are the same, counting equal windows', () => {
    const figures = [row('s1', 0, 3, 30_000), row('s1', 10_000, 2, 20_000), row('s2', 0, 1, 10_000)];
    const result = compareWindowFigures(figures, [...figures].reverse(), tolerances);
    expect(result).toMatchObject({
      windows: 3,
      onlyProcessor: 0,
      onlyKafkaStreams: 0,
      watchMsEqual: 3,
      viewersEqual: 3,
      problems: [],
    });
  });

  it('ignores empty rows and counts windows only one side has', () => {
    const result = compareWindowFigures(
      [row('s1', 0, 2, 20_000), row('s1', 10_000, 0, 0)],
      [row('s1', 0, 2, 19_900), row('s1', 20_000, 0, 100)],
      tolerances,
    );
    expect(result).toMatchObject({
      windows: 2,
      onlyProcessor: 0,
      onlyKafkaStreams: 1,
      watchMsEqual: 0,
      viewersEqual: 1,
      problems: [],
    });
    expect(result.kafkaStreamsTotals).toEqual({ viewers: 2, watch_ms: 20_000 });
  });

  it.each([
    ['watch time off by more than the tolerance', [row('s1', 0, 2, 18_000)], /total watch_ms 18000 .* off by 10\.00%/],
    ['more viewers than the processor', [row('s1', 0, 3, 20_000)], /total viewers 3 .* never above/],
    ['far fewer viewers than the processor', [row('s1', 0, 1, 20_000)], /total viewers 1 .* at most 25% below/],
  ])('fails on %s', (_, kafkaStreams, problem) => {
    const result = compareWindowFigures([row('s1', 0, 2, 20_000)], kafkaStreams, tolerances);
    expect(result.problems).toEqual([expect.stringMatching(problem)]);
  });

  it('refuses to compare against a processor that wrote nothing', () => {
    expect(() => compareWindowFigures([], [row('s1', 0, 1, 1)], tolerances)).toThrow(
      'the processor wrote no window rows to compare with',
    );
  });
});
