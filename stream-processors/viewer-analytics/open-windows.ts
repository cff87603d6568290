import type { AnalyticsSettings } from '../../core/config.ts';
import type { ViewState } from './view-state.ts';
import {
  sameContribution,
  viewContribution,
  WindowTotals,
  type RowTotals,
  type ViewContribution,
} from './window-rows.ts';

/** What changed in one open window since the previous update. */
export interface OpenWindowUpdate {
  windowStart: number;
  /** Rows whose totals changed; every row of a window built afresh. */
  rows: RowTotals[];
  /** Rows that lost their last contributing view (none for a window built afresh). */
  emptied: RowTotals[];
  /** Built afresh over every view: `rows` is the whole window. */
  rebuilt: boolean;
}

interface OpenWindow {
  totals: WindowTotals;
  /** Each contributing view's share of `totals`, so a change can be taken away again. */
  contributions: Map<string, ViewContribution>;
}

/**
 * The rows of a partition's open windows, kept as running totals between early emissions: a
 * window is computed over every view once, when it opens, and after that only the views that
 * changed are looked at again (their old contribution taken away, the new one added). An early
 * emission then costs what changed, not the partition's size, which is what keeps a partition of
 * 100k live views cheap to report every half second. The totals always equal the rows computed
 * afresh (the unit tests check it after every update), so a window that closes takes its final
 * rows from them too.
 */
export class OpenWindows {
  private readonly windows = new Map<number, OpenWindow>();
  private readonly changed = new Set<string>();

  constructor(private readonly settings: Pick<AnalyticsSettings, 'windowMs' | 'inactiveAfterMs' | 'maxRebufferMs'>) {}

  /** A view's samples, end or fold changed, or it was forgotten: its contributions are redone at the next update. */
  viewChanged(viewId: string): void {
    if (this.windows.size > 0) this.changed.add(viewId);
  }

  /**
   * Brings the windows starting in [first, last] up to date and reports what changed in them: new
   * ones are built over every view, the others take in the views that changed. Windows followed
   * from before `first` but not before `keepFrom` (about to close) are kept up to date without a
   * report, so their final rows are at hand; the rest are dropped.
   */
  update(views: ReadonlyMap<string, ViewState>, keepFrom: number, first: number, last: number): OpenWindowUpdate[] {
    for (const windowStart of this.windows.keys())
      if (windowStart < keepFrom || windowStart > last) this.windows.delete(windowStart);
    const updates: OpenWindowUpdate[] = [];
    for (const [windowStart, window] of this.windows) {
      const touched = this.takeInChanges(windowStart, window, views);
      if (windowStart < first) continue;
      const rows: RowTotals[] = [];
      const emptied: RowTotals[] = [];
      for (const totals of touched) (totals.views > 0 ? rows : emptied).push(totals);
      updates.push({ windowStart, rows, emptied, rebuilt: false });
    }
    this.changed.clear();
    for (let windowStart = first; windowStart <= last; windowStart += this.settings.windowMs) {
      if (this.windows.has(windowStart)) continue;
      const window: OpenWindow = { totals: new WindowTotals(windowStart), contributions: new Map() };
      for (const view of views.values()) {
        const contribution = viewContribution(view, windowStart, this.settings);
        if (!contribution) continue;
        window.totals.add(contribution, 1);
        window.contributions.set(view.viewId, contribution);
      }
      this.windows.set(windowStart, window);
      updates.push({ windowStart, rows: window.totals.allRowTotals(), emptied: [], rebuilt: true });
    }
    return updates.sort((a, b) => a.windowStart - b.windowStart);
  }

  /**
   * The rows of a window that closes, sorted by key, and stops following it; undefined when it was
   * not being followed (the caller computes it afresh). Other windows keep their pending changes.
   */
  close(windowStart: number, views: ReadonlyMap<string, ViewState>): ReturnType<WindowTotals['rows']> | undefined {
    const window = this.windows.get(windowStart);
    if (!window) return undefined;
    this.takeInChanges(windowStart, window, views);
    this.windows.delete(windowStart);
    return window.totals.rows();
  }

  /** Takes the changed views' old contributions away and adds their new ones; returns the rows touched. */
  private takeInChanges(
    windowStart: number,
    window: OpenWindow,
    views: ReadonlyMap<string, ViewState>,
  ): Set<RowTotals> {
    const touched = new Set<RowTotals>();
    for (const viewId of this.changed) {
      const before = window.contributions.get(viewId);
      const view = views.get(viewId);
      const after = view && viewContribution(view, windowStart, this.settings);
      if (before && after && sameContribution(before, after)) continue;
      if (before) window.totals.add(before, -1, touched);
      if (after) {
        window.totals.add(after, 1, touched);
        window.contributions.set(viewId, after);
      } else if (before) {
        window.contributions.delete(viewId);
      }
    }
    window.totals.removeEmpty(touched);
    return touched;
  }

  /** The current rows of an open window, sorted by key (undefined when it is not being followed). */
  rows(windowStart: number): ReturnType<WindowTotals['rows']> | undefined {
    return this.windows.get(windowStart)?.totals.rows();
  }
}
