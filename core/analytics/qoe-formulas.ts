/**
 * Mux Data's aggregate formulas (shared research qoe.md §1.2, §5.4), over sums that ClickHouse
 * (or the simulator's ground truth) computed. Ratios of sums, never averages of per-view ratios:
 * a 2-hour view weighs more than a 10-second one, as in Mux. A ratio with an empty denominator
 * is null ("no value"), not zero: Mux counts a view toward a metric only when it has a value.
 */

/** Sums over the views that ended in a period (QoE is bucketed by view end, as Mux does). */
export interface QoeSums {
  views: number;
  watch_ms: number;
  playing_ms: number;
  rebuffer_ms: number;
  rebuffer_count: number;
  playback_failures: number;
  startup_failures: number;
  exits_before_start: number;
  business_exceptions: number;
  upscale_weighted_ms: number;
}

export interface QoeMetrics {
  /** Σ rebuffering ÷ Σ watch time, in %. */
  rebuffer_percentage: number | null;
  /** Rebuffer events per minute of watch time. */
  rebuffer_frequency_per_minute: number | null;
  /** Views with a fatal, non-business error ÷ views, in %. */
  playback_failure_percentage: number | null;
  /** Of those, the ones that failed before the first frame ÷ views, in %. */
  video_startup_failure_percentage: number | null;
  /** Views that never showed a frame, without a fatal error ÷ views, in %. */
  exits_before_video_start_percentage: number | null;
  /** Views ended by a business exception (geo block, paywall) ÷ views, in %. */
  business_exception_percentage: number | null;
  /** Time-weighted upscaling: Σ (upscale factor × playing time) ÷ Σ playing time, in %. */
  upscale_percentage: number | null;
}

export function ratioPercentage(part: number, whole: number): number | null {
  return whole > 0 ? (100 * part) / whole : null;
}

export function qoeMetrics(sums: QoeSums): QoeMetrics {
  return {
    rebuffer_percentage: ratioPercentage(sums.rebuffer_ms, sums.watch_ms),
    rebuffer_frequency_per_minute: sums.watch_ms > 0 ? sums.rebuffer_count / (sums.watch_ms / 60_000) : null,
    playback_failure_percentage: ratioPercentage(sums.playback_failures, sums.views),
    video_startup_failure_percentage: ratioPercentage(sums.startup_failures, sums.views),
    exits_before_video_start_percentage: ratioPercentage(sums.exits_before_start, sums.views),
    business_exception_percentage: ratioPercentage(sums.business_exceptions, sums.views),
    upscale_percentage: ratioPercentage(sums.upscale_weighted_ms, sums.playing_ms),
  };
}

/**
 * The value at rank ⌊p·n⌋ (0-based, capped at n−1) of the ascending values: ClickHouse's
 * `quantileExact`, which the startup time p50/p95 use. For an even count the median is the upper
 * of the two middle values.
 */
export function quantileExact(sortedAscending: readonly number[], level: number): number | null {
  if (sortedAscending.length === 0) return null;
  const rank = Math.min(sortedAscending.length - 1, Math.floor(level * sortedAscending.length));
  return sortedAscending[rank]!;
}

/** Totals over a set of views with the metrics derived from them: what queries return and the simulator predicts. */
export interface ViewMetricTotals extends QoeMetrics {
  views: number;
  unique_viewers: number;
  watch_ms: number;
  playing_ms: number;
  rebuffer_ms: number;
  rebuffer_count: number;
  views_with_startup: number;
  startup_time_p50_ms: number | null;
  startup_time_p95_ms: number | null;
  playback_failures: number;
  startup_failures: number;
  exits_before_start: number;
  business_exceptions: number;
  upscale_weighted_ms: number;
}
