import type { PartitionProgress } from './partition-analytics.ts';
import type { Sample, ViewState } from './view-state.ts';

/**
 * What to persist since the last call: every sample applied (the changelog), the views whose
 * header changed (created, folded, ended), views forgotten, row keys emitted, and the progress.
 * Persisted as one unit, before anything that follows from it is published.
 */
export interface PartitionChanges {
  progress: PartitionProgress;
  samples: Array<{ view: ViewState; sample: Sample }>;
  views: ViewState[];
  removedViews: string[];
  emittedKeys: Array<{ windowStart: number; key: string }>;
}

/**
 * What changed in one partition's state since the last checkpoint took it. It holds ids and
 * references, not copies: the views are read as they are when the changes are taken.
 */
export class PartitionChangeTracker {
  private readonly changedViews = new Set<string>();
  private readonly removedViews = new Set<string>();
  private samples: Array<{ view: ViewState; sample: Sample }> = [];
  private emittedKeys: Array<{ windowStart: number; key: string }> = [];
  private progressMoved = false;

  /** The view's header changed (created, ended, folded, evicted...): its header is written again. */
  viewChanged(viewId: string): void {
    this.changedViews.add(viewId);
  }

  /** The view was forgotten: its header goes away, and no change recorded for it before is written. */
  viewRemoved(viewId: string): void {
    this.changedViews.delete(viewId);
    this.removedViews.add(viewId);
  }

  sampleAdded(view: ViewState, sample: Sample): void {
    this.samples.push({ view, sample });
  }

  /** Row keys of one window published early for the first time, in publishing order. */
  keysEmitted(windowStart: number, keys: readonly string[]): void {
    for (const key of keys) this.emittedKeys.push({ windowStart, key });
  }

  progressChanged(): void {
    this.progressMoved = true;
  }

  hasChanges(): boolean {
    return (
      this.progressMoved ||
      this.samples.length > 0 ||
      this.changedViews.size > 0 ||
      this.removedViews.size > 0 ||
      this.emittedKeys.length > 0
    );
  }

  /** What changed, read from the partition's views and progress as they are now; clears the record. */
  take(views: ReadonlyMap<string, ViewState>, progress: PartitionProgress): PartitionChanges {
    const changes: PartitionChanges = {
      progress: { ...progress },
      // A sample cut at its view's end, or folded already, is in the header now.
      samples: this.samples.filter(({ view, sample }) => !view.ended && view.samples.includes(sample)),
      views: [...this.changedViews].map((id) => views.get(id)!),
      removedViews: [...this.removedViews],
      emittedKeys: this.emittedKeys,
    };
    this.changedViews.clear();
    this.removedViews.clear();
    this.samples = [];
    this.emittedKeys = [];
    this.progressMoved = false;
    return changes;
  }
}
