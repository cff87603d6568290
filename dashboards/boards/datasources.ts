import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

/** The provisioned datasources (dashboards/grafana/provisioning/datasources/livepulse.yaml) by uid. */
export const CLICKHOUSE: DataSourceRef = { type: 'grafana-clickhouse-datasource', uid: 'livepulse-clickhouse' };
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: 'livepulse-prometheus' };
