import type { ServiceDefinition } from '../../core/platform.ts';
import { ClickHouseSink } from './clickhouse-sink.ts';
import { SnowflakeSink } from './snowflake-sink.ts';

// The sinks' two services, as app/services.ts registers them. The Snowflake driver is loaded
// only when its sink starts with a warehouse configured.
/** `livepulse start clickhouse-sink`. */
export const clickHouseSinkService: ServiceDefinition = {
  name: 'clickhouse-sink',
  description:
    'analytics.aggregates → window rows, view summaries and rollups; player.events → raw events; dead-letters → dead_letters (ClickHouse)',
  async start({ bus, analytics, metrics, logger }) {
    const sink = new ClickHouseSink({ bus, analytics, metrics, logger });
    await sink.start();
    return { stop: () => sink.stop() };
  },
};

/** `livepulse start snowflake-sink`: idle (and says so) unless SNOWFLAKE_* configure a warehouse. */
export const snowflakeSinkService: ServiceDefinition = {
  name: 'snowflake-sink',
  description: 'finalized analytics.aggregates → Snowflake (MERGE on window keys), when a warehouse is configured',
  async start({ config, bus, metrics, logger }) {
    if (config.warehouse.kind === 'off') {
      logger.info(
        'no Snowflake warehouse configured (SNOWFLAKE_ACCOUNT, SNOWFLAKE_USERNAME, SNOWFLAKE_PASSWORD); the Snowflake sink stays idle',
      );
      return { stop: () => Promise.resolve() };
    }
    const sink = new SnowflakeSink({ bus, metrics, logger }, config.warehouse);
    await sink.start();
    return { stop: () => sink.stop() };
  },
};
