import { describe, expect, it } from 'vitest';
import type { AnalyticsSettings } from '../../core/config.ts';
import type { EnrichedPlayerEvent } from '../../core/schemas/player-event.ts';
import { collectedEvents } from '../../tools/simulator/collector-view.ts';
import { computeGroundTruth } from '../../tools/simulator/ground-truth.ts';
import { SeededRandom } from '../../tools/simulator/seeded-random.ts';
import { planSimulation } from '../../tools/simulator/viewer-scripts.ts';
import {
  PartitionAnalytics,
  type ClosedWindow,
  type PartitionProgress,
  type SideOutput,
} from './partition-analytics.ts';
import type { PartitionChanges } from './partition-changes.ts';
import type { WindowRow } from '../../core/analytics/aggregate-messages.ts';
import { rowKey, windowRows } from './window-rows.ts';
import {
  assembleViews,
  encodeSample,
  encodeViewHeader,
  type EncodedSample,
  type PersistedSample,
} from './state-codec.ts';

const settings: AnalyticsSettings = {
  windowMs: 10_000,
  allowedLatenessMs: 20_000,
  inactiveAfterMs: 25_000,
  endAfterSilenceMs: 60_000,
  pausedEndAfterMs: 90_000,
  maxRebufferMs: 30_000,
  emitIntervalMs: 1_000,
  catchUpIntervalMs: 5_000,
  catchUpLagMs: 60_000,
  idleAdvanceMs: 2_000,
  maxViewsPerPartition: 10_000,
};
const START = Date.UTC(2026, 2, 1, 10, 0, 0);

function plan(seed: number) {
  return planSimulation({
    viewers: 80,
    durationMs: 150_000,
    seed,
    startAt: START,
    streams: 3,
    maxRebufferMs: settings.maxRebufferMs,
  });
}

/** The plan's events as the collector would receive them: late within half the allowed lateness, a share sent twice, in arrival order. */
function lateAndRepeated(
  scripted: ReturnType<typeof plan>,
  jitter: SeededRandom,
  repeatedShare: number,
): EnrichedPlayerEvent[] {
  const reordered = collectedEvents(scripted, { deliveryDelayMs: () => jitter.int(0, settings.allowedLatenessMs / 2) });
  const repeated = reordered.flatMap((e) =>
    jitter.chance(repeatedShare) ? [e, { ...e, received_at: e.received_at + jitter.int(0, 5_000) }] : [e],
  );
  return repeated.sort((a, b) => a.received_at - b.received_at);
}

interface Logged {
  offset: string;
  event: EnrichedPlayerEvent;
  payload: Buffer;
}

function log(events: EnrichedPlayerEvent[]): Logged[] {
  return events.map((event, i) => ({ offset: String(i), event, payload: Buffer.from(JSON.stringify(event)) }));
}

/** The store's view of a partition, through the same codec and assembly as the ClickHouse store. */
class MemoryStateStore {
  progress: PartitionProgress | undefined;
  headers = new Map<string, string>();
  samples: PersistedSample[] = [];
  keys: Array<{ windowStart: number; key: string }> = [];

  persist(changes: PartitionChanges): void {
    this.progress = { ...changes.progress };
    for (const { view, sample } of changes.samples)
      this.samples.push({
        viewId: view.viewId,
        body: JSON.parse(JSON.stringify(encodeSample(sample, view.firstDims))) as EncodedSample,
      });
    for (const view of changes.views) this.headers.set(view.viewId, encodeViewHeader(view));
    for (const id of changes.removedViews) this.headers.delete(id);
    this.keys.push(...changes.emittedKeys);
  }

  restore(): PartitionAnalytics {
    const headers = [...this.headers].map(([viewId, body]) => ({ viewId, body }));
    return PartitionAnalytics.restore(0, settings, {
      progress: this.progress!,
      views: assembleViews(headers, this.samples),
      emittedKeys: this.keys,
    });
  }
}

interface RunOutput {
  finals: ClosedWindow[];
  sideOutputs: SideOutput[];
}

/** Drives a partition the way the processor does: batches, early rows, persist, close. */
function drive(
  partition: PartitionAnalytics,
  entries: Logged[],
  random: SeededRandom,
  store = new MemoryStateStore(),
  stopAfter = entries.length,
): RunOutput {
  const out: RunOutput = { finals: [], sideOutputs: [] };
  let i = 0;
  while (i < Math.min(stopAfter, entries.length)) {
    const batch = entries.slice(i, Math.min(stopAfter, i + random.int(1, 40)));
    i += batch.length;
    out.sideOutputs.push(...partition.apply(batch).sideOutputs);
    if (random.chance(0.5)) {
      partition.openWindowRows();
      expectOpenWindowsAsComputedAfresh(partition);
    }
    store.persist(partition.takeChanges());
    const { closed, sideOutputs } = partition.closeDueWindows();
    out.finals.push(...closed);
    out.sideOutputs.push(...sideOutputs);
  }
  return out;
}

/** The running totals of every open window equal its rows computed afresh over every view. */
function expectOpenWindowsAsComputedAfresh(partition: PartitionAnalytics): void {
  const { watermark, nextWindowToClose } = partition.progress;
  if (watermark === null || nextWindowToClose === null) return;
  for (let windowStart = nextWindowToClose; windowStart <= watermark; windowStart += settings.windowMs) {
    const totals = partition.openWindowTotals(windowStart);
    if (totals === undefined) continue;
    expect(totals).toEqual(windowRows(partition.views.values(), windowStart, settings));
    openWindowsChecked += 1;
  }
}
/** How many open windows expectOpenWindowsAsComputedAfresh compared, so a test can tell it checked something. */
let openWindowsChecked = 0;

function finishIdle(partition: PartitionAnalytics, out: RunOutput): RunOutput {
  const lastWatermark = partition.progress.watermark!;
  // Far enough for every paused view to time out and every window to close.
  expect(partition.advanceIdle(lastWatermark + settings.pausedEndAfterMs + 5 * 60_000)).toBe(true);
  const { closed, sideOutputs } = partition.closeDueWindows();
  return { finals: [...out.finals, ...closed], sideOutputs: [...out.sideOutputs, ...sideOutputs] };
}

function run(events: EnrichedPlayerEvent[], seed = 1): RunOutput {
  const partition = new PartitionAnalytics(0, settings);
  return finishIdle(partition, drive(partition, log(events), new SeededRandom(seed)));
}

/** Finals in a comparable form: non-empty windows, in window order. */
function comparable(out: RunOutput) {
  return out.finals
    .filter((w) => w.rows.length > 0 || w.views.length > 0)
    .map(({ windowStart, rows, views }) => ({ windowStart, rows, views }));
}

/**
 * `viewer_windows` as ClickHouse keeps it: the highest version per key (the last insert of equal
 * versions), with a zero row meaning nobody is in that key any more.
 */
class LatestValueTable {
  private readonly latest = new Map<string, { version: bigint; row: WindowRow }>();

  insert(rows: WindowRow[], version: bigint): void {
    for (const row of rows) {
      const previous = this.latest.get(rowKey(row));
      if (!previous || previous.version <= version) this.latest.set(rowKey(row), { version, row });
    }
  }

  /** The rows somebody is in, in the ground truth's shape and order. */
  rows(): Array<Record<string, unknown>> {
    return [...this.latest.values()]
      .map(({ row }) => row)
      .filter(
        (r) => r.concurrent_views + r.views_started + r.watch_ms + r.playing_ms + r.rebuffer_ms + r.rebuffer_count > 0,
      )
      .map((row) => ({ stream_id: row.stream_id, ...truthShaped(row) }))
      .sort(byTruthOrder);
  }
}

/** A window row as the ground truth has it (per stream, so without the stream). */
function truthShaped(r: WindowRow) {
  return {
    window_start: r.window_start,
    dimension: r.dimension,
    dimension_value: r.dimension_value,
    concurrent_views: r.concurrent_views,
    views_started: r.views_started,
    unique_viewers: r.viewer_ids.length,
    watch_ms: r.watch_ms,
    playing_ms: r.playing_ms,
    rebuffer_ms: r.rebuffer_ms,
    rebuffer_count: r.rebuffer_count,
  };
}

function byTruthOrder(
  a: { stream_id?: string; window_start: number; dimension: string; dimension_value: string },
  b: typeof a,
): number {
  const [sa, sb] = [a.stream_id ?? '', b.stream_id ?? ''];
  return (
    (sa < sb ? -1 : sa > sb ? 1 : 0) ||
    a.window_start - b.window_start ||
    (a.dimension < b.dimension ? -1 : a.dimension > b.dimension ? 1 : 0) ||
    (a.dimension_value < b.dimension_value ? -1 : a.dimension_value > b.dimension_value ? 1 : 0)
  );
}

/**
 * Drives a partition as the processor's checkpoints do (apply; early rows; persist; publish the
 * early rows; close and publish finals and retractions) into `table`. `crashAfter` stops it after
 * that many checkpoints were persisted, before the last one published anything.
 */
function checkpointInto(
  table: LatestValueTable,
  partition: PartitionAnalytics,
  entries: Logged[],
  random: SeededRandom,
  store: MemoryStateStore,
  crashAfter = Infinity,
): void {
  let i = 0;
  let checkpoints = 0;
  while (i < entries.length) {
    const batch = entries.slice(i, i + random.int(1, 40));
    i += batch.length;
    partition.apply(batch);
    const open = random.chance(0.7) ? partition.openWindowRows() : null;
    store.persist(partition.takeChanges());
    if (++checkpoints >= crashAfter) return;
    if (open) table.insert([...open.rows, ...open.retractions], partition.version(false));
    const { closed } = partition.closeDueWindows();
    table.insert(
      closed.flatMap((w) => [...w.rows, ...w.retractions]),
      partition.version(true),
    );
  }
}

/** Where the bus redelivers from after a crash: the last commit, at or up to 30 events before what the store holds. */
function redeliveredFrom(store: MemoryStateStore, random: SeededRandom): number {
  const persisted = store.progress?.lastOffset;
  return persisted === undefined || persisted === null ? 0 : Math.max(0, Number(persisted) - random.int(0, 30));
}

describe('partition analytics', () => {
  it('matches the ground truth: every window row and every view', () => {
    const scripted = plan(11);
    const out = run(collectedEvents(scripted));
    const truth = computeGroundTruth(scripted, settings);

    expect(out.sideOutputs).toEqual([]);
    const views = out.finals.flatMap((w) => w.views);
    expect(views).toHaveLength(truth.views);
    const rows = out.finals.flatMap((w) => w.rows);
    for (const [streamId, stream] of Object.entries(truth.streams)) {
      const mine = rows
        .filter((r) => r.stream_id === streamId)
        .map(truthShaped)
        .sort(byTruthOrder);
      expect(mine, streamId).toEqual(stream.windows);
      const streamViews = views.filter((v) => v.stream_id === streamId);
      expect(streamViews.reduce((n, v) => n + v.watch_ms, 0)).toBe(stream.totals.watch_ms);
      expect(streamViews.filter((v) => v.exit_before_start)).toHaveLength(stream.totals.exits_before_start);
      expect(streamViews.filter((v) => v.playback_failure)).toHaveLength(stream.totals.playback_failures);
      expect(stream.totals.views).toBeGreaterThan(10);
    }
    // The script exercises every rule: pauses, stuck rebuffering, silent and paused leaves.
    expect(new Set(views.map((v) => v.end_reason))).toEqual(new Set(['viewend', 'silence', 'paused_timeout']));
  });

  it('gives the same result for events out of order and duplicated, within the allowed lateness', () => {
    const scripted = plan(12);
    const inOrder = run(collectedEvents(scripted));
    const jitter = new SeededRandom(99);
    const duplicated = lateAndRepeated(scripted, jitter, 0.2);
    expect(duplicated.map((e) => e.event_id)).not.toEqual(collectedEvents(scripted).map((e) => e.event_id));

    const shuffled = run(duplicated, 5);
    expect(shuffled.sideOutputs).toEqual([]);
    expect(comparable(shuffled)).toEqual(comparable(inOrder));
  });

  it('keeps the open windows as running totals equal to their rows computed afresh, whatever the order and batching', () => {
    const scripted = plan(21);
    const jitter = new SeededRandom(7);
    const duplicated = lateAndRepeated(scripted, jitter, 0.2);
    openWindowsChecked = 0;
    // drive() compares every open window after each early emission; views start, pause, end and are folded on the way.
    const out = run(duplicated, 8);
    expect(openWindowsChecked).toBeGreaterThan(30);
    expect(out.finals.flatMap((w) => w.views).length).toBeGreaterThan(50);
  });

  it('publishes early only the rows that changed since the previous emission', () => {
    const events = collectedEvents(plan(22));
    const partition = new PartitionAnalytics(0, settings);
    const entries = log(events);
    partition.apply(entries.slice(0, 200));
    const first = partition.openWindowRows().rows;
    expect(first.length).toBeGreaterThan(0);
    expect(partition.openWindowRows()).toEqual({ rows: [], retractions: [] });
    const next = entries[200]!;
    partition.apply([next]);
    const changed = partition.openWindowRows().rows;
    expect(changed.length).toBeGreaterThan(0);
    // Only rows of the event's stream, and none of its windows before the event.
    expect(
      changed.every(
        (row) => row.stream_id === next.event.stream_id && row.window_start + settings.windowMs > next.event.event_time,
      ),
    ).toBe(true);
    expect(changed.length).toBeLessThan(first.length);
  });

  it('after a long idle advance closes only the windows something is in, and still folds at the minute boundaries it passes', () => {
    const partition = new PartitionAnalytics(0, settings);
    partition.apply(log(collectedEvents(plan(23))));
    partition.closeDueWindows();
    const from = partition.progress.nextWindowToClose!;
    const out = finishIdle(partition, { finals: [], sideOutputs: [] });
    const to = partition.progress.nextWindowToClose!;
    expect(out.finals.length).toBeGreaterThan(0);
    expect(out.finals.every((w) => w.rows.length + w.retractions.length + w.views.length > 0)).toBe(true);
    expect(out.finals.length).toBeLessThan((to - from) / settings.windowMs / 2);
    expect(partition.progress.foldedThrough).toBe(Math.floor(to / 60_000) * 60_000 - 1);
  });

  it('ends a view at a silence it resumed after, though its latest event is recent', () => {
    const base = collectedEvents(plan(24))[0]!;
    const at = (seq: number, seconds: number): EnrichedPlayerEvent => ({
      ...base,
      event_id: `resume-${seq}`,
      view_seq: seq,
      event: seq === 0 ? 'viewstart' : 'heartbeat',
      player_state: 'playing',
      event_time: START + seconds * 1000,
      received_at: START + seconds * 1000,
    });
    const partition = new PartitionAnalytics(0, settings);
    // 70 s of silence after 20 s: the view ended at 20 s + 60 s; what came at 90 s and later is cut.
    partition.apply(log([at(0, 0), at(1, 10), at(2, 20), at(3, 90), at(4, 100), at(5, 105)]));
    const { sideOutputs } = partition.closeDueWindows();
    expect(partition.views.get(base.view_id)?.ended).toEqual({ at: START + 80_000, reason: 'silence' });
    expect(
      sideOutputs.map((o) => [o.reason, (JSON.parse(o.payload.toString()) as { sample: { seq: number } }).sample.seq]),
    ).toEqual([
      ['after_view_end', 3],
      ['after_view_end', 4],
      ['after_view_end', 5],
    ]);
  });

  it('sends events later than the allowed lateness to the side output, and counts nothing from them', () => {
    const scripted = plan(13);
    const events = collectedEvents(scripted);
    const late = {
      ...events[40]!,
      event_id: 'late',
      received_at: events[40]!.event_time + settings.allowedLatenessMs + 1,
    };
    const partition = new PartitionAnalytics(0, settings);
    const entries = log([...events.slice(0, 300), late, ...events.slice(300)]);
    const out = finishIdle(partition, drive(partition, entries, new SeededRandom(3)));
    expect(out.sideOutputs).toEqual([
      expect.objectContaining({
        reason: 'late',
        viewId: late.view_id,
        offset: '300',
        detail: expect.stringContaining('allowed lateness is 20000 ms') as unknown,
      }),
    ]);
    expect(comparable(out)).toEqual(comparable(run(events)));
  });

  it('re-emits exactly what it emitted before a crash, after restoring from its persisted state', () => {
    const scripted = plan(14);
    const entries = log(collectedEvents(scripted, { deliveryDelayMs: (i) => (i * 7919) % 9_000 }));
    const uninterrupted = run(
      entries.map((e) => e.event),
      4,
    );

    for (const crashAt of [0.1, 0.45, 0.8].map((share) => Math.round(share * entries.length))) {
      const store = new MemoryStateStore();
      const before = new PartitionAnalytics(0, settings);
      const first = drive(before, entries, new SeededRandom(crashAt), store, crashAt);
      // Crash: everything in memory is gone; the bus redelivers from the last committed offset,
      // which is at or before what the store holds, with other batch boundaries.
      const restored = store.restore();
      const redeliverFrom = Math.max(0, Number(store.progress!.lastOffset) - 25);
      const after = finishIdle(restored, drive(restored, entries.slice(redeliverFrom), new SeededRandom(crashAt + 1)));
      const combined = {
        finals: [...first.finals, ...after.finals],
        sideOutputs: [...first.sideOutputs, ...after.sideOutputs],
      };
      const byWindow = new Map(comparable(combined).map((w) => [w.windowStart, w]));
      expect([...byWindow.values()], `crash after ${crashAt} events`).toEqual(comparable(uninterrupted));
    }
  });

  it('replaces early rows that emptied out with zero rows when the window closes', () => {
    const scripted = plan(15);
    const events = collectedEvents(scripted);
    const viewId = events[0]!.view_id;
    const firstOfView = events.filter((e) => e.view_id === viewId);
    const partition = new PartitionAnalytics(0, settings);
    partition.apply(log(firstOfView.slice(0, 2)));
    const early = partition.openWindowRows().rows.filter((r) => r.dimension === 'device');
    expect(early.length).toBeGreaterThan(0);
    // A late-but-allowed event says the device was another one all along (higher seq, same instant).
    const relabelled = {
      ...firstOfView[1]!,
      view_seq: 1_000,
      event_id: 'relabel',
      dimensions: { ...firstOfView[1]!.dimensions, device: 'console' },
    };
    partition.apply([{ offset: '2', event: relabelled, payload: Buffer.alloc(0) }]);
    partition.advanceIdle(relabelled.received_at + settings.pausedEndAfterMs + 60_000);
    const { closed } = partition.closeDueWindows();
    const retracted = closed.flatMap((w) => w.retractions).filter((r) => r.dimension === 'device');
    expect(
      retracted.map((r) => [r.dimension_value, r.window_start, r.concurrent_views, r.views_started]),
    ).toContainEqual([early[0]!.dimension_value, early[0]!.window_start, 0, 0]);
    expect(
      closed
        .flatMap((w) => w.rows)
        .filter((r) => r.dimension === 'device')
        .map((r) => r.dimension_value),
    ).toContain('console');
  });

  it('computes early rows only for windows that stay open, so a backlog is not published twice', () => {
    const events = collectedEvents(plan(16));
    const partition = new PartitionAnalytics(0, settings);
    partition.apply(log(events));
    const { watermark } = partition.progress;
    const early = partition.openWindowRows().rows;
    // A window closes once the watermark passes its end plus the allowed lateness.
    const staysOpen = (start: number) => start + settings.windowMs + settings.allowedLatenessMs > watermark!;
    expect(early.length).toBeGreaterThan(0);
    expect(early.every((row) => staysOpen(row.window_start))).toBe(true);
    const { closed } = partition.closeDueWindows();
    expect(closed.length).toBeGreaterThan(1);
    expect(closed.every((w) => !staysOpen(w.windowStart))).toBe(true);
    // What was closed is final straight away: nothing early to retract.
    expect(closed.flatMap((w) => w.retractions)).toEqual([]);
  });

  it('bounds memory: past the limit the least recently updated view ends at the watermark', () => {
    const scripted = plan(16);
    const partition = new PartitionAnalytics(0, { ...settings, maxViewsPerPartition: 5 });
    const out = finishIdle(partition, drive(partition, log(collectedEvents(scripted)), new SeededRandom(1)));
    const views = out.finals.flatMap((w) => w.views);
    expect(views.filter((v) => v.end_reason === 'capacity').length).toBeGreaterThan(0);
    expect(partition.views.size).toBe(0);
    // A view forgotten after its end (here: evicted early) starts afresh if it keeps sending, as in Mux.
    expect(new Set(views.map((v) => `${v.view_id}@${v.started_at}`)).size).toBe(views.length);
  });

  it('carries a version that grows with the log and with idle advances, finals above early rows', () => {
    const partition = new PartitionAnalytics(0, settings);
    const events = collectedEvents(plan(17)).slice(0, 3);
    partition.apply(log(events));
    const early = partition.version(false);
    expect(partition.version(true)).toBe(early + 1n);
    partition.advanceIdle(events[2]!.received_at + 60_000);
    expect(partition.version(false)).toBeGreaterThan(early);
    partition.apply([
      {
        offset: '3',
        event: {
          ...events[2]!,
          view_seq: 99,
          received_at: events[2]!.received_at + 61_000,
          event_time: events[2]!.received_at + 60_500,
        },
        payload: Buffer.alloc(0),
      },
    ]);
    expect(partition.version(false)).toBeGreaterThan(early + 2n);
    expect(partition.progress.idleTicks).toBe(0);
  });

  it('leaves the latest-value table equal to the ground truth, with early rows, retractions and crashes between persist and publish', () => {
    const scripted = plan(25);
    const jitter = new SeededRandom(5);
    const duplicated = lateAndRepeated(scripted, jitter, 0.1);
    const entries = log(duplicated);
    const truth = computeGroundTruth(scripted, settings);
    const expected = Object.entries(truth.streams)
      .flatMap(([stream_id, stream]) => stream.windows.map((row) => ({ stream_id, ...row })))
      .sort(byTruthOrder);

    for (const crashes of [0, 1, 3]) {
      const table = new LatestValueTable();
      const random = new SeededRandom(100 + crashes);
      const store = new MemoryStateStore();
      let partition = new PartitionAnalytics(0, settings);
      for (let crash = 0; crash < crashes; crash++) {
        checkpointInto(
          table,
          partition,
          entries.slice(redeliveredFrom(store, random)),
          random,
          store,
          random.int(5, 60),
        );
        partition = store.restore();
      }
      checkpointInto(table, partition, entries.slice(redeliveredFrom(store, random)), random, store);
      partition.advanceIdle(partition.progress.watermark! + settings.pausedEndAfterMs + 5 * 60_000);
      const { closed } = partition.closeDueWindows();
      table.insert(
        closed.flatMap((w) => [...w.rows, ...w.retractions]),
        partition.version(true),
      );
      const actual = table.rows();
      expect(actual.length, `${crashes} crashes`).toBeGreaterThan(100);
      expect(actual, `${crashes} crashes`).toEqual(expected);
    }
  });
});
