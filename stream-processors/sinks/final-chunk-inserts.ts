import { createHash } from 'node:crypto';
import { finalChunkToken, type WindowFinalMessage } from '../../core/analytics/aggregate-messages.ts';
import { viewSummaryForClickHouse, windowRowForClickHouse } from '../../core/analytics/clickhouse-rows.ts';

/**
 * The final chunks of one bus batch as one insert per table and table partition, instead of two
 * inserts per chunk. Each chunk must still count once however often it arrives (a processor that
 * crashed re-emits the chunks it had published, at new offsets, in other batches), and one insert
 * has one deduplication token, so the chunk's idempotency key travels with its rows
 * (`final_chunk`) and a ledger fed by materialized views (`viewer_final_chunks`, migration 0058)
 * says which chunks each table partition already holds; those are left out before inserting.
 *
 * One insert per table partition (month) keeps each insert a single part, so a chunk's rows in a
 * partition are either all there (and in the ledger) or not at all. The token names the chunks
 * the insert carries, which fix its rows and their order: a retry of the same batch, or of a batch
 * cut differently around the same chunks, repeats it byte for byte and ClickHouse drops it.
 */
export const FINAL_TABLES = ['viewer_window_finals', 'view_summaries'] as const;
export type FinalTable = (typeof FINAL_TABLES)[number];

export interface FinalChunkInsert {
  table: FinalTable;
  /** The table partition (toYYYYMM of the partition key) every row falls in. */
  part: number;
  /** Idempotency keys of the chunks whose rows this carries, in order. */
  chunks: string[];
  rows: Array<Record<string, unknown>>;
  dedupToken: string;
}

/** The ledger's key for one chunk's rows in one table partition. */
export function writtenChunkKey(table: FinalTable, part: number, finalChunk: string): string {
  return `${table}/${part}/${finalChunk}`;
}

/** ClickHouse's toYYYYMM of a UTC time. */
export function yearMonth(ms: number): number {
  const date = new Date(ms);
  return date.getUTCFullYear() * 100 + date.getUTCMonth() + 1;
}

/** The distinct chunk keys of the finals, sorted: the order rows are inserted in. */
export function distinctFinalChunks(finals: readonly WindowFinalMessage[]): Map<string, WindowFinalMessage> {
  const byChunk = new Map<string, WindowFinalMessage>();
  // The same key always names the same chunk (aggregate-messages.ts): a repeat adds nothing.
  for (const message of finals) {
    const key = finalChunkToken(message);
    if (!byChunk.has(key)) byChunk.set(key, message);
  }
  return new Map([...byChunk].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The inserts that put every chunk not yet `written` (keys of {@link writtenChunkKey}) into both tables, ordered by table and partition. */
export function planFinalChunkInserts(
  finals: readonly WindowFinalMessage[],
  written: ReadonlySet<string>,
): FinalChunkInsert[] {
  const inserts = new Map<string, Omit<FinalChunkInsert, 'dedupToken'>>();
  const add = (table: FinalTable, part: number, chunk: string, row: Record<string, unknown>) => {
    if (written.has(writtenChunkKey(table, part, chunk))) return;
    const id = `${FINAL_TABLES.indexOf(table)}/${part}`;
    let insert = inserts.get(id);
    if (!insert) inserts.set(id, (insert = { table, part, chunks: [], rows: [] }));
    if (insert.chunks[insert.chunks.length - 1] !== chunk) insert.chunks.push(chunk);
    insert.rows.push(row);
  };
  for (const [chunk, message] of distinctFinalChunks(finals)) {
    for (const row of message.rows) {
      add(
        'viewer_window_finals',
        yearMonth(row.window_start),
        chunk,
        Object.assign(windowRowForClickHouse(row, message.source_partition, message.version), { final_chunk: chunk }),
      );
    }
    for (const view of message.views) {
      add(
        'view_summaries',
        yearMonth(view.ended_at),
        chunk,
        Object.assign(viewSummaryForClickHouse(view, message.source_partition, message.version), {
          final_chunk: chunk,
        }),
      );
    }
  }
  return [...inserts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, insert]) => ({ ...insert, dedupToken: finalChunksToken(insert.table, insert.part, insert.chunks) }));
}

function finalChunksToken(table: FinalTable, part: number, chunks: readonly string[]): string {
  return `viewer-finals:${table}:${part}:${createHash('sha256').update(chunks.join('\n')).digest('hex')}`;
}
