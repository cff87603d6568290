import type { BoardSpec, ClickHouseTarget, PanelSpec } from './board-model.ts';
import { creatorVariable, dimensionVariable, streamsVariable, VIEWER_SCOPE } from './scope-filters.ts';

/**
 * Quality of experience over ended views, from the minute rollup bucketed by view end (as Mux
 * buckets QoE). Every rate is a ratio of sums (qoe-formulas.ts): a long view weighs more than a
 * short one, and an empty denominator is no value, not zero. Aliases never reuse a column's
 * name: ClickHouse would resolve `sum(views)` to the alias.
 */
// A minute bucket counts when any of it is in the range: its start may precede the range's.
const ENDED = (dimension: string) => `FROM view_rollup_minute
WHERE bucket = 'end' AND dimension = ${dimension} AND minute >= toStartOfMinute($__fromTime) AND minute <= ($__toTime) AND ${VIEWER_SCOPE}`;

const STARTUP = (level: 1 | 2) =>
  `if(sum(views_with_startup) > 0, quantilesExactMerge(0.5, 0.95)(startup_times)[${level}], NULL)`;

/** The QoE columns of qoe-formulas.ts, over whatever the query groups by. */
const QOE_COLUMNS = `toUInt64(sum(views)) AS views_ended,
  100 * sum(rebuffer_ms) / nullIf(sum(watch_ms), 0) AS rebuffer_percentage,
  sum(rebuffer_count) / nullIf(sum(watch_ms) / 60000, 0) AS rebuffer_frequency_per_minute,
  ${STARTUP(1)} AS startup_time_p50_ms,
  ${STARTUP(2)} AS startup_time_p95_ms,
  100 * sum(playback_failures) / nullIf(sum(views), 0) AS playback_failure_percentage,
  100 * sum(startup_failures) / nullIf(sum(views), 0) AS video_startup_failure_percentage,
  100 * sum(exits_before_start) / nullIf(sum(views), 0) AS exits_before_video_start_percentage,
  100 * sum(business_exceptions) / nullIf(sum(views), 0) AS business_exception_percentage,
  100 * sum(upscale_weighted_ms) / nullIf(sum(playing_ms), 0) AS upscale_percentage`;

const QOE_COLUMN_KINDS = {
  views_ended: 'number',
  rebuffer_percentage: 'number',
  rebuffer_frequency_per_minute: 'number',
  startup_time_p50_ms: 'number',
  startup_time_p95_ms: 'number',
  playback_failure_percentage: 'number',
  video_startup_failure_percentage: 'number',
  exits_before_video_start_percentage: 'number',
  business_exception_percentage: 'number',
  upscale_percentage: 'number',
} as const;

export const qoeByDimensionValue: ClickHouseTarget = {
  source: 'clickhouse',
  format: 'table',
  sql: `SELECT dimension_value, ${QOE_COLUMNS}
${ENDED('${dimension:singlequote}')}
GROUP BY dimension_value ORDER BY views_ended DESC, dimension_value`,
  columns: { dimension_value: 'string', ...QOE_COLUMN_KINDS },
};

const overTime = (title: string, description: string, unit: string, columns: Record<string, string>): PanelSpec => ({
  title,
  description,
  kind: 'timeseries',
  unit,
  width: 12,
  height: 8,
  minInterval: '1m',
  targets: [
    {
      source: 'clickhouse',
      format: 'time_series',
      sql: `SELECT $__timeInterval(minute) AS time, ${Object.entries(columns)
        .map(([name, expression]) => `${expression} AS ${name}`)
        .join(', ')}
${ENDED("'all'")}
GROUP BY time ORDER BY time`,
      columns: { time: 'time', ...Object.fromEntries(Object.keys(columns).map((name) => [name, 'number' as const])) },
    },
  ],
});

export const qoe: BoardSpec = {
  uid: 'livepulse-qoe',
  file: 'qoe.json',
  title: 'Livepulse / Quality of experience',
  description:
    'Startup time, rebuffering, failures and exits over ended views (Mux definitions), in total, over time and by dimension.',
  tags: ['livepulse', 'qoe'],
  refresh: '1m',
  time: { from: 'now-6h', to: 'now' },
  variables: [creatorVariable, streamsVariable, dimensionVariable],
  annotations: [],
  rows: [
    {
      title: 'Totals',
      panels: [
        {
          title: 'Quality of experience',
          description: 'Over the views that ended in the time range.',
          kind: 'stat',
          width: 24,
          height: 5,
          reduce: 'lastNotNull',
          targets: [
            {
              source: 'clickhouse',
              format: 'table',
              sql: `SELECT ${QOE_COLUMNS}\n${ENDED("'all'")}`,
              columns: QOE_COLUMN_KINDS,
            },
          ],
        },
      ],
    },
    {
      title: 'Over time (by view end)',
      panels: [
        overTime('Rebuffering', 'Σ rebuffering ÷ Σ watch time of the views that ended in each interval.', 'percent', {
          rebuffer_percentage: '100 * sum(rebuffer_ms) / nullIf(sum(watch_ms), 0)',
        }),
        overTime('Startup time', 'Median and 95th percentile time to first frame (exact quantiles).', 'ms', {
          startup_time_p50_ms: STARTUP(1),
          startup_time_p95_ms: STARTUP(2),
        }),
        overTime(
          'Failures and exits',
          'Views that failed, failed before the first frame, or were left before it, as a share of views.',
          'percent',
          {
            playback_failure_percentage: '100 * sum(playback_failures) / nullIf(sum(views), 0)',
            video_startup_failure_percentage: '100 * sum(startup_failures) / nullIf(sum(views), 0)',
            exits_before_video_start_percentage: '100 * sum(exits_before_start) / nullIf(sum(views), 0)',
          },
        ),
        overTime('Views ended', 'Views that ended in each interval.', 'short', { views_ended: 'toUInt64(sum(views))' }),
      ],
    },
    {
      title: 'By $dimension',
      panels: [
        {
          title: 'Quality by $dimension',
          description: 'Every QoE figure per value of the chosen dimension (each view by its last reported value).',
          kind: 'table',
          width: 24,
          height: 10,
          targets: [qoeByDimensionValue],
        },
      ],
    },
  ],
};
