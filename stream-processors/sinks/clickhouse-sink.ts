import type { Logger } from 'pino';
import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { SerialQueue } from '../../core/serial-queue.ts';
import { batchDedupToken, insertRows } from '../../core/analytics-store/insert.ts';
import type { Bus, MessageBatch, Subscription } from '../../core/bus/bus.ts';
import { publishDeadLetters, type DeadLetter } from '../../core/dead-letters.ts';
import type { Metrics } from '../../core/metrics.ts';
import { readPlayerEventMessage } from '../../core/schemas/player-event-message.ts';
import { TOPICS } from '../../core/topics.ts';
import type { WindowFinalMessage } from '../../core/analytics/aggregate-messages.ts';
import { readAggregatesBatch } from './aggregates-batch.ts';
import {
  dateTime64,
  deadLetterRowForClickHouse,
  rawEventForClickHouse,
  watermarkRowForClickHouse,
  windowRowForClickHouse,
} from '../../core/analytics/clickhouse-rows.ts';
import { distinctFinalChunks, planFinalChunkInserts, writtenChunkKey, type FinalTable } from './final-chunk-inserts.ts';

/**
 * The ClickHouse sink: two consumer groups of its own, so it can lag or fail without holding up
 * the processor or the Snowflake sink.
 *
 * - `analytics.aggregates` → `viewer_windows` (latest value per key: early rows and finals, the
 *   highest version wins), `viewer_window_finals` and `view_summaries` (each final chunk written
 *   once: a batch's chunks go in one insert per table partition, leaving out the chunks the
 *   `viewer_final_chunks` ledger says are there, so a chunk re-emitted by a restarted processor or
 *   redelivered to a restarted sink is dropped, and the rollups never count it twice; see
 *   final-chunk-inserts.ts).
 *   `viewer_watermark` messages → `viewer_source_watermarks` (how far each source partition has
 *   got, written after the batch's rows), which the live-edge queries read.
 * - `player.events` → `player_events_raw`, for drill-down (insert token per bus batch).
 * - `dead-letters` → `dead_letters`, so operators can query what failed and why (30-day TTL;
 *   replays read the topic).
 *
 * Offsets are committed only after the inserts returned.
 */
export interface ClickHouseSinkPorts {
  bus: Bus;
  analytics: AnalyticsStore;
  metrics: Metrics;
  logger: Logger;
}

export const CLICKHOUSE_SINK_GROUPS = {
  aggregates: 'clickhouse-sink',
  rawEvents: 'clickhouse-sink.raw-events',
  deadLetters: 'clickhouse-sink.dead-letters',
} as const;

/** Chunk keys per ledger lookup: ~60 bytes each in the URL. */
const LEDGER_LOOKUP_PAGE = 100;

function sinkMetrics(metrics: Metrics) {
  return {
    rows: metrics.counter(
      'sink_rows_written_total',
      'Rows written by a sink (before the store drops repeated tokens)',
      ['sink', 'table'],
    ),
    invalid: metrics.counter('sink_invalid_messages_total', 'Messages a sink could not read (kept in dead-letters)', [
      'sink',
    ]),
    batchSeconds: metrics.histogram(
      'sink_batch_seconds',
      'Time to write one bus batch',
      ['sink'],
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
  };
}

export class ClickHouseSink {
  private readonly subscriptions: Subscription[] = [];
  private readonly meters: ReturnType<typeof sinkMetrics>;
  private readonly finalsInOrder = new SerialQueue();

  constructor(
    private readonly ports: ClickHouseSinkPorts,
    private readonly options: {
      groups?: Record<keyof typeof CLICKHOUSE_SINK_GROUPS, string>;
      consume?: Array<'aggregates' | 'raw-events' | 'dead-letters'>;
    } = {},
  ) {
    this.meters = sinkMetrics(ports.metrics);
  }

  async start(): Promise<void> {
    const groups = this.options.groups ?? CLICKHOUSE_SINK_GROUPS;
    const consume = this.options.consume ?? ['aggregates', 'raw-events', 'dead-letters'];
    // A failed insert while ClickHouse does not answer is its absence, not the batch's fault: nothing is quarantined.
    const dependencyCheck = () => this.ports.analytics.ping();
    if (consume.includes('aggregates')) {
      this.subscriptions.push(
        await this.ports.bus.subscribe({
          groupId: groups.aggregates,
          topics: [TOPICS.analyticsAggregates],
          maxInFlightBatches: 4,
          // A batch costs the same few inserts however many messages it carries, so the more the better,
          // up to what one insert parses well inside the consumer session (messages are ≤ 128 KiB).
          maxBatchMessages: 500,
          handleBatch: (batch) => this.timed('clickhouse', () => this.writeAggregates(batch)),
          dependencyCheck,
        }),
      );
    }
    if (consume.includes('raw-events')) {
      this.subscriptions.push(
        await this.ports.bus.subscribe({
          groupId: groups.rawEvents,
          topics: [TOPICS.playerEvents],
          maxInFlightBatches: 2,
          maxBatchMessages: 10_000,
          handleBatch: (batch) => this.timed('clickhouse-raw', () => this.writeRawEvents(batch)),
          dependencyCheck,
        }),
      );
    }
    if (consume.includes('dead-letters')) {
      this.subscriptions.push(
        await this.ports.bus.subscribe({
          groupId: groups.deadLetters,
          topics: [TOPICS.deadLetters],
          maxBatchMessages: 5_000,
          handleBatch: (batch) =>
            // Never dead-letter from here: a letter about a letter would loop.
            this.timed('clickhouse-dead-letters', () =>
              this.insert('dead_letters', batch.messages.map(deadLetterRowForClickHouse), batchDedupToken(batch)),
            ),
          dependencyCheck,
        }),
      );
    }
  }

  ready(): Promise<void> {
    return Promise.all(this.subscriptions.map((s) => s.ready())).then(() => undefined);
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.stop()));
  }

  private async timed(sink: string, write: () => Promise<void>): Promise<void> {
    const started = performance.now();
    await write();
    this.meters.batchSeconds.observe({ sink }, (performance.now() - started) / 1000);
  }

  private async writeAggregates(batch: MessageBatch): Promise<void> {
    const { early, finals, watermarks, invalid } = readAggregatesBatch(batch);
    await this.deadLetter('clickhouse', invalid);
    // The latest-value table needs no token of its own per chunk: a repeated row replaces itself.
    const latest = [...early, ...finals].flatMap((message) =>
      message.rows.map((row) =>
        // Object.assign rather than `{...row, more}`, a literal V8 builds and serialises slowly.
        Object.assign(windowRowForClickHouse(row, message.source_partition, message.version), {
          is_final: message.type === 'viewer_window_final' ? 1 : 0,
          emitted_at: dateTime64(message.emitted_at),
        }),
      ),
    );
    // Compact: every row comes from one literal (see insertRows), and chDB parses it faster.
    await this.insert('viewer_windows', latest, batchDedupToken(batch), true);
    // One batch at a time from lookup to insert: batches of two partitions carrying the same chunk
    // (a hand replay under another key, a repartitioned topic) cannot both find it missing.
    await this.finalsInOrder.run(async () => {
      const written = await this.writtenFinalChunks(finals);
      for (const insert of planFinalChunkInserts(finals, written)) {
        // Final rows come from one literal; view summaries copy the message's fields, in its order.
        await this.insert(insert.table, insert.rows, insert.dedupToken, insert.table === 'viewer_window_finals');
      }
    });
    // After the rows: a query that sees how far a source got finds its rows up to there (live-edge.ts).
    await this.insert('viewer_source_watermarks', watermarks.map(watermarkRowForClickHouse), batchDedupToken(batch));
  }

  /** Which of the finals' chunks each table partition holds already ({@link writtenChunkKey}). */
  private async writtenFinalChunks(finals: readonly WindowFinalMessage[]): Promise<Set<string>> {
    const written = new Set<string>();
    const chunks = [...distinctFinalChunks(finals).keys()];
    // Parameters travel in the URL, which HTTP servers bound (16 KiB in Node's): a page of keys at a time.
    for (let start = 0; start < chunks.length; start += LEDGER_LOOKUP_PAGE) {
      const result = await this.ports.analytics.client.query({
        query:
          'SELECT DISTINCT final_chunk, target, part FROM viewer_final_chunks WHERE final_chunk IN {chunks:Array(String)}',
        query_params: { chunks: chunks.slice(start, start + LEDGER_LOOKUP_PAGE) },
        format: 'JSONEachRow',
      });
      for (const row of await result.json<{ final_chunk: string; target: FinalTable; part: number }>())
        written.add(writtenChunkKey(row.target, Number(row.part), row.final_chunk));
    }
    return written;
  }

  private async writeRawEvents(batch: MessageBatch): Promise<void> {
    const rows: Array<ReturnType<typeof rawEventForClickHouse>> = [];
    let invalid = 0;
    for (const message of batch.messages) {
      // The processor dead-letters invalid player events already; the raw table leaves them out.
      const { event } = readPlayerEventMessage(message);
      if (event) rows.push(rawEventForClickHouse(event, message.partition, message.offset));
      else invalid += 1;
    }
    if (invalid > 0) this.meters.invalid.inc({ sink: 'clickhouse-raw' }, invalid);
    // Compact: the raw table is the widest and most written one, and every row comes from one literal.
    await this.insert('player_events_raw', rows, batchDedupToken(batch), true);
  }

  private async insert(
    table: string,
    rows: Array<Record<string, unknown>>,
    dedupToken: string,
    compact = false,
  ): Promise<void> {
    if (rows.length === 0) return;
    await insertRows(this.ports.analytics, { table, rows, dedupToken, compact });
    this.meters.rows.inc({ sink: 'clickhouse', table }, rows.length);
  }

  private async deadLetter(sink: string, letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    this.meters.invalid.inc({ sink }, letters.length);
    await publishDeadLetters(this.ports.bus, letters);
  }
}
