import { setTimeout as sleep } from 'node:timers/promises';
import {
  BusBackpressureError,
  tombstoneMessage,
  type Bus,
  type DeliveredMessage,
  type OutgoingMessage,
} from '../../core/bus/bus.ts';
import type { AnalyticsSettings } from '../../core/config.ts';
import { PartitionAnalytics, type PartitionProgress } from './partition-analytics.ts';
import type { PartitionChanges } from './partition-changes.ts';
import {
  assembleViews,
  encodeSample,
  encodeViewHeader,
  StateDecodeError,
  type EncodedSample,
  type PersistedSample,
} from './state-codec.ts';

/**
 * The processor's state on the bus, the Kafka Streams way: each source partition's state is kept
 * in memory (PartitionAnalytics) and made durable in a compacted changelog topic whose partition
 * p holds the state of source partition p. A checkpoint publishes what changed as records keyed
 * per entity — `progress`, `view:<id>` (a view's header), `samples:<n>` (checkpoint n's applied
 * samples, one record), `keys:<window start>:<n>:<chunk>` (the row keys checkpoint n published
 * early for the first time in that window, up to KEYS_PER_RECORD a record) — and tombstones for
 * what went away: views forgotten, sample records a fold holds entirely, the key records of
 * closed windows. Row keys go many to a record because a window has hundreds (stream ×
 * dimension value): one record each made two thirds of the changelog (a record and, at the
 * close, its tombstone), and the bus pays per record. One checkpoint is one publish to one partition, which the bus appends whole or
 * not at all. Restoring reads the partition from its start, keeps the last record per key
 * (compaction is lazy on Kafka) and assembles the views as before.
 *
 * The progress names the bus log its offsets count (Bus.logId of the source topic): a state
 * saved from another log is discarded on load (tombstoned, so it does not come back).
 */
type SampleBatch = Array<[viewId: string, samples: EncodedSample[]]>;

interface PersistedProgress extends PartitionProgress {
  /** Numbers the checkpoints of a partition; `samples:<checkpoint>` holds checkpoint n's samples. */
  checkpoint: number;
  /** The bus's id of the log whose offsets `lastOffset` counts (Bus.logId). */
  logId: string;
}

const PROGRESS_KEY = 'progress';
const VIEW_PREFIX = 'view:';
const SAMPLES_PREFIX = 'samples:';
const KEYS_PREFIX = 'keys:';
/** Earlier versions wrote one record per row key: still read, and tombstoned when their window closes. */
const LEGACY_KEY_PREFIX = 'key:';
/** Row keys are up to a few hundred bytes: a record stays far under the bus's message size. */
const KEYS_PER_RECORD = 256;

/** What the store knows of one partition's changelog: enough to tombstone what a fold or a close leaves behind. */
interface PartitionLedger {
  checkpoint: number;
  /** Sample records still live, with the latest sample time in each. */
  sampleRecords: Map<string, number>;
  /** Row-key records (`keys:` and legacy `key:`) still live, per window start. */
  keyRecords: Map<number, string[]>;
}

/** One checkpoint's records, encoded when it was taken. */
export interface StateWrite {
  readonly partition: number;
  readonly messages: readonly OutgoingMessage[];
}

export class StateStore {
  private readonly ledgers = new Map<number, PartitionLedger>();

  /**
   * `topic`: the changelog (partitioned like the source topic). `logId`: the id of the log the
   * partitions are read from now (Bus.logId of the source topic); a partition's state saved from
   * another log is discarded on load, and `onStaleState` told.
   */
  constructor(
    private readonly bus: Pick<Bus, 'publish' | 'readPartition'>,
    private readonly topic: string,
    private readonly logId: string,
    private readonly onStaleState?: (partition: number, savedLogId: string) => void,
  ) {}

  async load(partition: number, settings: AnalyticsSettings): Promise<PartitionAnalytics> {
    const latest = new Map<string, DeliveredMessage>();
    await this.bus.readPartition(this.topic, partition, (messages) => {
      for (const message of messages) {
        if (message.key === null) continue;
        if (message.tombstone) latest.delete(message.key);
        else latest.set(message.key, message);
      }
    });
    const ledger: PartitionLedger = { checkpoint: 0, sampleRecords: new Map(), keyRecords: new Map() };
    this.ledgers.set(partition, ledger);
    let progress: PersistedProgress | undefined;
    const headers: Array<{ viewId: string; body: string }> = [];
    const samples: PersistedSample[] = [];
    const emittedKeys: Array<{ windowStart: number; key: string }> = [];
    for (const [key, message] of latest) {
      const body = message.value.toString('utf8');
      try {
        if (key === PROGRESS_KEY) progress = JSON.parse(body) as PersistedProgress;
        else if (key.startsWith(VIEW_PREFIX)) headers.push({ viewId: key.slice(VIEW_PREFIX.length), body });
        else if (key.startsWith(SAMPLES_PREFIX)) {
          let latestT = -Infinity;
          for (const [viewId, encoded] of JSON.parse(body) as SampleBatch) {
            for (const sample of encoded) {
              samples.push({ viewId, body: sample });
              if (sample[1] > latestT) latestT = sample[1];
            }
          }
          ledger.sampleRecords.set(key, latestT);
        } else if (key.startsWith(KEYS_PREFIX)) {
          const windowStart = windowStartOfKeyRecord(key, KEYS_PREFIX);
          const keys: unknown = JSON.parse(body);
          if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
            throw new Error('not a list of row keys');
          for (const rowKey of keys) emittedKeys.push({ windowStart, key: rowKey });
          addKeyRecord(ledger, windowStart, key);
        } else if (key.startsWith(LEGACY_KEY_PREFIX)) {
          const windowStart = windowStartOfKeyRecord(key, LEGACY_KEY_PREFIX);
          emittedKeys.push({ windowStart, key: key.slice(key.indexOf(':', LEGACY_KEY_PREFIX.length) + 1) });
          addKeyRecord(ledger, windowStart, key);
        } else throw new Error('unknown kind of record');
      } catch (error) {
        throw new StateDecodeError(`changelog record ${key} of partition ${partition}`, String(error));
      }
    }
    if (progress && progress.logId !== this.logId) {
      // Its offsets name another log's records: applying the new log's first events as if they
      // were those would skip them. The group's commits went with that log, so this partition is
      // read from its start.
      await this.write({ partition, messages: [...latest.keys()].map((key) => tombstoneMessage(key, partition)) });
      this.onStaleState?.(partition, progress.logId);
      this.ledgers.set(partition, { checkpoint: progress.checkpoint, sampleRecords: new Map(), keyRecords: new Map() });
      return new PartitionAnalytics(partition, settings);
    }
    if (!progress) return new PartitionAnalytics(partition, settings);
    ledger.checkpoint = progress.checkpoint;
    const { checkpoint: _checkpoint, logId: _logId, ...saved } = progress;
    return PartitionAnalytics.restore(partition, settings, {
      progress: saved,
      views: assembleViews(headers, samples),
      emittedKeys,
    });
  }

  /** Publishes the changes as one checkpoint. */
  persist(partition: number, changes: PartitionChanges): Promise<void> {
    return this.write(this.encode(partition, changes));
  }

  /**
   * A checkpoint's records, encoded now: the changes refer to live views that later batches go on
   * changing while the write is in flight. One write per partition at a time; a failed one makes
   * the processor load the partition again (which reads the ledger again too).
   */
  encode(partition: number, changes: PartitionChanges): StateWrite {
    const ledger = this.ledgers.get(partition);
    if (!ledger) throw new Error(`partition ${partition}: encoding a checkpoint of a state never loaded`);
    ledger.checkpoint += 1;
    const messages: OutgoingMessage[] = [];
    const record = (key: string, value: string): OutgoingMessage => ({ key, value: Buffer.from(value), partition });
    const { foldedThrough, nextWindowToClose } = changes.progress;
    // What the fold holds entirely (a restore would skip it) and the keys of closed windows go first.
    if (foldedThrough !== null) {
      for (const [key, latestT] of ledger.sampleRecords) {
        if (latestT > foldedThrough) continue;
        messages.push(tombstoneMessage(key, partition));
        ledger.sampleRecords.delete(key);
      }
    }
    if (nextWindowToClose !== null) {
      for (const [windowStart, keys] of ledger.keyRecords) {
        if (windowStart >= nextWindowToClose) continue;
        for (const key of keys) messages.push(tombstoneMessage(key, partition));
        ledger.keyRecords.delete(windowStart);
      }
    }
    if (changes.samples.length > 0) {
      // One record for all of them: per-record costs dominate, and they are written and dropped together.
      const byView = new Map<string, EncodedSample[]>();
      let latestT = -Infinity;
      for (const { view, sample } of changes.samples) {
        const encoded = encodeSample(sample, view.firstDims);
        const list = byView.get(view.viewId);
        if (list) list.push(encoded);
        else byView.set(view.viewId, [encoded]);
        if (sample.t > latestT) latestT = sample.t;
      }
      const key = `${SAMPLES_PREFIX}${ledger.checkpoint}`;
      messages.push(record(key, JSON.stringify([...byView] satisfies SampleBatch)));
      ledger.sampleRecords.set(key, latestT);
    }
    for (const view of changes.views) messages.push(record(`${VIEW_PREFIX}${view.viewId}`, encodeViewHeader(view)));
    for (const viewId of changes.removedViews) messages.push(tombstoneMessage(`${VIEW_PREFIX}${viewId}`, partition));
    const newKeys = new Map<number, string[]>();
    for (const { windowStart, key } of changes.emittedKeys) {
      if (nextWindowToClose !== null && windowStart < nextWindowToClose) continue;
      const keys = newKeys.get(windowStart);
      if (keys) keys.push(key);
      else newKeys.set(windowStart, [key]);
    }
    for (const [windowStart, keys] of newKeys) {
      for (let chunk = 0; chunk * KEYS_PER_RECORD < keys.length; chunk++) {
        const recordKey = `${KEYS_PREFIX}${windowStart}:${ledger.checkpoint}:${chunk}`;
        messages.push(
          record(recordKey, JSON.stringify(keys.slice(chunk * KEYS_PER_RECORD, (chunk + 1) * KEYS_PER_RECORD))),
        );
        addKeyRecord(ledger, windowStart, recordKey);
      }
    }
    const progress: PersistedProgress = { ...changes.progress, checkpoint: ledger.checkpoint, logId: this.logId };
    messages.push(record(PROGRESS_KEY, JSON.stringify(progress)));
    return { partition, messages };
  }

  /**
   * Resolves once the checkpoint is on the bus (acks=all; embedded: in the log's SQLite file).
   * A publish refused for backpressure appended nothing, so it is tried again once there is room
   * (a fold's checkpoint holds a header per view, and every partition folds at the same minute);
   * one larger than the whole buffer goes once nothing else is in flight (the bus takes it alone).
   */
  async write({ messages }: StateWrite): Promise<void> {
    for (let pause = 20; ; pause = Math.min(pause * 2, 1_000)) {
      try {
        await this.bus.publish(this.topic, [...messages]);
        return;
      } catch (error) {
        if (!(error instanceof BusBackpressureError)) throw error;
      }
      await sleep(pause);
    }
  }
}

/** The window start in `<prefix><window start>:…`. */
function windowStartOfKeyRecord(key: string, prefix: string): number {
  const separator = key.indexOf(':', prefix.length);
  const windowStart = Number(key.slice(prefix.length, separator));
  if (separator === -1 || !Number.isSafeInteger(windowStart)) throw new Error('no window start');
  return windowStart;
}

function addKeyRecord(ledger: PartitionLedger, windowStart: number, key: string): void {
  const keys = ledger.keyRecords.get(windowStart);
  if (keys) keys.push(key);
  else ledger.keyRecords.set(windowStart, [key]);
}
