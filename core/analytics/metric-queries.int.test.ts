import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../analytics-store/sql-quoting.ts';
import { insertRows } from '../analytics-store/insert.ts';
import { applyMigrations } from '../analytics-store/migrations.ts';
import { testServices } from '../../test/services.ts';
import { dateTime64, watermarkRowForClickHouse, windowRowForClickHouse } from './clickhouse-rows.ts';
import { collectedEvents } from '../../tools/simulator/collector-view.ts';
import { planSimulation } from '../../tools/simulator/viewer-scripts.ts';
import {
  creatorConcurrencyByInterval,
  liveStreamProperties,
  streamMetricsByInterval,
  streamOwners,
  windowMetrics,
} from './metric-queries.ts';
import { PartitionAnalytics } from '../../stream-processors/viewer-analytics/partition-analytics.ts';
import { SHORT_ANALYTICS_SETTINGS } from '../../stream-processors/viewer-analytics/testing/short-settings.ts';
import type { WindowRow } from './aggregate-messages.ts';
import { emptyRow } from '../../stream-processors/viewer-analytics/window-rows.ts';

/**
 * Window queries against the real ClickHouse engine, over rows as the processor publishes them:
 * an early row whose key later empties out is replaced by a zero row (`viewer_windows` keeps the
 * latest value per key), and a zero row is not a window anybody was in.
 */
const settings = SHORT_ANALYTICS_SETTINGS;
// Recent: the table's TTL drops windows older than 35 days.
const START = Math.floor(Date.now() / 60_000) * 60_000 - 600_000;

describe('viewer window queries (ClickHouse)', () => {
  let store: AnalyticsStore;

  beforeAll(async () => {
    store = await createAnalyticsStore({
      kind: 'clickhouse',
      url: testServices().clickhouseUrl,
      username: 'default',
      password: '',
      database: `mq_${randomUUID().replaceAll('-', '')}`,
    });
    await applyMigrations(store);
  });

  afterAll(async () => {
    await store.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store.close();
  });

  // One insert per aggregates message, as the sink makes one per bus batch.
  let inserts = 0;
  const write = (rows: WindowRow[], version: number, isFinal: boolean) =>
    insertRows(store, {
      table: 'viewer_windows',
      rows: rows.map((row) =>
        Object.assign(windowRowForClickHouse(row, 0, String(version)), {
          is_final: isFinal ? 1 : 0,
          emitted_at: dateTime64(START),
        }),
      ),
      dedupToken: `metric-queries-${++inserts}`,
    });

  /** A source partition's `viewer_watermark`, as the sink stores it: the window it has reached and the windows it has closed. */
  const watermark = (sourcePartition: number, at: { windowStart: number; closedBefore: number; emittedAt: number }) =>
    insertRows(store, {
      table: 'viewer_source_watermarks',
      rows: [
        watermarkRowForClickHouse({
          type: 'viewer_watermark',
          group: 'g',
          source_partition: sourcePartition,
          version: String(at.windowStart),
          emitted_at: at.emittedAt,
          watermark: at.windowStart + 5_000,
          watermark_window_start: at.windowStart,
          closed_before: at.closedBefore,
        }),
      ],
      dedupToken: `watermark-${sourcePartition}-${at.windowStart}-${at.closedBefore}-${at.emittedAt}`,
    });

  it('does not list a key whose early row was retracted to zero, and the totals are unchanged', async () => {
    const events = collectedEvents(
      planSimulation({
        viewers: 40,
        durationMs: 60_000,
        seed: 15,
        startAt: START,
        streams: 1,
        maxRebufferMs: settings.maxRebufferMs,
      }),
    );
    const viewId = events[0]!.view_id;
    const firstOfView = events.filter((e) => e.view_id === viewId);
    const partition = new PartitionAnalytics(0, settings);
    partition.apply(
      firstOfView.slice(0, 2).map((event, i) => ({ offset: String(i), event, payload: Buffer.alloc(0) })),
    );
    const early = partition.openWindowRows();
    const earlyDevice = early.rows.find((r) => r.dimension === 'device')!;
    await write([...early.rows, ...early.retractions], 1, false);

    // A late-but-allowed event says the device was another one all along: the early key empties out.
    const relabelled = {
      ...firstOfView[1]!,
      view_seq: 1_000,
      event_id: 'relabel',
      dimensions: { ...firstOfView[1]!.dimensions, device: 'console' },
    };
    partition.apply([{ offset: '2', event: relabelled, payload: Buffer.alloc(0) }]);
    partition.advanceIdle(relabelled.received_at + settings.pausedEndAfterMs + 60_000);
    const { closed } = partition.closeDueWindows();
    const finals = closed.flatMap((w) => w.rows);
    const retractions = closed.flatMap((w) => w.retractions);
    expect(retractions.map((r) => `${r.dimension}=${r.dimension_value}@${r.window_start}`)).toContain(
      `device=${earlyDevice.dimension_value}@${earlyDevice.window_start}`,
    );
    await write(finals, 2, true);
    await write(retractions, 2, false);

    const scope = { propertyId: earlyDevice.property_id, streamId: earlyDevice.stream_id };
    const listed = await windowMetrics(store, { ...scope, dimension: 'device' });
    const expected = finals
      .filter((r) => r.dimension === 'device')
      .sort((a, b) => a.window_start - b.window_start || (a.dimension_value < b.dimension_value ? -1 : 1));
    expect(
      listed.map((r) => [r.window_start, r.dimension_value, r.concurrent_views, r.views_started, r.watch_ms]),
    ).toEqual(
      expected.map((r) => [r.window_start, r.dimension_value, r.concurrent_views, r.views_started, r.watch_ms]),
    );
    expect(listed.map((r) => r.dimension_value)).not.toContain(earlyDevice.dimension_value);

    // Per interval, only windows somebody was in count: here a stream total retracted to zero
    // (as when the only view turns out to have ended before the window).
    const windows = finals.filter((r) => r.dimension === 'all');
    const lastWindow = Math.max(...windows.map((r) => r.window_start));
    await write([emptyRow({ ...windows[0]!, window_start: lastWindow + settings.windowMs })], 3, false);
    const perWindow = await streamMetricsByInterval(
      store,
      scope,
      { from: START - 3_600_000, to: START + 3_600_000 },
      { source: 'window', intervalSeconds: settings.windowMs / 1000 },
    );
    expect(perWindow.map((r) => [r.period_start, r.peak_concurrent_views, r.views_started])).toEqual(
      windows
        .sort((a, b) => a.window_start - b.window_start)
        .map((r) => [r.window_start, r.concurrent_views, r.views_started]),
    );
  });

  it("counts a window in the creator's concurrency only once every source partition has closed it", async () => {
    const row = (windowStart: number, concurrent: number): WindowRow => ({
      ...emptyRow({
        property_id: 'p',
        creator_id: 'closing-creator',
        stream_id: 'closing-stream',
        dimension: 'all',
        dimension_value: '',
        window_start: windowStart,
      }),
      concurrent_views: concurrent,
    });
    const w = (n: number) => START + n * settings.windowMs;
    const finals = async (sourcePartition: number, rows: WindowRow[]) =>
      insertRows(store, {
        table: 'viewer_window_finals',
        rows: rows.map((r) => windowRowForClickHouse(r, sourcePartition, '1')),
        dedupToken: `finals-${sourcePartition}-${++inserts}`,
      });
    const closed = (sourcePartition: number, closedBefore: number) =>
      watermark(sourcePartition, { windowStart: closedBefore + 40_000, closedBefore, emittedAt: START });
    // Partition 0 has closed windows 0 and 1; partition 1 only window 0 (its final for window 1 is still to come).
    await finals(0, [row(w(0), 2), row(w(1), 2)]);
    await finals(1, [row(w(0), 3)]);
    await closed(0, w(2));
    await closed(1, w(1));
    const scope = { creatorId: 'closing-creator', streams: [{ property_id: 'p', stream_id: 'closing-stream' }] };
    const range = { from: w(0), to: w(10) };
    const concurrency = async () =>
      (await creatorConcurrencyByInterval(store, scope, range, { intervalSeconds: settings.windowMs / 1000 })).map(
        (r) => [r.period_start, r.peak_concurrent_views],
      );
    expect(await concurrency()).toEqual([[w(0), 5]]);
    // Once partition 1 closes window 1 too, it counts with both partitions.
    await finals(1, [row(w(1), 3)]);
    await closed(1, w(2));
    expect(await concurrency()).toEqual([
      [w(0), 5],
      [w(1), 5],
    ]);
  });

  it('ends the 10 s metrics at the newest window every source partition has reached', async () => {
    // Sources 2 and 3, reported later than the closing test's (0 and 1), which fall out of the ten-minute lookback.
    const emittedAt = START + 20 * 60_000;
    const w = (n: number) => START + n * settings.windowMs;
    const row = (windowStart: number, concurrent: number): WindowRow => ({
      ...emptyRow({
        property_id: 'p',
        creator_id: 'reaching-creator',
        stream_id: 'reaching-stream',
        dimension: 'all',
        dimension_value: '',
        window_start: windowStart,
      }),
      concurrent_views: concurrent,
      views_started: 1,
      watch_ms: 1_000 * concurrent,
    });
    const early = (sourcePartition: number, rows: WindowRow[]) =>
      insertRows(store, {
        table: 'viewer_windows',
        rows: rows.map((r) =>
          Object.assign(windowRowForClickHouse(r, sourcePartition, '1'), {
            is_final: 0,
            emitted_at: dateTime64(emittedAt),
          }),
        ),
        dedupToken: `reaching-${sourcePartition}-${++inserts}`,
      });
    // Right after a boundary: source partition 2 has reached window 1 and reported it; 3 is still in window 0.
    await early(2, [row(w(0), 2), row(w(1), 2)]);
    await early(3, [row(w(0), 3)]);
    await watermark(2, { windowStart: w(1), closedBefore: w(0), emittedAt });
    await watermark(3, { windowStart: w(0), closedBefore: w(0), emittedAt });
    const scope = { propertyId: 'p', streamId: 'reaching-stream' };
    const points = async () =>
      (
        await streamMetricsByInterval(
          store,
          scope,
          { from: w(0), to: w(10) },
          { source: 'window', intervalSeconds: settings.windowMs / 1000 },
        )
      ).map((r) => [r.period_start, r.peak_concurrent_views, r.views_started, r.watch_ms]);
    expect(await points()).toEqual([[w(0), 5, 2, 5_000]]);
    // No window of it is final yet: only its live windows know the stream (the query API's property lookup).
    expect(await streamOwners(store, 'reaching-stream')).toEqual([]);
    expect(await liveStreamProperties(store, 'reaching-stream')).toEqual([{ property_id: 'p' }]);
    // Once 3 reaches window 1 (its rows first, as the sink writes them), window 1 shows with both.
    await early(3, [row(w(1), 3)]);
    await watermark(3, { windowStart: w(1), closedBefore: w(0), emittedAt });
    expect(await points()).toEqual([
      [w(0), 5, 2, 5_000],
      [w(1), 5, 2, 5_000],
    ]);
  });
});
