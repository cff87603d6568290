import { describe, expect, it } from 'vitest';
import {
  defaultInterval,
  parseTimestamp,
  planCreatorReport,
  planStreamMetrics,
  QueryParameterError,
} from './time-range.ts';

const NOW = Date.UTC(2026, 5, 15, 12, 34, 56, 789);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('parseTimestamp', () => {
  it.each([
    ['2025-03-01', Date.UTC(2025, 2, 1)],
    ['2025-03-01T12:00Z', Date.UTC(2025, 2, 1, 12)],
    ['2025-03-01T12:00:30.250Z', Date.UTC(2025, 2, 1, 12, 0, 30, 250)],
    ['2025-03-01T14:00:00+02:00', Date.UTC(2025, 2, 1, 12)],
    ['1740830400000', Date.UTC(2025, 2, 1, 12)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
  ])('reads %s', (value, expected) => {
    expect(parseTimestamp('from', value)).toBe(expected);
  });

  it.each([
    ['2025-02-30', 'not a valid date'],
    ['2025-13-01', 'not a valid date'],
    ['2023-02-29', 'not a valid date'],
    ['2025-03-01T25:00:00Z', 'not a valid date'],
    ['2025-03-01T12:00:00', 'ISO 8601'],
    ['yesterday', 'ISO 8601'],
    ["2025-03-01'; DROP TABLE clips; --", 'ISO 8601'],
    ['99999999999999999999', 'ISO 8601'],
    ['-1', 'ISO 8601'],
    ['1e12', 'ISO 8601'],
    ['0', 'between 2020-01-01 and 2100-01-01'],
    ['1740830400', 'between 2020-01-01 and 2100-01-01'],
    ['9999999999999999', 'between 2020-01-01 and 2100-01-01'],
    ['２０２５-03-01', 'ISO 8601'],
  ])('refuses %s', (value, message) => {
    expect(() => parseTimestamp('from', value)).toThrow(QueryParameterError);
    expect(() => parseTimestamp('from', value)).toThrow(message);
  });
});

describe('planStreamMetrics', () => {
  it('defaults to the last hour at 10 s, from the live windows, aligned outward', () => {
    const plan = planStreamMetrics({}, NOW);
    expect(plan).toEqual({
      interval: '10s',
      intervalSeconds: 10,
      source: 'window',
      range: { from: Math.floor((NOW - HOUR) / 10_000) * 10_000, to: Math.ceil(NOW / 10_000) * 10_000 },
    });
  });

  it.each([
    ['1m', 'minute'],
    ['15m', 'minute'],
    ['1h', 'hour'],
    ['1d', 'hour'],
  ] as const)('reads interval %s from the %s rollup', (interval, source) => {
    expect(planStreamMetrics({ from: '2026-06-01', to: '2026-06-02', interval }, NOW).source).toBe(source);
  });

  it('chooses the smallest interval with at most 360 points', () => {
    expect(defaultInterval(HOUR)).toBe('10s');
    expect(defaultInterval(6 * HOUR)).toBe('1m');
    expect(defaultInterval(DAY)).toBe('5m');
    expect(defaultInterval(30 * DAY)).toBe('6h');
    expect(defaultInterval(400 * DAY)).toBe('1d');
  });

  it.each([
    [{ from: '2026-06-02', to: '2026-06-01' }, 'from: must be before to'],
    [{ from: '2026-06-01', to: '2026-06-01' }, 'from: must be before to'],
    [{ from: '2024-01-01', to: '2026-06-01' }, 'at most 400 days'],
    [{ from: '2026-01-01', to: '2026-06-01', interval: '1m' as const }, 'at most 10000'],
    [{ from: '2026-04-01', to: '2026-04-02', interval: '10s' as const }, 'kept 35 days'],
  ])('refuses %j', (query, message) => {
    expect(() => planStreamMetrics(query, NOW)).toThrow(message);
  });
});

describe('planCreatorReport', () => {
  it('defaults to the last 30 days from the hour rollup, aligned to hours, charted per hour', () => {
    const plan = planCreatorReport({}, NOW);
    expect(plan.source).toBe('hour');
    expect(plan.range).toEqual({ from: Math.floor((NOW - 30 * DAY) / HOUR) * HOUR, to: Math.ceil(NOW / HOUR) * HOUR });
    expect(plan.chartIntervalSeconds).toBe(3_600);
  });

  it('reads the minute rollup for two days or less, with at most ~200 chart points', () => {
    const plan = planCreatorReport({ from: '2026-06-10T10:00:30Z', to: '2026-06-10T14:00:00Z' }, NOW);
    expect(plan).toEqual({
      source: 'minute',
      range: { from: Date.UTC(2026, 5, 10, 10), to: Date.UTC(2026, 5, 10, 14) },
      chartIntervalSeconds: 120,
    });
  });

  it('charts a year per day', () => {
    expect(planCreatorReport({ from: '2025-07-01', to: '2026-06-30' }, NOW).chartIntervalSeconds).toBe(86_400);
  });

  it('refuses more than 366 days', () => {
    expect(() => planCreatorReport({ from: '2025-01-01', to: '2026-06-01' }, NOW)).toThrow('at most 366 days');
  });
});
