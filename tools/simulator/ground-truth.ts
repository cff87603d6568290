import type { AnalyticsSettings } from '../../core/config.ts';
import type { PlayerEvent } from '../../core/schemas/player-event.ts';
import { DIMENSIONS } from '../../core/analytics/aggregate-messages.ts';
import { qoeMetrics, quantileExact, type ViewMetricTotals } from '../../core/analytics/qoe-formulas.ts';
import type { ScriptedEvent, ScriptedView, SimulationPlan } from './viewer-scripts.ts';

/**
 * What every metric must be for a simulation, computed from the scripted events directly: the
 * simulator knows every event, in order, with its true time, so the rules of docs/analytics.md
 * apply here without watermarks, state, partitions or recovery. A pipeline that matches this
 * under crashes and reordering is exact.
 */
export type TruthSettings = Pick<
  AnalyticsSettings,
  'windowMs' | 'inactiveAfterMs' | 'endAfterSilenceMs' | 'pausedEndAfterMs' | 'maxRebufferMs'
>;

type TruthDimension = (typeof DIMENSIONS)[number];

export type ViewTotals = ViewMetricTotals;

export interface WindowTruth {
  window_start: number;
  dimension: 'all' | TruthDimension;
  dimension_value: string;
  concurrent_views: number;
  views_started: number;
  unique_viewers: number;
  watch_ms: number;
  playing_ms: number;
  rebuffer_ms: number;
  rebuffer_count: number;
}

export interface StreamTruth {
  creator_id: string;
  totals: ViewTotals;
  /** By each view's last-reported dimension value. */
  by_dimension: Record<TruthDimension, Record<string, ViewTotals>>;
  /** Every non-empty window row, all dimensions, sorted. */
  windows: WindowTruth[];
  peak_concurrency_by_minute: Array<{ minute: number; peak: number }>;
  engagement_by_start_minute: Array<{
    minute: number;
    views: number;
    unique_viewers: number;
    watch_ms: number;
    playing_ms: number;
  }>;
  qoe_by_end_minute: Array<{ minute: number } & ViewTotals>;
}

export interface GroundTruth {
  run_id: string;
  property_id: string;
  start_at: number;
  settings: TruthSettings;
  views: number;
  events: number;
  /** When the last view ends (Livepulse's rule), epoch ms: the pipeline is final after this plus the allowed lateness. */
  last_view_end: number;
  streams: Record<string, StreamTruth>;
}

/** One view reduced to what the metrics need. */
interface ViewFacts {
  view: ScriptedView;
  kept: ScriptedEvent[];
  start: number;
  end: number;
  last: PlayerEvent;
  dims: Record<TruthDimension, string>;
}

const WATCHING = new Set(['starting', 'waiting', 'playing', 'seeking', 'rebuffering', 'fatal_error']);

function dimensionsOf(event: PlayerEvent): Record<TruthDimension, string> {
  const d = event.dimensions ?? {};
  return {
    device: d.device ?? '',
    os: d.os ?? '',
    browser: d.browser ?? '',
    player: d.player_name ?? '',
    cdn: d.cdn ?? '',
    rendition: d.rendition ?? '',
    country: d.country ?? '',
  };
}

function factsOf(view: ScriptedView, settings: TruthSettings): ViewFacts {
  const timeout = (event: PlayerEvent) =>
    event.player_state === 'paused' ? settings.pausedEndAfterMs : settings.endAfterSilenceMs;
  const kept: ScriptedEvent[] = [];
  let end: number | undefined;
  for (const scripted of view.events) {
    const previous = kept.at(-1);
    if (previous && scripted.at - previous.at >= timeout(previous.event)) {
      end = previous.at + timeout(previous.event);
      break;
    }
    kept.push(scripted);
    if (scripted.event.event === 'viewend') {
      end = scripted.at;
      break;
    }
  }
  const lastKept = kept.at(-1)!;
  return {
    view,
    kept,
    start: kept[0]!.at,
    end: end ?? lastKept.at + timeout(lastKept.event),
    last: lastKept.event,
    dims: dimensionsOf(lastKept.event),
  };
}

function totalsOf(views: ViewFacts[]): ViewTotals {
  const sums = {
    views: views.length,
    watch_ms: 0,
    playing_ms: 0,
    rebuffer_ms: 0,
    rebuffer_count: 0,
    playback_failures: 0,
    startup_failures: 0,
    exits_before_start: 0,
    business_exceptions: 0,
    upscale_weighted_ms: 0,
  };
  const startups: number[] = [];
  for (const facts of views) {
    const c = facts.last.counters;
    sums.watch_ms += c.watch_ms;
    sums.playing_ms += c.playing_ms;
    sums.rebuffer_ms += c.rebuffer_ms;
    sums.rebuffer_count += c.rebuffer_count;
    sums.upscale_weighted_ms += c.upscale_weighted_ms ?? 0;
    const fatal = facts.kept
      .map((e) => e.event)
      .filter((e) => e.error?.severity === 'fatal' || e.player_state === 'fatal_error');
    const business = fatal.some((e) => e.error?.business_exception === true);
    const failure = fatal.length > 0 && !business;
    if (c.ttff_ms !== undefined) startups.push(c.ttff_ms);
    if (failure) sums.playback_failures += 1;
    if (failure && c.ttff_ms === undefined) sums.startup_failures += 1;
    if (business) sums.business_exceptions += 1;
    if (fatal.length === 0 && c.ttff_ms === undefined) sums.exits_before_start += 1;
  }
  startups.sort((a, b) => a - b);
  return {
    ...sums,
    unique_viewers: new Set(views.map((f) => f.view.viewerId)).size,
    views_with_startup: startups.length,
    startup_time_p50_ms: quantileExact(startups, 0.5),
    startup_time_p95_ms: quantileExact(startups, 0.95),
    ...qoeMetrics(sums),
  };
}

function asOf(facts: ViewFacts, instant: number): ScriptedEvent | undefined {
  let found: ScriptedEvent | undefined;
  for (const scripted of facts.kept) {
    if (scripted.at > instant) break;
    found = scripted;
  }
  return found;
}

function watchingAt(facts: ViewFacts, instant: number, settings: TruthSettings): boolean {
  if (instant >= facts.end) return false;
  const current = asOf(facts, instant);
  if (!current || current.event.event === 'viewend') return false;
  if (instant - current.at >= settings.inactiveAfterMs) return false;
  if (!WATCHING.has(current.event.player_state)) return false;
  if (current.event.player_state === 'rebuffering') {
    const index = facts.kept.indexOf(current);
    let since = current.at;
    for (let i = index - 1; i >= 0 && facts.kept[i]!.event.player_state === 'rebuffering'; i--)
      since = facts.kept[i]!.at;
    if (instant - since > settings.maxRebufferMs) return false;
  }
  return true;
}

type Accumulated = Omit<WindowTruth, 'unique_viewers'> & { viewers: Set<string> };

function windowsOf(views: ViewFacts[], settings: TruthSettings): WindowTruth[] {
  const w = settings.windowMs;
  const rows = new Map<string, Accumulated>();
  for (const facts of views) {
    const lastRelevant = facts.kept.at(-1)!.at + settings.inactiveAfterMs;
    for (let windowStart = Math.floor(facts.start / w) * w; windowStart <= lastRelevant; windowStart += w) {
      const lastInstant = windowStart + w - 1;
      const atEnd = asOf(facts, lastInstant);
      if (!atEnd) continue;
      const before = asOf(facts, windowStart - 1);
      const grew = (key: 'watch_ms' | 'playing_ms' | 'rebuffer_ms' | 'rebuffer_count') =>
        atEnd.event.counters[key] - (before?.event.counters[key] ?? 0);
      const watching = watchingAt(facts, lastInstant, settings);
      const started = facts.start >= windowStart && facts.start <= lastInstant;
      const accrued = {
        watch_ms: grew('watch_ms'),
        playing_ms: grew('playing_ms'),
        rebuffer_ms: grew('rebuffer_ms'),
        rebuffer_count: grew('rebuffer_count'),
      };
      if (!watching && !started && Object.values(accrued).every((v) => v === 0)) continue;
      const dims = dimensionsOf(atEnd.event);
      for (const dimension of ['all', ...DIMENSIONS] as const) {
        const dimension_value = dimension === 'all' ? '' : dims[dimension];
        const id = `${windowStart}|${dimension}|${dimension_value}`;
        let row = rows.get(id);
        if (!row) {
          row = {
            window_start: windowStart,
            dimension,
            dimension_value,
            concurrent_views: 0,
            views_started: 0,
            watch_ms: 0,
            playing_ms: 0,
            rebuffer_ms: 0,
            rebuffer_count: 0,
            viewers: new Set(),
          };
          rows.set(id, row);
        }
        if (watching) row.concurrent_views += 1;
        if (started) {
          row.views_started += 1;
          row.viewers.add(facts.view.viewerId);
        }
        row.watch_ms += accrued.watch_ms;
        row.playing_ms += accrued.playing_ms;
        row.rebuffer_ms += accrued.rebuffer_ms;
        row.rebuffer_count += accrued.rebuffer_count;
      }
    }
  }
  return [...rows.values()]
    .map(({ viewers, ...row }) => ({ ...row, unique_viewers: viewers.size }))
    .sort(
      (a, b) =>
        a.window_start - b.window_start ||
        byCodeUnits(a.dimension, b.dimension) ||
        byCodeUnits(a.dimension_value, b.dimension_value),
    );
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

const MINUTE = 60_000;

/** Plain code-unit order, as ClickHouse sorts strings (not the locale's). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function computeGroundTruth(plan: SimulationPlan, settings: TruthSettings): GroundTruth {
  const facts = plan.views.map((view) => factsOf(view, settings));
  const streams: Record<string, StreamTruth> = {};
  for (const [streamId, views] of groupBy(facts, (f) => f.view.streamId)) {
    const windows = windowsOf(views, settings);
    const allRows = windows.filter((row) => row.dimension === 'all');
    const by_dimension = Object.fromEntries(
      DIMENSIONS.map((dimension) => [
        dimension,
        Object.fromEntries(
          [...groupBy(views, (f) => f.dims[dimension])]
            .sort(([a], [b]) => byCodeUnits(a, b))
            .map(([value, group]) => [value, totalsOf(group)]),
        ),
      ]),
    ) as StreamTruth['by_dimension'];
    streams[streamId] = {
      creator_id: views[0]!.view.creatorId,
      totals: totalsOf(views),
      by_dimension,
      windows,
      peak_concurrency_by_minute: [...groupBy(allRows, (row) => Math.floor(row.window_start / MINUTE) * MINUTE)]
        .map(([minute, rows]) => ({ minute, peak: Math.max(...rows.map((row) => row.concurrent_views)) }))
        .sort((a, b) => a.minute - b.minute),
      engagement_by_start_minute: [...groupBy(views, (f) => Math.floor(f.start / MINUTE) * MINUTE)]
        .map(([minute, group]) => {
          const totals = totalsOf(group);
          return {
            minute,
            views: totals.views,
            unique_viewers: totals.unique_viewers,
            watch_ms: totals.watch_ms,
            playing_ms: totals.playing_ms,
          };
        })
        .sort((a, b) => a.minute - b.minute),
      qoe_by_end_minute: [...groupBy(views, (f) => Math.floor(f.end / MINUTE) * MINUTE)]
        .map(([minute, group]) => ({ minute, ...totalsOf(group) }))
        .sort((a, b) => a.minute - b.minute),
    };
  }
  return {
    run_id: plan.runId,
    property_id: plan.propertyId,
    start_at: plan.startAt,
    settings,
    views: facts.length,
    events: plan.views.reduce((n, v) => n + v.events.length, 0),
    last_view_end: Math.max(...facts.map((f) => f.end)),
    streams,
  };
}
