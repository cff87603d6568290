import type { Logger } from 'pino';
import type { Bus, MessageBatch, Subscription } from '../../core/bus/bus.ts';
import { publishDeadLetters } from '../../core/dead-letters.ts';
import type { Metrics } from '../../core/metrics.ts';
import { TOPICS } from '../../core/topics.ts';
import { readAggregatesBatch } from './aggregates-batch.ts';
import {
  createTableStatement,
  latestPerKey,
  mergeStatement,
  VIEW_SUMMARIES,
  VIEWER_WINDOWS,
  type LoadedViewSummary,
  type LoadedWindowRow,
  type TableSpec,
} from './snowflake-statements.ts';
import { SnowflakeWarehouse, type SnowflakeSettings } from './snowflake-warehouse.ts';

/**
 * The Snowflake sink: a consumer group of its own over `analytics.aggregates` that loads the
 * finalized results only (final window rows and view summaries; early rows change until their
 * window closes and stay in ClickHouse). Each bus batch becomes a few MERGE statements (rows with
 * the same key keep their highest version first), and offsets are committed after they succeed;
 * a redelivered batch merges the same values again.
 */
export const SNOWFLAKE_SINK_GROUP = 'snowflake-sink';

/** Rows per MERGE: well under Snowflake's bind limits, few enough statements per batch. */
const ROWS_PER_STATEMENT = 200;

export interface SnowflakeSinkPorts {
  bus: Bus;
  metrics: Metrics;
  logger: Logger;
}

export class SnowflakeSink {
  private subscription: Subscription | null = null;
  private warehouse: SnowflakeWarehouse | null = null;
  private readonly rows;

  constructor(
    private readonly ports: SnowflakeSinkPorts,
    private readonly settings: SnowflakeSettings,
    private readonly groupId = SNOWFLAKE_SINK_GROUP,
  ) {
    this.rows = ports.metrics.counter(
      'sink_rows_written_total',
      'Rows written by a sink (before the store drops repeated tokens)',
      ['sink', 'table'],
    );
  }

  async start(): Promise<void> {
    this.warehouse = await SnowflakeWarehouse.connect(this.settings, this.ports.logger);
    await this.warehouse.execute(createTableStatement(VIEWER_WINDOWS));
    await this.warehouse.execute(createTableStatement(VIEW_SUMMARIES));
    this.subscription = await this.ports.bus.subscribe({
      groupId: this.groupId,
      topics: [TOPICS.analyticsAggregates],
      maxBatchMessages: 2_000,
      handleBatch: (batch) => this.load(batch),
      // Snowflake away (or its session lost) is no fault of the batch: nothing is quarantined meanwhile.
      dependencyCheck: async () => void (await this.warehouse!.execute('SELECT 1')),
    });
  }

  ready(): Promise<void> {
    return this.subscription?.ready() ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    await this.warehouse?.close();
  }

  private async load(batch: MessageBatch): Promise<void> {
    const { finals, invalid } = readAggregatesBatch(batch);
    if (invalid.length > 0) await publishDeadLetters(this.ports.bus, invalid);
    const windows: LoadedWindowRow[] = finals.flatMap((m) =>
      m.rows.map((row) => ({ row, sourcePartition: m.source_partition, version: m.version })),
    );
    const views: LoadedViewSummary[] = finals.flatMap((m) =>
      m.views.map((view) => ({ view, sourcePartition: m.source_partition, version: m.version })),
    );
    await this.merge(
      VIEWER_WINDOWS,
      latestPerKey(VIEWER_WINDOWS, windows, (r) => r.version),
    );
    await this.merge(
      VIEW_SUMMARIES,
      latestPerKey(VIEW_SUMMARIES, views, (r) => r.version),
    );
  }

  private async merge<Row>(table: TableSpec<Row>, rows: Row[]): Promise<void> {
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const { sqlText, binds } = mergeStatement(table, rows.slice(start, start + ROWS_PER_STATEMENT));
      await this.warehouse!.execute(sqlText, binds);
    }
    if (rows.length > 0) this.rows.inc({ sink: 'snowflake', table: table.name }, rows.length);
  }
}
