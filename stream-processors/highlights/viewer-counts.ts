import type { AggregatesMessage } from '../viewer-analytics/aggregate-messages.ts';

/**
 * Concurrent viewers per stream, from the viewer-analytics processor's window rows on
 * `analytics.aggregates` (Mux's definition: paused and long-silent views excluded). Each
 * processor partition reports the views it owns, so a stream's count for a window is the sum
 * over source partitions of each one's latest version — exact, because every view lives in one
 * partition. Windows older than `retainMs` behind the newest are forgotten.
 */
interface PartitionCount {
  version: bigint;
  concurrent: number;
}

export class ViewerCounts {
  /** stream → window start → source partition → latest count. */
  private readonly streams = new Map<string, Map<number, Map<number, PartitionCount>>>();

  constructor(private readonly retainMs = 120_000) {}

  observe(message: AggregatesMessage): void {
    const version = BigInt(message.version);
    for (const row of message.rows) {
      if (row.dimension !== 'all') continue;
      let windows = this.streams.get(row.stream_id);
      if (!windows) {
        windows = new Map();
        this.streams.set(row.stream_id, windows);
      }
      let partitions = windows.get(row.window_start);
      if (!partitions) {
        partitions = new Map();
        windows.set(row.window_start, partitions);
      }
      const previous = partitions.get(message.source_partition);
      if (!previous || previous.version <= version) partitions.set(message.source_partition, { version, concurrent: row.concurrent_views });
      this.prune(windows);
    }
  }

  /** Viewers in the latest window that started at or before `atMs`, if any is known. */
  at(streamId: string, atMs: number): number | undefined {
    const windows = this.streams.get(streamId);
    if (!windows) return undefined;
    let best: number | undefined;
    for (const start of windows.keys()) if (start <= atMs && (best === undefined || start > best)) best = start;
    if (best === undefined) return undefined;
    let total = 0;
    for (const { concurrent } of windows.get(best)!.values()) total += concurrent;
    return total;
  }

  forget(streamId: string): void {
    this.streams.delete(streamId);
  }

  private prune(windows: Map<number, unknown>): void {
    const newest = Math.max(...windows.keys());
    for (const start of windows.keys()) if (start < newest - this.retainMs) windows.delete(start);
  }
}
