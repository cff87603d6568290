import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import type { OutgoingMessage } from '../../core/bus/bus.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { Metrics } from '../../core/metrics.ts';
import { allTopicSpecs, TOPICS } from '../../core/topics.ts';
import { waitFor } from '../../test/wait-for.ts';
import { createThrowawayAnalyticsStore, dropThrowawayAnalyticsStore } from '../../test/throwaway-analytics-store.ts';
import { aggregatesKey, watermarkMessage, windowRowsMessages } from '../../core/analytics/aggregate-messages.ts';
import { ClickHouseSink } from './clickhouse-sink.ts';
import { closedWindow, windowRow } from './testing/final-chunks.ts';

/**
 * The aggregates sink writes a bus batch's rows as one insert per table, and still counts every
 * closed window chunk once: when the batch is delivered again, when its chunks come back at new
 * offsets mixed with new ones (a processor that crashed after publishing), and when an insert
 * landed but its answer was lost.
 */
const logger = pino({ level: 'silent' });
const PROPERTY = 'sink-batches';
const WINDOW = Date.UTC(2026, 11, 7, 9, 0, 0);
const SOURCE_PARTITION = 1;

interface RecordedInsert {
  table: string;
  token: string;
}

describe('ClickHouse sink: analytics aggregates in few inserts', () => {
  let store: AnalyticsStore;
  let bus: EmbeddedBus;

  beforeAll(async () => {
    store = await createThrowawayAnalyticsStore('sb');
    bus = new EmbeddedBus({
      defaultPartitions: 2,
      maxRetainedMessages: 100_000,
      publish: { lingerMs: 2, maxBatchMessages: 1_000, maxBufferedMessages: 100_000 },
    });
    await bus.ensureTopics(allTopicSpecs(2));
  });

  afterAll(async () => {
    await bus?.close();
    await dropThrowawayAnalyticsStore(store);
  });

  /** The store as the sink sees it, recording every insert and losing the answer of the first one into `loseAnswerOf`. */
  const recordingStore = (inserts: RecordedInsert[], loseAnswerOf?: string): AnalyticsStore => {
    let lost = false;
    const insert: AnalyticsStore['client']['insert'] = async (params) => {
      const result = await store.client.insert(params);
      inserts.push({ table: params.table, token: String(params.clickhouse_settings?.insert_deduplication_token) });
      if (params.table === loseAnswerOf && !lost) {
        lost = true;
        throw new Error('injected: the insert landed but its answer was lost');
      }
      return result;
    };
    const client = new Proxy(store.client, {
      get: (target, property) => (property === 'insert' ? insert : (Reflect.get(target, property, target) as unknown)),
    });
    return new Proxy(store, {
      get: (target, property) => (property === 'client' ? client : (Reflect.get(target, property, target) as unknown)),
    });
  };

  const drain = async (inserts: RecordedInsert[], group: string, loseAnswerOf?: string) => {
    const groups = { aggregates: group, rawEvents: `${group}-raw`, deadLetters: `${group}-dl` };
    const sink = new ClickHouseSink(
      { bus, analytics: recordingStore(inserts, loseAnswerOf), metrics: new Metrics(), logger },
      { consume: ['aggregates'], groups },
    );
    await sink.start();
    await waitFor(
      `${group} to commit every aggregates message`,
      async () => {
        const [committed, end] = await Promise.all([
          bus.committedOffsets(group, TOPICS.analyticsAggregates),
          bus.endOffsets(TOPICS.analyticsAggregates),
        ]);
        return end.every((e, p) => e === 0 || committed[p] === e);
      },
      { timeoutMs: 60_000 },
    );
    await sink.stop();
  };

  const figures = async () => {
    const query = async (sql: string) =>
      (
        await (
          await store.client.query({ query: sql, query_params: { property: PROPERTY }, format: 'JSONEachRow' })
        ).json<Record<string, string | number>>()
      )[0]!;
    const [finals, summaries, windowRollup, viewRollup] = await Promise.all([
      query(
        'SELECT count() AS rows, sum(watch_ms) AS watch_ms FROM viewer_window_finals WHERE property_id = {property:String}',
      ),
      query('SELECT count() AS rows FROM view_summaries WHERE property_id = {property:String}'),
      query(
        'SELECT sum(watch_ms) AS watch_ms, sum(views_started) AS views_started FROM viewer_windows_minute WHERE property_id = {property:String}',
      ),
      query(
        `SELECT sum(views) AS views FROM view_rollup_minute WHERE property_id = {property:String} AND dimension = 'all' AND bucket = 'start'`,
      ),
    ]);
    return {
      finalRows: Number(finals.rows),
      finalWatchMs: Number(finals.watch_ms),
      summaries: Number(summaries.rows),
      rolledUpWatchMs: Number(windowRollup.watch_ms),
      rolledUpViewsStarted: Number(windowRollup.views_started),
      rolledUpViews: Number(viewRollup.views),
    };
  };

  const insertsPerTable = (inserts: RecordedInsert[]) => {
    const tables: Record<string, number> = {};
    for (const { table } of inserts) tables[table] = (tables[table] ?? 0) + 1;
    return tables;
  };

  const publishWindows = (windowStarts: number[]) => {
    const windows = windowStarts.map((windowStart) =>
      closedWindow({
        sourcePartition: SOURCE_PARTITION,
        windowStart,
        rows: 40,
        views: 25,
        maxBytes: 6 * 1024,
        propertyId: PROPERTY,
      }),
    );
    return { windows, messages: windows.flatMap((w) => w.messages) };
  };

  const expected = (windows: number) => ({
    finalRows: 40 * windows,
    finalWatchMs: 40 * 10_000 * windows,
    summaries: 25 * windows,
    rolledUpWatchMs: 40 * 10_000 * windows,
    rolledUpViewsStarted: 40 * windows,
    rolledUpViews: 25 * windows,
  });

  it('writes a batch of many final chunks as one insert per table, and a replay of it, at the same offsets or new ones, adds nothing', async () => {
    const first = publishWindows([WINDOW, WINDOW + 10_000, WINDOW + 20_000]);
    const key = aggregatesKey('viewer-analytics', SOURCE_PARTITION);
    const early = windowRowsMessages(
      {
        group: 'viewer-analytics',
        source_partition: SOURCE_PARTITION,
        version: String(WINDOW + 30_000),
        emitted_at: WINDOW + 31_000,
      },
      [windowRow(1, WINDOW + 30_000, PROPERTY)],
    );
    const watermark = watermarkMessage({
      group: 'viewer-analytics',
      source_partition: SOURCE_PARTITION,
      version: String(WINDOW + 30_000),
      emitted_at: WINDOW + 31_000,
      watermark: WINDOW + 31_000,
      watermark_window_start: WINDOW + 30_000,
      closed_before: WINDOW + 30_000,
    });
    const batch: OutgoingMessage[] = [...first.messages, ...early, watermark];
    expect(first.messages.length).toBeGreaterThan(6);
    await bus.publish(TOPICS.analyticsAggregates, batch);

    const inserts: RecordedInsert[] = [];
    await drain(inserts, 'sink-batches');
    expect(insertsPerTable(inserts)).toEqual({
      viewer_windows: 1,
      viewer_window_finals: 1,
      view_summaries: 1,
      viewer_source_watermarks: 1,
    });
    expect(await figures()).toEqual(expected(3));

    // The same batch again, at the same offsets, as a sink that crashed before its commit reads it.
    const replayed: RecordedInsert[] = [];
    await drain(replayed, 'sink-batches-replay');
    expect(replayed.filter((i) => i.table === 'viewer_window_finals' || i.table === 'view_summaries')).toEqual([]);
    expect(await figures()).toEqual(expected(3));

    // The finals again at new offsets, as a processor that crashed after publishing re-emits them,
    // in one batch with a window that is new: only the new window is written.
    const fourth = publishWindows([WINDOW + 30_000]);
    await bus.publish(
      TOPICS.analyticsAggregates,
      [...first.messages, ...fourth.messages, ...first.messages.slice(0, 3)].map((m) => ({ ...m, key })),
    );
    const reemitted: RecordedInsert[] = [];
    await drain(reemitted, 'sink-batches');
    expect(insertsPerTable(reemitted)).toEqual({ viewer_windows: 1, viewer_window_finals: 1, view_summaries: 1 });
    expect(await figures()).toEqual(expected(4));
    // The ledger knows each chunk's window, for a backfill that deletes a range (docs/operations.md).
    const ledger = await store.client.query({
      query:
        'SELECT target, toUnixTimestamp(window_start) * 1000 AS window_start, count() AS chunks FROM viewer_final_chunks GROUP BY ALL ORDER BY ALL',
      format: 'JSONEachRow',
    });
    expect(
      (await ledger.json<{ target: string; window_start: string | number; chunks: string | number }>()).map((r) => [
        r.target,
        Number(r.window_start),
        Number(r.chunks),
      ]),
    ).toEqual(
      ['view_summaries', 'viewer_window_finals'].flatMap((target) =>
        [...first.windows, ...fourth.windows].map((w, i) => [
          target,
          WINDOW + i * 10_000,
          w.parsed.filter((m) => (target === 'view_summaries' ? m.views : m.rows).length > 0).length,
        ]),
      ),
    );
  });

  it('writes a batch of hundreds of final chunks as one insert per table, and adds nothing when they come again', async () => {
    const before = await figures();
    // A row or view per chunk: seven windows of 65 chunks, more keys than one request's URL holds.
    const windows = Array.from({ length: 7 }, (_, i) =>
      closedWindow({
        sourcePartition: SOURCE_PARTITION,
        windowStart: WINDOW + 60_000 + i * 10_000,
        rows: 40,
        views: 25,
        maxBytes: 100,
        propertyId: PROPERTY,
      }),
    );
    const messages = windows.flatMap((w) => w.messages);
    expect(messages.length).toBeGreaterThan(400);
    expect(messages.length).toBeLessThanOrEqual(500);
    await bus.publish(TOPICS.analyticsAggregates, messages);
    const inserts: RecordedInsert[] = [];
    await drain(inserts, 'sink-batches');
    expect(insertsPerTable(inserts)).toEqual({ viewer_windows: 1, viewer_window_finals: 1, view_summaries: 1 });
    await bus.publish(TOPICS.analyticsAggregates, messages);
    const again: RecordedInsert[] = [];
    await drain(again, 'sink-batches');
    expect(insertsPerTable(again)).toEqual({ viewer_windows: 1 });
    const after = await figures();
    expect(
      Object.fromEntries(
        Object.entries(after).map(([name, value]) => [name, value - before[name as keyof typeof before]]),
      ),
    ).toEqual(expected(7));
  });

  it('counts a batch once when its insert landed but the answer was lost', async () => {
    const before = await figures();
    const fifth = publishWindows([WINDOW + 40_000, WINDOW + 50_000]);
    await bus.publish(TOPICS.analyticsAggregates, fifth.messages);
    const inserts: RecordedInsert[] = [];
    await drain(inserts, 'sink-batches', 'viewer_window_finals');
    // Tried twice: the second attempt found the finals' chunks in the ledger and wrote the summaries only.
    expect(insertsPerTable(inserts)).toEqual({ viewer_windows: 2, viewer_window_finals: 1, view_summaries: 1 });
    const after = await figures();
    expect(
      Object.fromEntries(
        Object.entries(after).map(([name, value]) => [name, value - before[name as keyof typeof before]]),
      ),
    ).toEqual(expected(2));
  });
});
