import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../../core/analytics-store/chdb-session.ts';
import { insertRows } from '../../core/analytics-store/insert.ts';
import { applyMigrations } from '../../core/analytics-store/migrations.ts';
import { testServices } from '../../test/services.ts';
import { collectedEvents } from '../simulator/collector-view.ts';
import { planSimulation } from '../simulator/viewer-scripts.ts';
import { PartitionAnalytics } from './partition-analytics.ts';
import { encodeSample } from './state-codec.ts';
import { StateStore } from './state-store.ts';
import { SHORT_ANALYTICS_SETTINGS } from './testing/short-settings.ts';

/**
 * The processor's state store against the real ClickHouse engine: what a partition persists,
 * checkpoint by checkpoint, loads back as the same views and progress; rows written before the
 * samples of a checkpoint were one row (one per sample) still load; folded sample rows go away.
 */
const settings = SHORT_ANALYTICS_SETTINGS;
const START = Date.UTC(2026, 2, 1, 10, 0, 0);
const LOG_ID = 'embedded:log-one';

function events() {
  const plan = planSimulation({ viewers: 40, durationMs: 150_000, seed: 31, startAt: START, streams: 2, maxRebufferMs: settings.maxRebufferMs });
  return collectedEvents(plan).map((event, i) => ({ offset: String(i), event, payload: Buffer.from(JSON.stringify(event)) }));
}

/** What a restore must get back: views (samples included) and progress. */
function snapshot(partition: PartitionAnalytics) {
  const views = [...partition.views.values()].sort((a, b) => (a.viewId < b.viewId ? -1 : 1)).map((view) => ({ ...view, samples: [...view.samples] }));
  return { progress: partition.progress, views };
}

describe('viewer analytics state store (ClickHouse)', () => {
  let store: AnalyticsStore;

  beforeAll(async () => {
    store = await createAnalyticsStore({ kind: 'clickhouse', url: testServices().clickhouseUrl, username: 'default', password: '', database: `vs_${randomUUID().replaceAll('-', '')}` });
    await applyMigrations(store);
  });

  afterAll(async () => {
    await store.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store.close();
  });

  it('loads back what every checkpoint persisted, with a checkpoint\'s samples written as one row', async () => {
    const stateStore = new StateStore(store, 'group-a', LOG_ID);
    const partition = await stateStore.load(0, settings);
    const log = events();
    let checkpoints = 0;
    for (let i = 0; i < log.length / 2; i += 37) {
      partition.apply(log.slice(i, i + 37));
      await stateStore.persist(0, partition.takeChanges());
      partition.closeDueWindows();
      checkpoints += 1;
    }
    await stateStore.persist(0, partition.takeChanges());
    expect(partition.views.size).toBeGreaterThan(10);

    const restored = await new StateStore(store, 'group-a', LOG_ID).load(0, settings);
    expect(snapshot(restored)).toEqual(snapshot(partition));
    const rows = await (await store.client.query({ query: `SELECT toString(kind) AS kind, count() AS n FROM viewer_analytics_state FINAL WHERE consumer_group = 'group-a' GROUP BY kind ORDER BY kind`, format: 'JSONEachRow' })).json<{ kind: string; n: string }>();
    const byKind = Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
    // Far fewer rows than samples: at most one per checkpoint.
    expect(byKind.samples).toBeGreaterThan(0);
    expect(byKind.samples).toBeLessThanOrEqual(checkpoints + 1);
    expect(byKind.sample).toBeUndefined();
  });

  it('still loads samples persisted one per row, as before migration 0022', async () => {
    const stateStore = new StateStore(store, 'group-b', LOG_ID);
    const partition = await stateStore.load(0, settings);
    const log = events().slice(0, 120);
    partition.apply(log);
    const changes = partition.takeChanges();
    const samples = changes.samples;
    // Persist everything but the samples the new way, then the samples as the old per-sample rows.
    await stateStore.persist(0, { ...changes, samples: [] });
    await insertRows(store, {
      table: 'viewer_analytics_state',
      rows: samples.map(({ view, sample }) => ({
        consumer_group: 'group-b', source_partition: 0, kind: 'sample', entity: view.viewId, seq: sample.seq, t: sample.t,
        body: JSON.stringify(encodeSample(sample, view.firstDims)), version: String(2n ** 53n - BigInt(sample.t)), is_deleted: 0,
      })),
      dedupToken: 'old-format-samples',
    });
    const restored = await new StateStore(store, 'group-b', LOG_ID).load(0, settings);
    expect(snapshot(restored)).toEqual(snapshot(partition));
  });

  it('discards a state saved from another log, and keeps one saved before log ids existed', async () => {
    const log = events().slice(0, 200);
    const saved = await new StateStore(store, 'group-d', LOG_ID).load(0, settings);
    saved.apply(log);
    await new StateStore(store, 'group-d', LOG_ID).persist(0, saved.takeChanges());

    const stale: Array<[number, string]> = [];
    const onNewLog = new StateStore(store, 'group-d', 'embedded:log-two', (partition, savedLogId) => void stale.push([partition, savedLogId]));
    const rebuilt = await onNewLog.load(0, settings);
    expect(stale).toEqual([[0, LOG_ID]]);
    expect(snapshot(rebuilt)).toEqual(snapshot(new PartitionAnalytics(0, settings)));
    // Its rows are gone: what the new log's state persists is all a later load finds.
    rebuilt.apply(log.slice(0, 20));
    await onNewLog.persist(0, rebuilt.takeChanges());
    expect(snapshot(await new StateStore(store, 'group-d', 'embedded:log-two').load(0, settings))).toEqual(snapshot(rebuilt));

    // A progress row without a log id (written before there were any) belongs to the current log.
    await store.client.command({
      query: `ALTER TABLE viewer_analytics_state UPDATE body = replaceRegexpOne(body, ',"logId":"[^"]*"', '') WHERE consumer_group = 'group-d' AND kind = 'progress' SETTINGS mutations_sync = 1`,
    });
    const adopted = await new StateStore(store, 'group-d', 'kafka:any-cluster/player.events', () => expect.fail('a state without a log id is kept')).load(0, settings);
    expect(snapshot(adopted)).toEqual(snapshot(rebuilt));
  });

  it('deletes sample rows once a fold holds every sample in them; the state still loads whole', async () => {
    const stateStore = new StateStore(store, 'group-c', LOG_ID);
    const partition = await stateStore.load(0, settings);
    const log = events();
    for (let i = 0; i < log.length; i += 50) {
      partition.apply(log.slice(i, i + 50));
      partition.closeDueWindows();
      const changes = partition.takeChanges();
      await stateStore.persist(0, changes);
      await stateStore.deleteFolded(0, changes.progress);
    }
    const folded = partition.progress.foldedThrough;
    expect(folded).not.toBeNull();
    const remaining = await (await store.client.query({ query: `SELECT min(t) AS oldest FROM viewer_analytics_state WHERE consumer_group = 'group-c' AND kind = 'samples'`, format: 'JSONEachRow' })).json<{ oldest: string }>();
    expect(Number(remaining[0]!.oldest)).toBeGreaterThan(folded!);
    const restored = await new StateStore(store, 'group-c', LOG_ID).load(0, settings);
    expect(snapshot(restored)).toEqual(snapshot(partition));
  });
});
