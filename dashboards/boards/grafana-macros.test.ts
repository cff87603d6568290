import { describe, expect, it } from 'vitest';
import {
  applyConditionalAll,
  expandGrafanaQuery,
  expandMacros,
  MacroError,
  macroCalls,
  replaceVariables,
  swallowingCalls,
  type GrafanaQueryContext,
  type VariableState,
} from './grafana-macros.ts';

// 2024-01-02T03:04:05.678Z .. 2024-01-02T04:04:05.999Z
const FROM = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const TO = Date.UTC(2024, 0, 2, 4, 4, 5, 999);
const context = (intervalMs: number, variables: Record<string, VariableState> = {}): GrafanaQueryContext => ({
  fromMs: FROM,
  toMs: TO,
  intervalMs,
  variables,
});

describe('the plugin backend macros (pkg/macros, sqlutil)', () => {
  it.each([
    [
      '$__timeFilter(window_start)',
      'window_start >= toDateTime(1704164645) AND window_start <= toDateTime(1704168245)',
    ],
    [
      '$__timeFilter_ms(sent_at)',
      'sent_at >= fromUnixTimestamp64Milli(1704164645678) AND sent_at <= fromUnixTimestamp64Milli(1704168245999)',
    ],
    ['$__dateFilter(day)', "day >= toDate('2024-01-02') AND day <= toDate('2024-01-02')"],
    [
      '$__dateTimeFilter(day, t)',
      "(day >= toDate('2024-01-02') AND day <= toDate('2024-01-02')) AND (t >= toDateTime(1704164645) AND t <= toDateTime(1704168245))",
    ],
    [
      '$__dt(day,t)',
      "(day >= toDate('2024-01-02') AND day <= toDate('2024-01-02')) AND (t >= toDateTime(1704164645) AND t <= toDateTime(1704168245))",
    ],
    ['($__fromTime)', '(toDateTime(1704164645))'],
    ['($__toTime)', '(toDateTime(1704168245))'],
    ['($__fromTime_ms)', '(fromUnixTimestamp64Milli(1704164645678))'],
    ['($__toTime_ms)', '(fromUnixTimestamp64Milli(1704168245999))'],
    ['$__timeInterval(minute)', 'toStartOfInterval(toDateTime(minute), INTERVAL 30 second)'],
    ['$__timeInterval_ms(sent_at)', 'toStartOfInterval(toDateTime64(sent_at, 3), INTERVAL 30000 millisecond)'],
    ['count() / ($__interval_s)', 'count() / (30)'],
    ['$__timeFrom(t)', "t >= '2024-01-02T03:04:05Z'"],
    ['$__timeTo(t)', "t <= '2024-01-02T04:04:05Z'"],
    // Arguments keep inner parentheses; one call replaces every identical occurrence.
    [
      '$__timeInterval(toDateTime(x)) = $__timeInterval(toDateTime(x))',
      'toStartOfInterval(toDateTime(toDateTime(x)), INTERVAL 30 second) = toStartOfInterval(toDateTime(toDateTime(x)), INTERVAL 30 second)',
    ],
  ])('%s', (sql, expected) => {
    expect(expandMacros(sql, context(30_000))).toBe(expected);
  });

  it.each([
    [500, 'INTERVAL 1 second', '(1)'],
    [1_000, 'INTERVAL 1 second', '(1)'],
    [10_500, 'INTERVAL 10 second', '(10)'],
    [3_600_000, 'INTERVAL 3600 second', '(3600)'],
  ])('an interval of %i ms is whole seconds, at least one', (intervalMs, interval, seconds) => {
    expect(expandMacros('$__timeInterval(t)', context(intervalMs))).toContain(interval);
    expect(expandMacros('($__interval_s)', context(intervalMs))).toBe(seconds);
  });

  it('takes everything up to a later parenthesis as the arguments of an argument-less macro, as the plugin does', () => {
    const sql = 'WHERE t >= $__fromTime AND f(x) = 1';
    expect(expandMacros(sql, context(1_000))).toBe('WHERE t >= toDateTime(1704164645) = 1');
    expect(swallowingCalls(sql)).toEqual([{ name: 'fromTime', text: '$__fromTime AND f(x)', args: 'x' }]);
    expect(swallowingCalls('WHERE t >= ($__fromTime) AND f(x)')).toEqual([]);
  });

  it('does not take a longer macro name for a shorter one', () => {
    expect(
      macroCalls('$__timeFilter_ms(a) AND ($__toTime_ms)')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['timeFilter_ms', 'toTime_ms']);
  });

  it.each([
    ['$__timeFilter(a, b)', /timeFilter: unexpected number of arguments: expected 1 argument, received 2/],
    ['$__dt(a)', /dt: unexpected number of arguments: expected 2 arguments, received 1/],
    ['$__timeInterval(a', /unbalanced parentheses/],
  ])('refuses %s', (sql, message) => {
    expect(() => expandMacros(sql, context(1_000))).toThrow(MacroError);
    expect(() => expandMacros(sql, context(1_000))).toThrow(message);
  });
});

describe('the browser side: $__conditionalAll and template variables', () => {
  const streams: VariableState = { current: ['s1', 's2'], options: ['s1', 's2', 's3'], multi: true };
  const allStreams: VariableState = { current: 'all', options: ['s1', "o'brien"], multi: true };
  const dimension: VariableState = { current: ['device'], options: ['device', 'os'], multi: false };

  it.each([
    [
      'All selected: the condition becomes 1=1',
      '$__conditionalAll(stream_id IN (${stream:singlequote}), $stream)',
      { stream: allStreams },
      '1=1',
    ],
    [
      'values selected: the condition stays',
      '$__conditionalAll(stream_id IN (${stream:singlequote}), $stream)',
      { stream: streams },
      'stream_id IN (${stream:singlequote})',
    ],
    ['${var} form of the variable', '$__conditionalAll(a IN (f(x), g(y)), ${stream})', { stream: allStreams }, '1=1'],
    [
      'nothing selected counts as All',
      '$__conditionalAll(c, $stream)',
      { stream: { current: [], options: ['a'], multi: true } },
      '1=1',
    ],
    ['an unknown variable keeps the condition', '$__conditionalAll(c, $nope)', {}, 'c'],
    [
      'several calls, innermost text preserved',
      'WHERE $__conditionalAll(a IN (1), $stream) AND $__conditionalAll(b = 2, $dimension)',
      { stream: allStreams, dimension },
      'WHERE 1=1 AND b = 2',
    ],
  ])('%s', (_what, sql, variables, expected) => {
    expect(applyConditionalAll(sql, variables as Record<string, VariableState>)).toBe(expected);
  });

  it.each([
    ['the datasource formatter quotes lists', 'IN (${stream})', { stream: streams }, "IN ('s1','s2')"],
    ['and leaves a single value as it is', "= '$dimension'", { dimension }, "= 'device'"],
    ['singlequote escapes quotes', 'IN (${stream:singlequote})', { stream: allStreams }, "IN ('s1','o\\'brien')"],
    ['singlequote on a single value', '= ${dimension:singlequote}', { dimension }, "= 'device'"],
    ['csv', '${stream:csv}', { stream: streams }, 's1,s2'],
    ['[[var]] syntax', '[[dimension]]', { dimension }, 'device'],
    [
      'macros and unknown names are left for the backend',
      '$__timeFilter(t) AND $unknown',
      { stream: streams },
      '$__timeFilter(t) AND $unknown',
    ],
  ])('%s', (_what, sql, variables, expected) => {
    expect(replaceVariables(sql, variables as Record<string, VariableState>)).toBe(expected);
  });

  it('refuses a format it does not implement', () => {
    expect(() => replaceVariables('${stream:json}', { stream: streams })).toThrow(/format json/);
  });

  it('expands a whole panel query in the order Grafana does', () => {
    const sql =
      'SELECT $__timeInterval(window_start) AS time, count() / ($__interval_s) AS n FROM t WHERE $__timeFilter(window_start) AND $__conditionalAll(stream_id IN (${stream:singlequote}), $stream) AND dimension = ${dimension:singlequote} GROUP BY time';
    expect(expandGrafanaQuery(sql, context(60_000, { stream: streams, dimension }))).toBe(
      "SELECT toStartOfInterval(toDateTime(window_start), INTERVAL 60 second) AS time, count() / (60) AS n FROM t WHERE window_start >= toDateTime(1704164645) AND window_start <= toDateTime(1704168245) AND stream_id IN ('s1','s2') AND dimension = 'device' GROUP BY time",
    );
    expect(expandGrafanaQuery(sql, context(60_000, { stream: allStreams, dimension }))).toContain('AND 1=1 AND');
  });
});
