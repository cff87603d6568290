import type { MetricSource, TimeRange } from './metric-queries.ts';

/**
 * Turning `from`, `to` and `interval` query parameters into a range the analytics store can
 * answer, and choosing the table that answers it: the 10 s windows for 10 s intervals (kept 35
 * days), the minute rollup below an hour, the hour rollup beyond. Pure, so every rule is
 * table-tested; the routes turn a {@link RangeError} subclass into a 400.
 */

export const INTERVALS = {
  '10s': 10,
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '1h': 3_600,
  '6h': 21_600,
  '1d': 86_400,
} as const;
export type IntervalName = keyof typeof INTERVALS;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The live windows' TTL (migration 0020): older 10 s data exists only in the rollups. */
export const WINDOW_RETENTION_MS = 35 * DAY_MS;
export const MAX_METRIC_POINTS = 10_000;
export const MAX_METRICS_RANGE_MS = 400 * DAY_MS;
export const MAX_REPORT_RANGE_MS = 366 * DAY_MS;
/** Reports longer than this read the hour rollup; shorter ones the minute rollup. */
export const REPORT_MINUTE_RESOLUTION_MAX_MS = 2 * DAY_MS;
/** The default interval gives at most this many points. */
const DEFAULT_POINTS = 360;

export class QueryParameterError extends RangeError {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`);
    this.name = 'QueryParameterError';
  }
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * A timestamp as epoch ms: ISO 8601 (a date alone means midnight UTC; a time needs its offset, so
 * no server time zone sneaks in) or epoch milliseconds. Dates that do not exist are refused,
 * not rolled over as `Date` would (2025-02-30 is not March 2).
 */
export function parseTimestamp(parameter: string, value: string): number {
  let ms: number;
  if (/^\d{1,16}$/.test(value)) {
    ms = Number(value);
  } else if (ISO_TIMESTAMP.test(value)) {
    ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
    const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
    const calendar = new Date(Date.UTC(year, month - 1, day));
    if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day)
      ms = Number.NaN;
  } else {
    throw new QueryParameterError(
      parameter,
      'must be an ISO 8601 date or time with offset (2025-03-01, 2025-03-01T12:00:00Z) or epoch milliseconds',
    );
  }
  if (!Number.isFinite(ms)) throw new QueryParameterError(parameter, `${value} is not a valid date or time`);
  // Between 2020 and 2100, like every timestamp the platform accepts (core/schemas/common.ts).
  if (ms < Date.UTC(2020, 0, 1) || ms > Date.UTC(2100, 0, 1))
    throw new QueryParameterError(parameter, 'must be between 2020-01-01 and 2100-01-01');
  return ms;
}

const floorTo = (ms: number, stepMs: number) => Math.floor(ms / stepMs) * stepMs;
const ceilTo = (ms: number, stepMs: number) => Math.ceil(ms / stepMs) * stepMs;

function rawRange(
  query: { from?: string; to?: string },
  now: number,
  defaultSpanMs: number,
  maxSpanMs: number,
): TimeRange {
  const to = query.to === undefined ? now : parseTimestamp('to', query.to);
  const from = query.from === undefined ? to - defaultSpanMs : parseTimestamp('from', query.from);
  if (from >= to) throw new QueryParameterError('from', 'must be before to');
  if (to - from > maxSpanMs)
    throw new QueryParameterError('to', `the range may span at most ${Math.round(maxSpanMs / DAY_MS)} days`);
  return { from, to };
}

export interface MetricsQuery {
  from?: string;
  to?: string;
  interval?: IntervalName;
}

export interface MetricsPlan {
  /** Aligned outward to whole intervals. */
  range: TimeRange;
  interval: IntervalName;
  intervalSeconds: number;
  source: MetricSource;
}

/** The smallest interval that keeps a range within {@link DEFAULT_POINTS} points. */
export function defaultInterval(spanMs: number): IntervalName {
  const names = Object.keys(INTERVALS) as IntervalName[];
  return names.find((name) => spanMs / (INTERVALS[name] * 1_000) <= DEFAULT_POINTS) ?? '1d';
}

/** Range, interval and source for `GET /v1/streams/:id/metrics`; by default the last hour. */
export function planStreamMetrics(query: MetricsQuery, now: number): MetricsPlan {
  const raw = rawRange(query, now, HOUR_MS, MAX_METRICS_RANGE_MS);
  const interval = query.interval ?? defaultInterval(raw.to - raw.from);
  const intervalSeconds = INTERVALS[interval];
  const stepMs = intervalSeconds * 1_000;
  const range = { from: floorTo(raw.from, stepMs), to: ceilTo(raw.to, stepMs) };
  const points = (range.to - range.from) / stepMs;
  if (points > MAX_METRIC_POINTS) {
    throw new QueryParameterError(
      'interval',
      `${interval} over this range gives ${points} points; at most ${MAX_METRIC_POINTS} (use a longer interval)`,
    );
  }
  const source: MetricSource = intervalSeconds < 60 ? 'window' : intervalSeconds < 3_600 ? 'minute' : 'hour';
  if (source === 'window' && range.from < now - WINDOW_RETENTION_MS) {
    throw new QueryParameterError('interval', '10 s windows are kept 35 days; use 1m or longer for older data');
  }
  return { range, interval, intervalSeconds, source };
}

export interface ReportPlan {
  /** Aligned outward to whole minutes or hours: what the report covers. */
  range: TimeRange;
  source: Exclude<MetricSource, 'window'>;
  /** The concurrency chart's interval: hours for long reports, else minutes grouped to ≤ ~200 points. */
  chartIntervalSeconds: number;
}

/** Range and resolution of a creator report; by default the last 30 days. */
export function planCreatorReport(query: { from?: string; to?: string }, now: number): ReportPlan {
  const raw = rawRange(query, now, 30 * DAY_MS, MAX_REPORT_RANGE_MS);
  const source = raw.to - raw.from > REPORT_MINUTE_RESOLUTION_MAX_MS ? 'hour' : 'minute';
  const stepMs = source === 'hour' ? HOUR_MS : 60_000;
  const range = { from: floorTo(raw.from, stepMs), to: ceilTo(raw.to, stepMs) };
  const span = range.to - range.from;
  const chartIntervalSeconds =
    source === 'hour' ? (span > 90 * DAY_MS ? 86_400 : 3_600) : Math.max(60, ceilTo(span / 200, 60_000) / 1_000);
  return { range, source, chartIntervalSeconds };
}
