// The sinks' two services, `clickhouse-sink` and `snowflake-sink`, as app/services.ts registers them.
// Each definition stays beside its sink class (clickhouse-sink.ts, snowflake-sink.ts); the
// Snowflake driver is loaded only when its sink starts with a warehouse configured.
export { clickHouseSinkService } from './clickhouse-sink.ts';
export { snowflakeSinkService } from './snowflake-sink.ts';
