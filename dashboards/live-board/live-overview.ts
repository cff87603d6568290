import type { ApiIdentity } from '../../core/http/api-auth.ts';
import type { Logger } from '../../core/logger.ts';
import { decideStreamAccess } from '../../core/streams/stream-ownership.ts';
import type { LiveBoardStore } from './live-board-store.ts';
import type { LiveStreamView } from './live-stream-view.ts';

/** What the board receives every second: the busiest active streams the token may read. */
export interface LiveOverview {
  at: number;
  /** Active streams the token may read, including those beyond `streams`. */
  active_streams: number;
  total_viewers: number;
  streams: LiveStreamView[];
}

/** Streams the board draws at once; the overview keeps the busiest. */
export const MAX_BOARD_STREAMS = 24;

/** The registry's rule (core/streams/): admins read every stream, analysts registered ones, a creator its own. */
export function mayReadStream(identity: ApiIdentity, view: Pick<LiveStreamView, 'stream_id' | 'creator_id'>): boolean {
  return (
    decideStreamAccess(identity, view.stream_id, view.creator_id === null ? null : { creator_id: view.creator_id })
      .kind === 'allowed'
  );
}

export function overviewFor(
  identity: ApiIdentity,
  views: LiveStreamView[],
  at: number,
  maxStreams = MAX_BOARD_STREAMS,
): LiveOverview {
  const readable = views.filter((view) => mayReadStream(identity, view));
  const busiest = [...readable].sort(
    (a, b) =>
      b.viewers.current - a.viewers.current ||
      b.chat.last_60s - a.chat.last_60s ||
      (a.stream_id < b.stream_id ? -1 : 1),
  );
  return {
    at,
    active_streams: readable.length,
    total_viewers: readable.reduce((sum, view) => sum + view.viewers.current, 0),
    streams: busiest.slice(0, maxStreams),
  };
}

export type OverviewListener = (views: LiveStreamView[], at: number) => void;

/**
 * Reads every active stream's view once per interval, while anyone listens, and hands the same
 * snapshot to every open board: the cost is per process, not per browser.
 */
export class LiveOverviewFeed {
  private readonly listeners = new Set<OverviewListener>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(
    private readonly store: LiveBoardStore,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly intervalMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Current views of every active stream. */
  async read(): Promise<{ views: LiveStreamView[]; at: number }> {
    const at = this.now();
    const streamIds = await this.store.activeStreams(at);
    const views = await this.store.views(streamIds, at);
    return { views: views.filter((view): view is LiveStreamView => view !== null), at };
  }

  subscribe(listener: OverviewListener): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    // A slow read skips a beat rather than piling reads up.
    if (this.reading) return;
    this.reading = true;
    try {
      const { views, at } = await this.read();
      for (const listener of this.listeners) listener(views, at);
    } catch (error) {
      this.logger.warn({ err: error }, 'reading the live overview failed; retrying next tick');
    } finally {
      this.reading = false;
    }
  }
}
