import { expect } from 'vitest';
import type { AnalyticsStore } from '../core/analytics-store/analytics-store.ts';
import type { GroundTruth, ViewTotals as TruthTotals } from '../tools/simulator/ground-truth.ts';
import { DIMENSIONS } from '../core/analytics/aggregate-messages.ts';
import {
  peakConcurrencyByMinute,
  viewTotals,
  viewTotalsByPeriod,
  windowMetrics,
  type ViewTotals,
} from '../core/analytics/metric-queries.ts';

/**
 * Compares what ClickHouse says (live tables and rollups) with a simulation's ground truth:
 * everything exact except unique viewers, which uniqCombined estimates (exact for small sets,
 * within its documented ~1% error beyond).
 */
const UNIQUES_RELATIVE_ERROR = 0.02;

function closeTo(actual: number, expected: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    Math.max(1, expected * UNIQUES_RELATIVE_ERROR),
  );
}

function comparable(totals: ViewTotals | TruthTotals) {
  const round = (v: number | null) => (v === null ? null : Number(v.toFixed(9)));
  const { unique_viewers: _u, ...rest } = totals;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest))
    if (key !== 'dimension_value' && key !== 'period_start')
      result[key] = typeof value === 'number' || value === null ? round(value) : value;
  return result;
}

export async function expectAnalyticsToMatchTruth(store: AnalyticsStore, truth: GroundTruth): Promise<void> {
  for (const [streamId, stream] of Object.entries(truth.streams)) {
    const scope = { propertyId: truth.property_id, streamId };

    // Window rows, every dimension, from the live table.
    for (const dimension of ['all', ...DIMENSIONS] as const) {
      const expected = stream.windows.filter((w) => w.dimension === dimension);
      const actual = await windowMetrics(store, { ...scope, dimension });
      const key = (w: { window_start: number; dimension_value: string }) => `${w.window_start}|${w.dimension_value}`;
      const expectedKeys = new Set(expected.map(key));
      const notInTruth = actual.filter((row) => !expectedKeys.has(key(row)));
      expect(
        actual.map(key),
        `${streamId} ${dimension} windows; rows not in the truth: ${JSON.stringify(notInTruth)}`,
      ).toEqual(expected.map(key));
      actual.forEach((row, i) => {
        const want = expected[i]!;
        const { unique_viewers, ...exact } = row;
        const { unique_viewers: wantUniques, dimension: _d, ...wantExact } = want;
        expect(exact, `${streamId} ${dimension} window ${new Date(row.window_start).toISOString()}`).toEqual(wantExact);
        closeTo(unique_viewers, wantUniques, `${streamId} ${dimension} uniques at ${row.window_start}`);
      });
    }

    // Peak concurrency per minute: live and from the minute rollup.
    expect(await peakConcurrencyByMinute(store, scope, 'live'), `${streamId} peaks (live)`).toEqual(
      stream.peak_concurrency_by_minute,
    );
    expect(await peakConcurrencyByMinute(store, scope, 'rollup'), `${streamId} peaks (rollup)`).toEqual(
      stream.peak_concurrency_by_minute,
    );

    // Engagement and QoE over ended views, in total and per dimension value.
    const [total] = await viewTotals(store, scope);
    expect(comparable(total!), `${streamId} totals`).toEqual(comparable(stream.totals));
    closeTo(total!.unique_viewers, stream.totals.unique_viewers, `${streamId} unique viewers`);
    for (const dimension of DIMENSIONS) {
      const byValue = await viewTotals(store, { ...scope, dimension });
      expect(
        byValue.map((t) => t.dimension_value),
        `${streamId} ${dimension} values`,
      ).toEqual(Object.keys(stream.by_dimension[dimension]));
      for (const totals of byValue)
        expect(comparable(totals), `${streamId} ${dimension}=${totals.dimension_value}`).toEqual(
          comparable(stream.by_dimension[dimension][totals.dimension_value]!),
        );
    }

    // The rollups: engagement by view start minute, QoE by view end minute.
    const byStart = await viewTotalsByPeriod(store, scope, 'start');
    expect(
      byStart.map((r) => ({ minute: r.period_start, views: r.views, watch_ms: r.watch_ms, playing_ms: r.playing_ms })),
      `${streamId} engagement by start minute`,
    ).toEqual(stream.engagement_by_start_minute.map(({ unique_viewers: _u, ...rest }) => rest));
    const byEnd = await viewTotalsByPeriod(store, scope, 'end');
    expect(
      byEnd.map((r) => ({ minute: r.period_start, ...comparable(r) })),
      `${streamId} QoE by end minute`,
    ).toEqual(stream.qoe_by_end_minute.map(({ minute, ...totals }) => ({ minute, ...comparable(totals) })));
    const hourly = await viewTotalsByPeriod(store, scope, 'end', 'hour');
    expect(
      hourly.reduce((n, r) => n + r.views, 0),
      `${streamId} views in the hour rollup`,
    ).toBe(stream.totals.views);
  }
}

/** Views ended and summarized so far (each once), to wait for a run to be complete. */
export async function countViewSummaries(store: AnalyticsStore, propertyId: string): Promise<number> {
  const result = await store.client.query({
    query: 'SELECT toUInt32(count()) AS n FROM view_summaries FINAL WHERE property_id = {property:String}',
    query_params: { property: propertyId },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number }>();
  return row!.n;
}
