import type { ClickHouseResultFormat } from './clickhouse-query.ts';

/**
 * Boards as data: what each panel shows and queries, and what its rows must look like. The
 * renderer (render-board.ts) turns a BoardSpec into Grafana JSON with the foundation SDK; the
 * tests run every ClickHouse query of every spec, expanded as Grafana would, and check its
 * columns against `columns`.
 */

/** What Grafana needs of a result column: a time, a number (the value of a series or a stat), or a label. */
export type ColumnKind = 'time' | 'number' | 'string';

export interface ClickHouseTarget {
  source: 'clickhouse';
  sql: string;
  format: ClickHouseResultFormat;
  /** Every column the query returns, in order, with the kind Grafana expects of it. */
  columns: Record<string, ColumnKind>;
}

export interface PrometheusTarget {
  source: 'prometheus';
  expr: string;
  legend: string;
}

export type PanelTarget = ClickHouseTarget | PrometheusTarget;

export interface PanelSpec {
  title: string;
  description: string;
  kind: 'timeseries' | 'stat' | 'table';
  targets: PanelTarget[];
  unit?: string;
  /** Grid columns (of 24) and rows. */
  width: number;
  height: number;
  /** Lower bound of Grafana's interval: the finest grain the data has (10 s windows, minute or hour rollups). */
  minInterval?: string;
  /** Time series: stacked bars instead of lines. */
  stackedBars?: boolean;
  /** Stat: how a series becomes one number. */
  reduce?: 'lastNotNull' | 'max' | 'sum';
}

/** A table panel of one ClickHouse query's rows. */
export const clickHouseTable = (
  title: string,
  description: string,
  sql: string,
  columns: Record<string, ColumnKind>,
  width = 12,
): PanelSpec => ({
  title,
  description,
  kind: 'table',
  width,
  height: 9,
  targets: [{ source: 'clickhouse', format: 'table', sql, columns }],
});

/** A stat panel: one number (the latest value of `column`) from a ClickHouse query, as a table or over time. */
export const clickHouseStat = (
  title: string,
  description: string,
  sql: string,
  column: string,
  {
    unit = 'short',
    width = 6,
    format = 'table',
  }: { unit?: string; width?: number; format?: ClickHouseResultFormat } = {},
): PanelSpec => ({
  title,
  description,
  kind: 'stat',
  unit,
  width,
  height: 4,
  reduce: 'lastNotNull',
  targets: [
    {
      source: 'clickhouse',
      format,
      sql,
      columns: format === 'time_series' ? { time: 'time', [column]: 'number' } : { [column]: 'number' },
    },
  ],
});

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface VariableSpec {
  name: string;
  label: string;
  description: string;
  /** `query`: values from ClickHouse; `custom`: a fixed list. */
  kind: 'query' | 'custom';
  sql?: string;
  values?: string[];
  multi: boolean;
  includeAll: boolean;
}

export interface AnnotationSpec {
  name: string;
  color: string;
  /** Returns `time`, `timeEnd`, `text` and `tags`, as Grafana's annotation queries expect. */
  sql: string;
}

export interface BoardSpec {
  uid: string;
  /** File name under dashboards/grafana/dashboards/. */
  file: string;
  title: string;
  description: string;
  tags: string[];
  refresh: string;
  time: { from: string; to: string };
  variables: VariableSpec[];
  annotations: AnnotationSpec[];
  rows: RowSpec[];
}

export const ANNOTATION_COLUMNS: Record<string, ColumnKind> = {
  time: 'time',
  timeEnd: 'time',
  text: 'string',
  tags: 'string',
};

/** Every ClickHouse query of a board (panels, variables, annotations) with what it must return. */
export function clickHouseQueries(
  board: BoardSpec,
): Array<{ where: string; sql: string; columns: Record<string, ColumnKind> | null }> {
  const queries: Array<{ where: string; sql: string; columns: Record<string, ColumnKind> | null }> = [];
  for (const variable of board.variables)
    if (variable.kind === 'query')
      queries.push({ where: `${board.uid} variable ${variable.name}`, sql: variable.sql!, columns: null });
  for (const annotation of board.annotations)
    queries.push({
      where: `${board.uid} annotation ${annotation.name}`,
      sql: annotation.sql,
      columns: ANNOTATION_COLUMNS,
    });
  for (const row of board.rows) {
    for (const panel of row.panels) {
      panel.targets.forEach((target, i) => {
        if (target.source === 'clickhouse')
          queries.push({ where: `${board.uid} / ${panel.title} #${i + 1}`, sql: target.sql, columns: target.columns });
      });
    }
  }
  return queries;
}
