import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

/**
 * A query of the grafana-clickhouse-datasource plugin (SQL editor), which the foundation SDK
 * does not ship: a custom dataquery as its "custom query type" how-to defines one. `format` is
 * the plugin backend's result shape (sqlds: 0 time series, 1 table); `queryType` is what the
 * editor shows.
 */
export const CLICKHOUSE_PLUGIN_VERSION = '4.20.0';

export type ClickHouseResultFormat = 'time_series' | 'table';

const FORMAT_CODES: Record<ClickHouseResultFormat, number> = { time_series: 0, table: 1 };

export interface ClickHouseQuery {
  refId?: string;
  hide?: boolean;
  datasource?: DataSourceRef;
  pluginVersion: string;
  editorType: 'sql';
  queryType: 'timeseries' | 'table';
  format: number;
  rawSql: string;
  _implementsDataqueryVariant(): void;
}

export class ClickHouseQueryBuilder implements Builder<Dataquery> {
  private readonly internal: ClickHouseQuery;

  constructor(rawSql: string, format: ClickHouseResultFormat) {
    this.internal = {
      pluginVersion: CLICKHOUSE_PLUGIN_VERSION,
      editorType: 'sql',
      queryType: format === 'time_series' ? 'timeseries' : 'table',
      format: FORMAT_CODES[format],
      rawSql,
      _implementsDataqueryVariant() {},
    };
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  datasource(datasource: DataSourceRef): this {
    this.internal.datasource = datasource;
    return this;
  }

  build(): ClickHouseQuery {
    return this.internal;
  }
}
