import { describe, expect, it } from 'vitest';
import { qoeMetrics, quantileExact, ratioPercentage } from './qoe-formulas.ts';

describe('Mux QoE formulas', () => {
  const sums = {
    views: 8,
    watch_ms: 600_000,
    playing_ms: 540_000,
    rebuffer_ms: 30_000,
    rebuffer_count: 5,
    playback_failures: 2,
    startup_failures: 1,
    exits_before_start: 1,
    business_exceptions: 1,
    upscale_weighted_ms: 135_000,
  };

  it.each([
    ['rebuffer percentage: Σ rebuffering ÷ Σ watch time', 'rebuffer_percentage', 5],
    ['rebuffer frequency: rebuffers per minute of watch time', 'rebuffer_frequency_per_minute', 0.5],
    ['playback failure %: fatal, non-business errors ÷ views', 'playback_failure_percentage', 25],
    ['video startup failure %', 'video_startup_failure_percentage', 12.5],
    ['exits before video start %', 'exits_before_video_start_percentage', 12.5],
    ['business exception %', 'business_exception_percentage', 12.5],
    ['upscale %: Σ upscale × playing time ÷ Σ playing time', 'upscale_percentage', 25],
  ] as const)('%s', (_name, metric, expected) => {
    expect(qoeMetrics(sums)[metric]).toBeCloseTo(expected, 9);
  });

  it('has no value (null, not zero) when the denominator is empty', () => {
    const empty = qoeMetrics({ ...sums, views: 0, watch_ms: 0, playing_ms: 0 });
    expect(Object.values(empty).every((v) => v === null)).toBe(true);
    expect(ratioPercentage(0, 10)).toBe(0);
  });

  it.each([
    [[], 0.5, null],
    [[800], 0.5, 800],
    [[1, 2, 3, 4], 0.5, 3],
    [[1, 2, 3, 4], 0.95, 4],
    [Array.from({ length: 20 }, (_, i) => i + 1), 0.5, 11],
    [Array.from({ length: 20 }, (_, i) => i + 1), 0.95, 20],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.95, 96],
  ])('quantileExact(%j, %d) = %j, as ClickHouse computes it', (values, level, expected) => {
    expect(quantileExact(values, level)).toBe(expected);
  });
});
