import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../../core/analytics-store/sql-quoting.ts';
import { applyMigrations } from '../../core/analytics-store/migrations.ts';
import type { Bus, DeliveredMessage } from '../../core/bus/bus.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { KafkaBus } from '../../core/bus/kafka-bus.ts';
import { PlatformaticKafkaBus } from '../../core/bus/platformatic-kafka-bus.ts';
import { Metrics } from '../../core/metrics.ts';
import { allTopicSpecs, stateChangelogTopic, TOPICS } from '../../core/topics.ts';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import { collectedEvents } from '../../tools/simulator/collector-view.ts';
import { planSimulation } from '../../tools/simulator/viewer-scripts.ts';
import { PartitionAnalytics } from './partition-analytics.ts';
import { StateStore } from './state-store.ts';
import { SHORT_ANALYTICS_SETTINGS } from './testing/short-settings.ts';
import { ViewerAnalyticsProcessor } from './viewer-analytics-processor.ts';

/**
 * The processor's state store on the bus (a compacted changelog topic), on the embedded log and
 * on Kafka: what a partition persists, checkpoint by checkpoint, a new process restores as the
 * same views and progress; what folds and closed windows leave behind is tombstoned; a state
 * saved from another log is discarded. And the processor with it writes nothing to ClickHouse.
 */
const settings = SHORT_ANALYTICS_SETTINGS;
const START = Date.UTC(2026, 2, 1, 10, 0, 0);
const LOG_ID = 'embedded:log-one';
const PARTITIONS = 2;
const tuning = { lingerMs: 2, maxBatchMessages: 500, maxBufferedMessages: 100_000 };

function events() {
  const plan = planSimulation({
    viewers: 40,
    durationMs: 150_000,
    seed: 31,
    startAt: START,
    streams: 2,
    maxRebufferMs: settings.maxRebufferMs,
  });
  return collectedEvents(plan).map((event, i) => ({
    offset: String(i),
    event,
    payload: Buffer.from(JSON.stringify(event)),
  }));
}

/** What a restore must get back: views (samples included), progress and the open windows' emitted keys. */
function snapshot(partition: PartitionAnalytics) {
  const views = [...partition.views.values()]
    .sort((a, b) => (a.viewId < b.viewId ? -1 : 1))
    .map((view) => ({ ...view, samples: [...view.samples] }));
  const keys = [...partition.emittedKeys]
    .map(([windowStart, set]) => [windowStart, [...set].sort()])
    .sort((a, b) => Number(a[0]) - Number(b[0]));
  return { progress: partition.progress, views, keys };
}

/** The changelog partition as a restore sees it: the last record per key, tombstones deleting. */
async function liveRecords(bus: Bus, topic: string, partition: number): Promise<Map<string, DeliveredMessage>> {
  const latest = new Map<string, DeliveredMessage>();
  await bus.readPartition(topic, partition, (messages) => {
    for (const m of messages) {
      if (m.tombstone) latest.delete(m.key!);
      else latest.set(m.key!, m);
    }
  });
  return latest;
}

const adapters: Array<{ name: string; open: () => Bus }> = [
  {
    name: 'embedded',
    open: () => new EmbeddedBus({ defaultPartitions: PARTITIONS, maxRetainedMessages: 100_000, publish: tuning }),
  },
  {
    name: 'kafka',
    open: () =>
      new KafkaBus({
        brokers: [testServices().kafkaBrokers],
        clientId: 'state-store-test',
        topicPrefix: `state-${randomUUID().slice(0, 8)}.`,
        defaultPartitions: PARTITIONS,
        replicationFactor: 1,
        publish: tuning,
      }),
  },
  {
    name: 'kafka (@platformatic/kafka)',
    open: () =>
      new PlatformaticKafkaBus({
        brokers: [testServices().kafkaBrokers],
        clientId: 'state-store-test',
        topicPrefix: `state-${randomUUID().slice(0, 8)}.`,
        defaultPartitions: PARTITIONS,
        replicationFactor: 1,
        publish: tuning,
      }),
  },
];

for (const adapter of adapters) {
  describe(`viewer analytics state store (changelog on the ${adapter.name} bus)`, () => {
    let bus: Bus;
    const changelog = () => `changelog.${randomUUID().slice(0, 8)}`;
    const freshChangelog = async () => {
      const topic = changelog();
      await bus.ensureTopics([{ name: topic, partitions: PARTITIONS, compacted: true }]);
      return topic;
    };

    beforeAll(() => {
      bus = adapter.open();
    });
    afterAll(async () => {
      await bus.close();
    });

    it('restores in a new process what every checkpoint persisted, a checkpoint being one publish to its partition', async () => {
      const topic = await freshChangelog();
      const stateStore = new StateStore(bus, topic, LOG_ID);
      const partition = await stateStore.load(1, settings);
      const log = events();
      let checkpoints = 0;
      for (let i = 0; i < log.length; i += 37) {
        partition.apply(log.slice(i, i + 37));
        // Early rows: their keys are part of the state.
        partition.openWindowRows();
        partition.closeDueWindows();
        await stateStore.persist(1, partition.takeChanges());
        checkpoints += 1;
      }
      expect(partition.views.size).toBeGreaterThan(10);
      expect(partition.progress.foldedThrough).not.toBeNull();

      // As after a crash: a store that knows nothing but the changelog.
      const restored = await new StateStore(bus, topic, LOG_ID).load(1, settings);
      expect(snapshot(restored)).toEqual(snapshot(partition));
      // Nothing in the other partition; the source partition's records in its own.
      expect(await liveRecords(bus, topic, 0)).toEqual(new Map());
      const end = await bus.endOffsets(topic);
      expect(end[0]).toBe(0);
      expect(end[1]).toBeGreaterThan(checkpoints);
    });

    it('tombstones sample records a fold holds entirely, keys of closed windows and forgotten views; the state still restores whole', async () => {
      const topic = await freshChangelog();
      const stateStore = new StateStore(bus, topic, LOG_ID);
      const partition = await stateStore.load(0, settings);
      const log = events();
      const viewsSeen = new Set<string>();
      for (let i = 0; i < log.length; i += 50) {
        partition.apply(log.slice(i, i + 50));
        for (const viewId of partition.views.keys()) viewsSeen.add(viewId);
        partition.openWindowRows();
        partition.closeDueWindows();
        await stateStore.persist(0, partition.takeChanges());
      }
      const { foldedThrough, nextWindowToClose } = partition.progress;
      const live = await liveRecords(bus, topic, 0);
      const kinds = [...live.keys()].map((key) => key.split(':')[0]);
      expect(kinds.filter((k) => k === 'progress')).toHaveLength(1);
      expect(kinds).toContain('keys');
      expect(kinds).toContain('samples');
      for (const [key, record] of live) {
        if (key.startsWith('samples:')) {
          const latest = Math.max(
            ...(JSON.parse(record.value.toString()) as Array<[string, Array<[number, number]>]>).flatMap(
              ([, samples]) => samples.map((s) => s[1]),
            ),
          );
          expect(latest).toBeGreaterThan(foldedThrough!);
        }
        if (key.startsWith('keys:')) expect(Number(key.split(':')[1])).toBeGreaterThanOrEqual(nextWindowToClose!);
      }
      // Views the partition forgot (ended long enough ago) have no header left.
      const forgotten = [...viewsSeen].filter((viewId) => !partition.views.has(viewId));
      expect(forgotten.length).toBeGreaterThan(0);
      for (const viewId of forgotten) expect(live.has(`view:${viewId}`)).toBe(false);
      expect([...live.keys()].filter((key) => key.startsWith('view:'))).toHaveLength(partition.views.size);

      const restored = await new StateStore(bus, topic, LOG_ID).load(0, settings);
      expect(snapshot(restored)).toEqual(snapshot(partition));
    });

    it('writes the row keys a checkpoint published early in one record per window, and still reads the one-per-key records of earlier versions', async () => {
      const topic = await freshChangelog();
      const stateStore = new StateStore(bus, topic, LOG_ID);
      const partition = await stateStore.load(0, settings);
      const log = events();
      let newKeys = 0;
      let keyRecords = 0;
      for (let i = 0; i < log.length; i += 60) {
        partition.apply(log.slice(i, i + 60));
        partition.openWindowRows();
        partition.closeDueWindows();
        const changes = partition.takeChanges();
        const windows = new Set(changes.emittedKeys.map((k) => k.windowStart));
        newKeys += changes.emittedKeys.length;
        const write = stateStore.encode(0, changes);
        const records = write.messages.filter((m) => m.key.startsWith('key') && !m.tombstone);
        // Far fewer keys than a record each: one record per window (KEYS_PER_RECORD is well above these).
        expect(records.length).toBeLessThanOrEqual(windows.size);
        keyRecords += records.length;
        await stateStore.write(write);
      }
      expect(newKeys).toBeGreaterThan(keyRecords * 3);

      // A record as earlier versions wrote it, for a window still open: restored as an emitted key,
      // and tombstoned with the window's other key records when it closes.
      const openWindow = Math.max(...partition.emittedKeys.keys());
      const legacyRowKey = JSON.stringify([
        'property-legacy',
        'creator-legacy',
        'stream-legacy',
        'all',
        '',
        openWindow,
      ]);
      await bus.publish(topic, [{ key: `key:${openWindow}:${legacyRowKey}`, value: Buffer.alloc(0), partition: 0 }]);
      const restoringStore = new StateStore(bus, topic, LOG_ID);
      const restored = await restoringStore.load(0, settings);
      expect(restored.emittedKeys.get(openWindow)).toContain(legacyRowKey);
      restored.advanceIdle(
        restored.progress.watermark! + settings.windowMs + settings.allowedLatenessMs + settings.idleAdvanceMs + 1,
      );
      restored.closeDueWindows();
      await restoringStore.persist(0, restored.takeChanges());
      const live = await liveRecords(bus, topic, 0);
      expect([...live.keys()].filter((key) => key.startsWith('key'))).toEqual([]);
    });

    it('discards a state saved from another log, for good', async () => {
      const topic = await freshChangelog();
      const log = events().slice(0, 200);
      const first = new StateStore(bus, topic, LOG_ID);
      const saved = await first.load(0, settings);
      saved.apply(log);
      await first.persist(0, saved.takeChanges());

      const stale: Array<[number, string]> = [];
      const onNewLog = new StateStore(
        bus,
        topic,
        'embedded:log-two',
        (partition, savedLogId) => void stale.push([partition, savedLogId]),
      );
      const rebuilt = await onNewLog.load(0, settings);
      expect(stale).toEqual([[0, LOG_ID]]);
      expect(snapshot(rebuilt)).toEqual(snapshot(new PartitionAnalytics(0, settings)));
      expect(await liveRecords(bus, topic, 0)).toEqual(new Map());
      // What the new log's state persists is all a later load finds.
      rebuilt.apply(log.slice(0, 20));
      await onNewLog.persist(0, rebuilt.takeChanges());
      const again = await new StateStore(bus, topic, 'embedded:log-two', () =>
        expect.fail("the state is the new log's"),
      ).load(0, settings);
      expect(snapshot(again)).toEqual(snapshot(rebuilt));
    });
  });
}

describe('viewer analytics state store: a checkpoint larger than the bus buffer', () => {
  it('lands whole once the buffer is free, instead of stalling its partition', async () => {
    const bus = new EmbeddedBus({
      defaultPartitions: 1,
      maxRetainedMessages: 1_000,
      publish: { lingerMs: 0, maxBatchMessages: 100, maxBufferedMessages: 10 },
    });
    try {
      await bus.ensureTopics([{ name: 'changelog', partitions: 1, compacted: true }]);
      const stateStore = new StateStore(bus, 'changelog', LOG_ID);
      const partition = await stateStore.load(0, settings);
      // 40 views: 40 headers in one checkpoint, four times the buffer.
      partition.apply(events().slice(0, 400));
      await stateStore.persist(0, partition.takeChanges());
      const restored = await new StateStore(bus, 'changelog', LOG_ID).load(0, settings);
      expect(snapshot(restored)).toEqual(snapshot(partition));
    } finally {
      await bus.close();
    }
  });
});

describe('viewer analytics processor: its state on the bus, nothing of it in ClickHouse', () => {
  let store: AnalyticsStore;

  beforeAll(async () => {
    store = await createAnalyticsStore({
      kind: 'clickhouse',
      url: testServices().clickhouseUrl,
      username: 'default',
      password: '',
      database: `vs_${randomUUID().replaceAll('-', '')}`,
    });
    await applyMigrations(store);
  });

  afterAll(async () => {
    await store.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
    await store.close();
  });

  it('keeps its checkpoints in the changelog topic; the analytics store has no state table', async () => {
    const bus = new EmbeddedBus({ defaultPartitions: PARTITIONS, maxRetainedMessages: 100_000, publish: tuning });
    await bus.ensureTopics(allTopicSpecs(PARTITIONS));
    const groupId = 'viewer-analytics';
    const processor = new ViewerAnalyticsProcessor(
      { bus, metrics: new Metrics(), logger: pino({ level: 'silent' }) },
      { settings, groupId },
    );
    try {
      const plan = planSimulation({
        viewers: 20,
        durationMs: 60_000,
        seed: 7,
        streams: 1,
        startAt: Date.now() - 3 * 60_000,
        maxRebufferMs: settings.maxRebufferMs,
      });
      const published = collectedEvents(plan);
      await bus.publish(
        TOPICS.playerEvents,
        published.map((e) => ({ key: e.view_id, value: Buffer.from(JSON.stringify(e)) })),
      );
      await processor.start();
      await waitFor(
        'every event to be checkpointed and committed',
        async () =>
          (await bus.committedOffsets(groupId, TOPICS.playerEvents)).reduce((a, b) => a + Math.max(0, b), 0) >=
          published.length,
        { timeoutMs: 60_000 },
      );
      const changelog = stateChangelogTopic(groupId);
      expect(changelog).toBe('viewer-analytics.state-changelog');
      for (let partition = 0; partition < PARTITIONS; partition++)
        expect((await liveRecords(bus, changelog, partition)).has('progress')).toBe(true);
    } finally {
      await processor.stop();
      await bus.close();
    }
    const tables = await (
      await store.client.query({
        query: 'SELECT name FROM system.tables WHERE database = {db:String}',
        query_params: { db: store.database },
        format: 'JSONEachRow',
      })
    ).json<{ name: string }>();
    expect(tables.map((t) => t.name)).toContain('viewer_windows');
    expect(tables.map((t) => t.name)).not.toContain('viewer_analytics_state');
  });
});
