import type { AggregatesMessage } from '../../core/analytics/aggregate-messages.ts';
import { liveEdgeAt } from '../../core/analytics/live-edge.ts';

/**
 * Concurrent viewers per stream, from the viewer-analytics processor's window rows on
 * `analytics.aggregates` (Mux's definition: paused and long-silent views excluded). Each
 * processor partition reports the views it owns, so a stream's count for a window is the sum
 * over source partitions of each one's latest version — exact, because every view lives in one
 * partition. A partition that has not reached the window yet (its `viewer_watermark` says how far
 * it has got) counts with its newest figure, not as empty (live-edge.ts). Windows older than
 * `retainMs` behind the newest are forgotten.
 */
interface PartitionCount {
  version: bigint;
  concurrent: number;
}

export class ViewerCounts {
  /** stream → source partition → window start → latest count. */
  private readonly streams = new Map<string, Map<string, Map<number, PartitionCount>>>();
  /** source partition → start of the window its watermark is in. */
  private readonly reached = new Map<string, { version: bigint; windowStart: number }>();

  constructor(private readonly retainMs = 120_000) {}

  observe(message: AggregatesMessage): void {
    const version = BigInt(message.version);
    const source = `${message.group}:${message.source_partition}`;
    if (message.type === 'viewer_watermark') {
      const previous = this.reached.get(source);
      if (!previous || previous.version <= version)
        this.reached.set(source, { version, windowStart: message.watermark_window_start });
      return;
    }
    for (const row of message.rows) {
      if (row.dimension !== 'all') continue;
      let sources = this.streams.get(row.stream_id);
      if (!sources) {
        sources = new Map();
        this.streams.set(row.stream_id, sources);
      }
      let windows = sources.get(source);
      if (!windows) {
        windows = new Map();
        sources.set(source, windows);
      }
      const previous = windows.get(row.window_start);
      if (!previous || previous.version <= version)
        windows.set(row.window_start, { version, concurrent: row.concurrent_views });
      this.prune(sources);
    }
  }

  /** Viewers in the latest window that started at or before `atMs`, if any is known. */
  at(streamId: string, atMs: number): number | undefined {
    const sources = this.streams.get(streamId);
    if (!sources) return undefined;
    const edge = liveEdgeAt(
      [...sources].map(([source, windows]) => ({
        windows: [...windows].map(([start, { concurrent }]) => [start, concurrent] as const),
        reached: this.reached.get(source)?.windowStart,
      })),
      atMs,
    );
    return edge?.[1];
  }

  forget(streamId: string): void {
    this.streams.delete(streamId);
  }

  private prune(sources: Map<string, Map<number, unknown>>): void {
    let newest = -Infinity;
    for (const windows of sources.values()) for (const start of windows.keys()) newest = Math.max(newest, start);
    for (const windows of sources.values())
      for (const start of windows.keys()) if (start < newest - this.retainMs) windows.delete(start);
  }
}
