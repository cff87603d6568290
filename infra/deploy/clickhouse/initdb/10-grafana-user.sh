#!/bin/bash
# Grafana's ClickHouse user: read-only on the livepulse database, but allowed to change settings
# such as max_execution_time (readonly = 2), as the Grafana ClickHouse plugin needs.
# Run once by the clickhouse-server image's entrypoint, on an empty data directory.
set -euo pipefail
: "${CLICKHOUSE_GRAFANA_PASSWORD:?CLICKHOUSE_GRAFANA_PASSWORD is not set}"
# Escape for a single-quoted SQL string literal: backslashes first, then quotes.
password="${CLICKHOUSE_GRAFANA_PASSWORD//\\/\\\\}"
password="${password//\'/\\\'}"
clickhouse client --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --multiquery <<SQL
CREATE USER IF NOT EXISTS grafana IDENTIFIED WITH sha256_password BY '${password}' SETTINGS readonly = 2;
GRANT SELECT ON livepulse.* TO grafana;
SQL
