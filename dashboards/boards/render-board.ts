import {
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  GraphDrawStyle,
} from '@grafana/grafana-foundation-sdk/common';
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import {
  AnnotationQueryBuilder,
  CustomVariableBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as PrometheusQueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeSeriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import type { BoardSpec, PanelSpec, PanelTarget, VariableSpec } from './board-model.ts';
import { ClickHouseQueryBuilder } from './clickhouse-query.ts';
import { CLICKHOUSE, PROMETHEUS } from './datasources.ts';

/** A BoardSpec as Grafana dashboard JSON, built with @grafana/grafana-foundation-sdk. */
export function renderBoard(board: BoardSpec): Dashboard {
  const dashboard = new DashboardBuilder(board.title)
    .uid(board.uid)
    .description(board.description)
    .tags(board.tags)
    .refresh(board.refresh)
    .time(board.time)
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly();
  for (const variable of board.variables) dashboard.withVariable(variableBuilder(variable));
  for (const annotation of board.annotations) {
    dashboard.annotation(
      new AnnotationQueryBuilder()
        .name(annotation.name)
        .datasource(CLICKHOUSE)
        .enable(true)
        .iconColor(annotation.color)
        .target(new ClickHouseQueryBuilder(annotation.sql, 'table').refId('Annotations').datasource(CLICKHOUSE)),
    );
  }
  let id = 1;
  for (const row of board.rows) {
    dashboard.withRow(new RowBuilder(row.title).id(id++));
    for (const panel of row.panels) dashboard.withPanel(panelBuilder(panel, id++));
  }
  return dashboard.build();
}

function variableBuilder(
  variable: VariableSpec,
): Builder<import('@grafana/grafana-foundation-sdk/dashboard').VariableModel> {
  if (variable.kind === 'custom') {
    const first = variable.values![0]!;
    return new CustomVariableBuilder(variable.name)
      .label(variable.label)
      .description(variable.description)
      .values(variable.values!.join(','))
      .current({ text: first, value: first })
      .multi(variable.multi)
      .includeAll(variable.includeAll)
      .allowCustomValue(false);
  }
  const builder = new QueryVariableBuilder(variable.name)
    .label(variable.label)
    .description(variable.description)
    .datasource(CLICKHOUSE)
    .query(variable.sql!)
    .definition(variable.sql!)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(variable.multi)
    .includeAll(variable.includeAll)
    .allowCustomValue(false);
  if (variable.includeAll) builder.current({ text: 'All', value: '$__all' });
  return builder;
}

function targetBuilder(target: PanelTarget, refId: string): Builder<Dataquery> {
  if (target.source === 'clickhouse')
    return new ClickHouseQueryBuilder(target.sql, target.format).refId(refId).datasource(CLICKHOUSE);
  return new PrometheusQueryBuilder()
    .refId(refId)
    .datasource(PROMETHEUS)
    .expr(target.expr)
    .legendFormat(target.legend)
    .range();
}

function panelBuilder(
  panel: PanelSpec,
  id: number,
): Builder<import('@grafana/grafana-foundation-sdk/dashboard').Panel> {
  const datasource = panel.targets.every((t) => t.source === 'prometheus') ? PROMETHEUS : CLICKHOUSE;
  const common = <B extends TimeSeriesPanelBuilder | StatPanelBuilder | TablePanelBuilder>(builder: B): B => {
    builder
      .id(id)
      .title(panel.title)
      .description(panel.description)
      .datasource(datasource)
      .span(panel.width)
      .height(panel.height);
    if (panel.unit) builder.unit(panel.unit);
    if (panel.minInterval) builder.interval(panel.minInterval);
    panel.targets.forEach((target, i) => builder.withTarget(targetBuilder(target, String.fromCharCode(65 + i))));
    return builder;
  };
  switch (panel.kind) {
    case 'timeseries': {
      const builder = common(new TimeSeriesPanelBuilder()).fillOpacity(10).spanNulls(false);
      if (panel.stackedBars)
        builder
          .drawStyle(GraphDrawStyle.Bars)
          .fillOpacity(80)
          .stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
      return builder;
    }
    case 'stat':
      return common(new StatPanelBuilder()).reduceOptions(
        new ReduceDataOptionsBuilder().calcs([panel.reduce ?? 'lastNotNull']),
      );
    case 'table':
      return common(new TablePanelBuilder());
  }
}
