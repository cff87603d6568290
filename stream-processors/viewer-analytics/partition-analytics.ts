import type { AnalyticsSettings } from '../../core/config.ts';
import type { EnrichedPlayerEvent } from '../../core/schemas/player-event.ts';
import type { ViewSummary, WindowRow } from '../../core/analytics/aggregate-messages.ts';
import {
  applyEvent,
  endCandidate,
  endView,
  foldSamplesUpTo,
  forgetSamples,
  latestEventTime,
  newView,
  summarizeView,
  type ApplyOutcome,
  type Sample,
  type ViewState,
} from './view-state.ts';
import { OpenWindows } from './open-windows.ts';
import { PartitionChangeTracker, type PartitionChanges } from './partition-changes.ts';
import { compareRowKeys, emptyRow, keyOfRowKey, rowKey, rowOf, windowRows, windowStartOf } from './window-rows.ts';

/**
 * Viewer analytics for one partition of `player.events`: the deterministic core the processor
 * drives. It holds the partition's views, its watermark and the next window to close, and turns
 * events into window rows and view summaries. No I/O and no clock: the same events in the same
 * offset order (with the same idle advances) always give the same output, which is what lets a
 * restarted processor re-emit exactly what it emitted before it crashed.
 *
 * Watermark: the highest `received_at` (collector time) seen, so lateness is judged against how
 * far the log has got, not against the wall clock: a processor catching up on a backlog finds
 * nothing late. An event whose `event_time` is more than the allowed lateness behind the
 * watermark goes to the side output. A window closes (final result) when the watermark passes its
 * end plus the allowed lateness; a view ends for good when the watermark passes its end plus the
 * allowed lateness.
 */
export interface IncomingEvent {
  offset: string;
  event: EnrichedPlayerEvent;
  payload: Buffer;
}

export interface PartitionProgress {
  /** Last applied offset, or null before the first event. */
  lastOffset: string | null;
  watermark: number | null;
  nextWindowToClose: number | null;
  /** Samples timed at or before this were folded into their views' baselines. */
  foldedThrough: number | null;
  /** Idle advances of the watermark since the last applied offset (part of the output version). */
  idleTicks: number;
}

export type SideOutputReason = 'late' | 'after_view_end' | 'view_identity_mismatch';

export interface SideOutput {
  reason: SideOutputReason;
  detail: string;
  viewId: string;
  /** The original message when there is one; events cut from a view at its end are described by their sample. */
  payload: Buffer;
  offset?: string;
}

export interface ClosedWindow {
  windowStart: number;
  /** The final rows of the window (each non-empty). */
  rows: WindowRow[];
  /** Zero rows for keys emitted early whose contributions all went away, so early values are replaced. */
  retractions: WindowRow[];
  /** Views that ended in this window, by view id. */
  views: ViewSummary[];
}

export interface ApplyReport {
  outcomes: Record<ApplyOutcome | 'late' | 'already_applied', number>;
  sideOutputs: SideOutput[];
  evicted: number;
}

/** Output versions: later offsets win; at one offset, later idle advances win; a final beats an early row. */
const IDLE_TICK_BITS = 20n;
const MAX_IDLE_TICKS = (1 << Number(IDLE_TICK_BITS)) - 1;

export class PartitionAnalytics {
  readonly views = new Map<string, ViewState>();
  progress: PartitionProgress = {
    lastOffset: null,
    watermark: null,
    nextWindowToClose: null,
    foldedThrough: null,
    idleTicks: 0,
  };
  /** Row keys published for each open window; a key whose row empties out gets a zero row. */
  readonly emittedKeys = new Map<number, Set<string>>();

  /** What changed since the last checkpoint took the changes. */
  private readonly changes = new PartitionChangeTracker();
  /** Early rows as running totals; every change to a view's samples, end or fold is reported to it. */
  private readonly openWindows: OpenWindows;

  constructor(
    readonly partition: number,
    readonly settings: AnalyticsSettings,
  ) {
    this.openWindows = new OpenWindows(settings);
  }

  static restore(
    partition: number,
    settings: AnalyticsSettings,
    saved: {
      progress: PartitionProgress;
      views: ViewState[];
      emittedKeys: Array<{ windowStart: number; key: string }>;
    },
  ): PartitionAnalytics {
    const analytics = new PartitionAnalytics(partition, settings);
    analytics.progress = { ...saved.progress };
    // Least recently updated first, as the capacity limit expects.
    const byLastEvent = [...saved.views].sort((a, b) => latestEventTime(a) - latestEventTime(b));
    for (const view of byLastEvent) analytics.views.set(view.viewId, view);
    const next = saved.progress.nextWindowToClose ?? -Infinity;
    for (const { windowStart, key } of saved.emittedKeys) {
      if (windowStart >= next) analytics.keysOf(windowStart).add(key);
    }
    return analytics;
  }

  /** Applies events in offset order; offsets at or below the last applied one were applied before a crash and are skipped. */
  apply(events: IncomingEvent[]): ApplyReport {
    const report: ApplyReport = {
      outcomes: {
        applied: 0,
        retimed: 0,
        duplicate: 0,
        after_view_end: 0,
        view_identity_mismatch: 0,
        late: 0,
        already_applied: 0,
      },
      sideOutputs: [],
      evicted: 0,
    };
    const { allowedLatenessMs } = this.settings;
    // Offsets are int64 strings; below 2^53 (years of traffic per partition) they compare exactly as numbers.
    let lastApplied = this.progress.lastOffset === null ? -1 : Number(this.progress.lastOffset);
    for (const incoming of events) {
      const { offset, event } = incoming;
      const position = Number(offset);
      if (position <= lastApplied) {
        report.outcomes.already_applied += 1;
        continue;
      }
      // The event's own arrival counts: one that reached the collector more than the lateness after it happened is late too.
      const watermark = Math.max(this.progress.watermark ?? event.received_at, event.received_at);
      if (event.event_time < watermark - allowedLatenessMs) {
        report.outcomes.late += 1;
        report.sideOutputs.push({
          reason: 'late',
          detail: `event_time ${new Date(event.event_time).toISOString()} is ${watermark - event.event_time} ms behind the watermark ${new Date(watermark).toISOString()}; allowed lateness is ${allowedLatenessMs} ms`,
          viewId: event.view_id,
          payload: incoming.payload,
          offset,
        });
      } else {
        let view = this.views.get(event.view_id);
        if (view) {
          // Re-inserted so the map stays in least-recently-updated order for the capacity limit.
          this.views.delete(event.view_id);
        } else {
          report.evicted += this.makeRoom();
          view = newView(event);
          this.changes.viewChanged(view.viewId);
        }
        this.views.set(event.view_id, view);
        const creatorBefore = view.creatorId;
        const outcome = applyEvent(view, event);
        report.outcomes[outcome] += 1;
        if (view.creatorId !== creatorBefore) {
          this.changes.viewChanged(view.viewId);
          this.openWindows.viewChanged(view.viewId);
        }
        if (outcome === 'applied' || outcome === 'retimed') {
          this.changes.sampleAdded(view, view.samples.find((s) => s.seq === event.view_seq)!);
          this.openWindows.viewChanged(view.viewId);
        }
        if (outcome === 'after_view_end' || outcome === 'view_identity_mismatch') {
          report.sideOutputs.push({
            reason: outcome,
            detail:
              outcome === 'after_view_end'
                ? `view ${view.viewId} ended at ${new Date(view.ended!.at).toISOString()} (${view.ended!.reason}); view_seq ${event.view_seq} came after its end`
                : `view ${view.viewId} belongs to property ${view.propertyId}, stream ${view.streamId}, viewer ${view.viewerId}; this event names ${event.property_id}, ${event.stream_id}, ${event.viewer_id}`,
            viewId: event.view_id,
            payload: incoming.payload,
            offset,
          });
        }
      }
      this.progress.watermark = watermark;
      this.progress.lastOffset = offset;
      lastApplied = position;
      this.progress.idleTicks = 0;
      this.progress.nextWindowToClose ??= windowStartOf(
        this.progress.watermark - allowedLatenessMs,
        this.settings.windowMs,
      );
      this.changes.progressChanged();
    }
    return report;
  }

  /** Records that the log has been read up to `offset` (messages that were not events, e.g. invalid ones, count too). */
  markRead(offset: string): void {
    if (this.progress.lastOffset !== null && Number(offset) <= Number(this.progress.lastOffset)) return;
    this.progress.lastOffset = offset;
    this.progress.idleTicks = 0;
    this.changes.progressChanged();
  }

  /**
   * Moves the watermark of a caught-up, silent partition to `now - idleAdvanceMs`, so its last
   * windows and views close without waiting for new events. The caller must persist the new
   * progress before publishing anything that follows from it.
   */
  advanceIdle(now: number): boolean {
    const target = now - this.settings.idleAdvanceMs;
    if (
      this.progress.watermark === null ||
      target <= this.progress.watermark ||
      this.progress.idleTicks >= MAX_IDLE_TICKS
    )
      return false;
    this.progress.watermark = target;
    this.progress.idleTicks += 1;
    this.changes.progressChanged();
    return true;
  }

  /**
   * Ends, for good, every view whose end the watermark has passed by the allowed lateness, and
   * returns the events cut from them (they came after the end). Run before windows close, so a
   * window's final result holds every view that ended in it. When it runs does not change any
   * result: an event after a view's end is cut from it whether it arrived before or after this.
   */
  private endViews(watermark: number): SideOutput[] {
    const cut: SideOutput[] = [];
    const { endAfterSilenceMs, allowedLatenessMs } = this.settings;
    for (const view of this.views.values()) {
      if (view.ended || !mayEndBy(view, watermark - allowedLatenessMs - endAfterSilenceMs, endAfterSilenceMs)) continue;
      const end = endCandidate(view, this.settings);
      if (!end || end.at + this.settings.allowedLatenessMs > watermark) continue;
      for (const sample of endView(view, end)) cut.push(afterEndSideOutput(view, sample));
      this.changes.viewChanged(view.viewId);
      this.openWindows.viewChanged(view.viewId);
    }
    return cut;
  }

  /**
   * Closes every window the watermark has passed by the allowed lateness, oldest first, after
   * ending the views due by then; returns the closed windows and the events cut from ended views.
   */
  closeDueWindows(): { closed: ClosedWindow[]; sideOutputs: SideOutput[] } {
    const { windowMs, allowedLatenessMs } = this.settings;
    const watermark = this.progress.watermark;
    const closed: ClosedWindow[] = [];
    const next = this.progress.nextWindowToClose;
    if (watermark === null || next === null || next + windowMs + allowedLatenessMs > watermark)
      return { closed, sideOutputs: [] };
    const sideOutputs = this.endViews(watermark);
    let windowStart = next;
    let eventful: EventfulWindows | undefined;
    while (windowStart + windowMs + allowedLatenessMs <= watermark) {
      eventful ??= this.eventfulWindows(windowStart);
      if (windowStart > eventful.rowsUntil && !eventful.starts.has(windowStart)) {
        // Nothing in this window or up to the next eventful one (a watermark moved far by an
        // idle advance, say): skip them rather than go over every view for each.
        const firstOpen = windowStartOf(watermark - allowedLatenessMs, windowMs);
        windowStart = Math.min(eventful.after(windowStart), Math.max(windowStart + windowMs, firstOpen));
      } else {
        closed.push(this.closeWindow(windowStart));
        windowStart += windowMs;
      }
    }
    this.progress.nextWindowToClose = windowStart;
    this.changes.progressChanged();
    if (windowStart !== next) this.prune(next);
    return { closed, sideOutputs };
  }

  /**
   * What can be in the windows from `from` on: rows only up to `rowsUntil` (a view adds to a window
   * only with an event less than max(windowMs, inactiveAfterMs) before the window's end, see
   * viewContribution), and summaries or zero rows in the windows of `starts` (views' ends, keys
   * published early).
   */
  private eventfulWindows(from: number): EventfulWindows {
    const { windowMs, inactiveAfterMs } = this.settings;
    let latest = -Infinity;
    const starts = new Set<number>();
    for (const view of this.views.values()) {
      const t = latestEventTime(view);
      if (t > latest) latest = t;
      if (view.ended && view.ended.at >= from) starts.add(windowStartOf(view.ended.at, windowMs));
    }
    for (const windowStart of this.emittedKeys.keys()) if (windowStart >= from) starts.add(windowStart);
    const sorted = [...starts].sort((a, b) => a - b);
    return {
      rowsUntil: latest + Math.max(0, inactiveAfterMs - windowMs),
      starts,
      after: (windowStart) => sorted.find((start) => start > windowStart) ?? Infinity,
    };
  }

  private closeWindow(windowStart: number): ClosedWindow {
    // A window followed for early rows has its final rows at hand; one never followed (a backlog
    // read faster than the emission interval) is computed here.
    const rows =
      this.openWindows.close(windowStart, this.views) ?? windowRows(this.views.values(), windowStart, this.settings);
    const present = new Set(rows.map(rowKey));
    const retractions = [...(this.emittedKeys.get(windowStart) ?? [])]
      .filter((key) => !present.has(key))
      .sort()
      .map((key) => emptyRow(keyOfRowKey(key)));
    this.emittedKeys.delete(windowStart);
    const end = windowStart + this.settings.windowMs;
    const views = [...this.views.values()]
      .filter((view) => view.ended && view.ended.at >= windowStart && view.ended.at < end)
      .map(summarizeView)
      .sort((a, b) => (a.view_id < b.view_id ? -1 : a.view_id > b.view_id ? 1 : 0));
    return { windowStart, rows, retractions, views };
  }

  /**
   * Folds samples before the next open window, and shrinks views whose end window has closed to a
   * memory of their end: an event for such a view is refused (side output) rather than starting a
   * second view with the same id. The memory lasts as long as the longest silence a view can
   * survive (the paused timeout, Mux's 60 min); after that a new event starts a new view, as in Mux.
   */
  private prune(previousNext: number): void {
    const next = this.progress.nextWindowToClose!;
    // Folds happen at minute boundaries, once the windows before one have all closed (however far
    // this close moved: a jump over a boundary folds too).
    const foldThrough = Math.floor(next / FOLD_EVERY_MS) * FOLD_EVERY_MS;
    const fold = foldThrough > previousNext;
    const forgetBefore = this.progress.watermark! - this.settings.pausedEndAfterMs;
    for (const view of [...this.views.values()]) {
      if (view.ended && view.ended.at < next) {
        if (view.ended.at < forgetBefore) {
          this.views.delete(view.viewId);
          this.changes.viewRemoved(view.viewId);
          this.openWindows.viewChanged(view.viewId);
        } else if (view.endedAtSeq === undefined) {
          forgetSamples(view);
          this.changes.viewChanged(view.viewId);
          this.openWindows.viewChanged(view.viewId);
        }
        continue;
      }
      // Folding rewrites the view's stored header, so it happens once a minute rather than at every window.
      if (!fold) continue;
      const before = view.samples.length;
      foldSamplesUpTo(view, foldThrough - 1);
      if (view.samples.length !== before) {
        this.changes.viewChanged(view.viewId);
        this.openWindows.viewChanged(view.viewId);
      }
    }
    if (fold) this.progress.foldedThrough = foldThrough - 1;
  }

  /**
   * Rows of the open windows that changed since the last call (early results; every row of a
   * window just opened), and zero rows for keys published before that have emptied out. Every
   * returned key is recorded as emitted: persist `takeChanges()` before publishing these, so a
   * restarted processor still knows which keys to zero out.
   */
  openWindowRows(): { rows: WindowRow[]; retractions: WindowRow[] } {
    const { watermark, nextWindowToClose } = this.progress;
    const rows: WindowRow[] = [];
    const retractions: WindowRow[] = [];
    if (watermark === null || nextWindowToClose === null) return { rows, retractions };
    const { windowMs, allowedLatenessMs } = this.settings;
    // Windows the watermark has passed by the allowed lateness close (final rows) right after
    // these are persisted, so early rows for them would be replaced at once: a processor catching
    // up on a backlog would publish every window twice.
    const firstStillOpen = windowStartOf(watermark - allowedLatenessMs - windowMs, windowMs) + windowMs;
    const updates = this.openWindows.update(
      this.views,
      nextWindowToClose,
      Math.max(nextWindowToClose, firstStillOpen),
      windowStartOf(watermark, windowMs),
    );
    for (const { windowStart, rows: changed, emptied, rebuilt } of updates) {
      const keys = this.keysOf(windowStart);
      const present = new Set<string>();
      const windowRowsChanged: WindowRow[] = [];
      const firstPublished: string[] = [];
      for (const totals of changed) {
        present.add(totals.rowKey);
        windowRowsChanged.push(rowOf(totals));
        if (!keys.has(totals.rowKey)) {
          keys.add(totals.rowKey);
          firstPublished.push(totals.rowKey);
        }
      }
      this.changes.keysEmitted(windowStart, firstPublished);
      rows.push(...windowRowsChanged.sort(compareRowKeys));
      // A window built afresh (just opened, or after a restore) zeroes every key it no longer has.
      if (rebuilt) for (const key of keys) if (!present.has(key)) retractions.push(emptyRow(keyOfRowKey(key)));
      for (const totals of emptied) if (keys.has(totals.rowKey)) retractions.push(emptyRow(totals.key));
    }
    return { rows, retractions };
  }

  /** The current early rows of an open window, as the running totals hold them (for tests). */
  openWindowTotals(windowStart: number): WindowRow[] | undefined {
    return this.openWindows.rows(windowStart);
  }

  private keysOf(windowStart: number): Set<string> {
    let keys = this.emittedKeys.get(windowStart);
    if (!keys) {
      keys = new Set();
      this.emittedKeys.set(windowStart, keys);
    }
    return keys;
  }

  /**
   * Ends the least recently updated live view when the partition is full. It ends at the current
   * watermark (so, like every end, only once the allowed lateness has passed).
   */
  private makeRoom(): number {
    if (this.views.size < this.settings.maxViewsPerPartition || this.progress.watermark === null) return 0;
    let live = 0;
    let oldest: ViewState | undefined;
    for (const view of this.views.values()) {
      if (view.ended || view.evictedAt !== undefined) continue;
      oldest ??= view;
      live += 1;
    }
    if (!oldest || live < this.settings.maxViewsPerPartition) return 0;
    oldest.evictedAt = this.progress.watermark;
    this.changes.viewChanged(oldest.viewId);
    return 1;
  }

  /** Output version: `((lastOffset + 1) << 20 | idleTicks) * 2 + final`, so re-emission of the same state carries the same version. */
  version(final: boolean): bigint {
    const offset = this.progress.lastOffset === null ? 0n : BigInt(this.progress.lastOffset) + 1n;
    return ((offset << IDLE_TICK_BITS) | BigInt(this.progress.idleTicks)) * 2n + (final ? 1n : 0n);
  }

  hasChanges(): boolean {
    return this.changes.hasChanges();
  }

  /** What changed since the last call, for the state store; clears the record. */
  takeChanges(): PartitionChanges {
    return this.changes.take(this.views, this.progress);
  }
}

const FOLD_EVERY_MS = 60_000;

interface EventfulWindows {
  rowsUntil: number;
  starts: Set<number>;
  /** The first of `starts` after the given window, or Infinity. */
  after: (windowStart: number) => number;
}

/**
 * Whether the view can have ended by now (a cheap necessary condition, so most live views are
 * ruled out without working out their end): a viewend or an eviction may end it any time; a
 * silence ends it `silenceMs` or more after the latest event before the silence, which must then
 * be at or before `latestSilenceStart`. The silence is either after its latest event or a gap
 * between two events; a gap in time order shows in seq order too, against the latest time of the
 * samples before it (which is no later than the gap's start).
 */
function mayEndBy(view: ViewState, latestSilenceStart: number, silenceMs: number): boolean {
  if (view.evictedAt !== undefined) return true;
  let latest = view.baseline?.maxT ?? -Infinity;
  for (const sample of view.samples) {
    if (sample.viewend) return true;
    if (latest !== -Infinity && latest <= latestSilenceStart && sample.t - latest >= silenceMs) return true;
    if (sample.t > latest) latest = sample.t;
  }
  return latest <= latestSilenceStart;
}

function afterEndSideOutput(view: ViewState, sample: Sample): SideOutput {
  const end = view.ended!;
  return {
    reason: 'after_view_end',
    detail: `view ${view.viewId} ended at ${new Date(end.at).toISOString()} (${end.reason}); the event with view_seq ${sample.seq} at ${new Date(sample.t).toISOString()} came after its end`,
    viewId: view.viewId,
    payload: Buffer.from(
      JSON.stringify({ view_id: view.viewId, stream_id: view.streamId, property_id: view.propertyId, sample }),
    ),
  };
}
