import type { AnalyticsSettings } from '../../core/config.ts';
import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { insertRows } from '../../core/analytics-store/insert.ts';
import { PartitionAnalytics, type PartitionChanges, type PartitionProgress } from './partition-analytics.ts';
import { assembleViews, encodeSample, encodeViewHeader, StateDecodeError, type EncodedSample } from './state-codec.ts';

/**
 * The processor's state in ClickHouse (table viewer_analytics_state), per consumer group and
 * source partition, in the manner of a Kafka Streams changelog: every checkpoint writes what
 * changed (its applied samples as one row, the headers of views that changed, the emitted row
 * keys and the progress) as one insert, before the checkpoint's offsets are committed. Restoring
 * reads the partition's rows with FINAL. A fold (once a minute) rewrites the views' headers with
 * their baselines; the sample rows it folded entirely are then deleted. The progress names the
 * bus log its offsets count (Bus.logId): a state saved from another log is discarded on load.
 */
const TABLE = 'viewer_analytics_state';

interface StateRow extends Record<string, unknown> {
  consumer_group: string;
  source_partition: number;
  /** `sample`: one sample (written before migration 0022, still read); `samples`: a checkpoint's samples. */
  kind: 'progress' | 'view' | 'sample' | 'samples' | 'key';
  entity: string;
  seq: number;
  t: number;
  body: string;
  version: string;
  is_deleted: 0 | 1;
}

/** A checkpoint's samples as one row's body: pairs of a view id and its samples (view ids are any string, so not object keys). */
type SampleBatch = Array<[viewId: string, samples: EncodedSample[]]>;

interface PersistedProgress extends PartitionProgress {
  /** Increments with every persist, so the latest rows win in ReplacingMergeTree. */
  stateVersion: number;
  /**
   * The bus's id of the log whose offsets `lastOffset` counts (Bus.logId). Absent in states
   * written before log ids existed: those are taken to belong to the current log.
   */
  logId?: string;
}

/** One checkpoint's rows, ready to insert. */
export interface StateWrite {
  readonly partition: number;
  readonly stateVersion: number;
  readonly rows: readonly StateRow[];
  readonly dedupToken: string;
}

/** Whether a saved state's offsets count the records of the log the partition is read from now. */
export function stateBelongsToLog(savedLogId: string | undefined, currentLogId: string): boolean {
  return savedLogId === undefined || savedLogId === currentLogId;
}

export class StateStore {
  /** Last state version written per partition. */
  private readonly stateVersions = new Map<number, number>();

  /**
   * `logId`: the id of the log the partitions are read from now (Bus.logId of the source topic).
   * A partition's saved state from another log is deleted on load, and `onStaleState` told.
   */
  constructor(
    private readonly store: AnalyticsStore,
    private readonly consumerGroup: string,
    private readonly logId: string,
    private readonly onStaleState?: (partition: number, savedLogId: string) => void,
  ) {}

  async load(partition: number, settings: AnalyticsSettings): Promise<PartitionAnalytics> {
    const result = await this.store.client.query({
      query: `SELECT toString(kind) AS kind, entity, seq, body FROM ${TABLE} FINAL
              WHERE consumer_group = {group:String} AND source_partition = {partition:UInt16}`,
      query_params: { group: this.consumerGroup, partition },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ kind: StateRow['kind']; entity: string; seq: number; body: string }>();
    let progress: PersistedProgress | undefined;
    const headers: Array<{ viewId: string; body: string }> = [];
    const samples: Array<{ viewId: string; body: EncodedSample }> = [];
    const emittedKeys: Array<{ windowStart: number; key: string }> = [];
    for (const row of rows) {
      try {
        if (row.kind === 'progress') progress = JSON.parse(row.body) as PersistedProgress;
        else if (row.kind === 'view') headers.push({ viewId: row.entity, body: row.body });
        else if (row.kind === 'samples') {
          for (const [viewId, encoded] of JSON.parse(row.body) as SampleBatch) for (const body of encoded) samples.push({ viewId, body });
        } else if (row.kind === 'sample') samples.push({ viewId: row.entity, body: JSON.parse(row.body) as EncodedSample });
        else emittedKeys.push({ windowStart: row.seq * 1000, key: row.entity });
      } catch (error) {
        throw new StateDecodeError(`${row.kind} ${row.entity} of partition ${partition}`, String(error));
      }
    }
    if (progress && !stateBelongsToLog(progress.logId, this.logId)) {
      // Its offsets name another log's records: applying the new log's first events as if they
      // were those would skip them. The group's commits went with that log, so this partition is
      // read from its start. Versions go on above the old ones (ReplacingMergeTree keeps the latest).
      await this.store.client.command({
        query: `DELETE FROM ${TABLE} WHERE consumer_group = {group:String} AND source_partition = {partition:UInt16}`,
        query_params: { group: this.consumerGroup, partition },
      });
      this.onStaleState?.(partition, progress.logId!);
      this.stateVersions.set(partition, progress.stateVersion);
      return new PartitionAnalytics(partition, settings);
    }
    if (!progress) {
      this.stateVersions.set(partition, 0);
      return new PartitionAnalytics(partition, settings);
    }
    this.stateVersions.set(partition, progress.stateVersion);
    const { stateVersion: _stateVersion, logId: _logId, ...saved } = progress;
    return PartitionAnalytics.restore(partition, settings, { progress: saved, views: assembleViews(headers, samples), emittedKeys });
  }

  /** Writes the changes as one insert (one block: all or nothing). */
  persist(partition: number, changes: PartitionChanges): Promise<void> {
    return this.write(this.encode(partition, changes));
  }

  /**
   * A checkpoint's rows, encoded now: the changes refer to live views that later batches go on
   * changing while the write is in flight. One write per partition at a time, each encoded after
   * the previous one landed, so state versions follow one another.
   */
  encode(partition: number, changes: PartitionChanges): StateWrite {
    const stateVersion = (this.stateVersions.get(partition) ?? 0) + 1;
    const version = String(stateVersion);
    // Rows are built by one function, not as `{...base, more}`: V8 builds such spread-then-add
    // literals slowly and JSON.stringify walks them slowly (measured ~9 µs against 0.5 µs per row).
    const row = (kind: StateRow['kind'], entity: string, seq: number, t: number, body: string, rowVersion: string, isDeleted: 0 | 1): StateRow => ({
      consumer_group: this.consumerGroup,
      source_partition: partition,
      kind,
      entity,
      seq,
      t,
      body,
      version: rowVersion,
      is_deleted: isDeleted,
    });
    const rows: StateRow[] = [];
    if (changes.samples.length > 0) {
      // One row for all of them: ClickHouse's cost is per row far more than per byte.
      const byView = new Map<string, EncodedSample[]>();
      let latest = -Infinity;
      for (const { view, sample } of changes.samples) {
        const encoded = encodeSample(sample, view.firstDims);
        const list = byView.get(view.viewId);
        if (list) list.push(encoded);
        else byView.set(view.viewId, [encoded]);
        if (sample.t > latest) latest = sample.t;
      }
      const batch: SampleBatch = [...byView];
      rows.push(row('samples', '', stateVersion, latest, JSON.stringify(batch), version, 0));
    }
    for (const view of changes.views) rows.push(row('view', view.viewId, 0, 0, encodeViewHeader(view), version, 0));
    for (const viewId of changes.removedViews) rows.push(row('view', viewId, 0, 0, '', version, 1));
    for (const { windowStart, key } of changes.emittedKeys) rows.push(row('key', key, windowStart / 1000, windowStart, '', version, 0));
    const progress: PersistedProgress = { ...changes.progress, stateVersion, logId: this.logId };
    rows.push(row('progress', '', 0, 0, JSON.stringify(progress), version, 0));
    // Unique per write: a retried persist that already landed writes identical rows again, which replace themselves.
    const dedupToken = `${TABLE}:${this.consumerGroup}:${partition}:${stateVersion}:${changes.progress.lastOffset ?? ''}:${rows.length}`;
    return { partition, stateVersion, rows, dedupToken };
  }

  async write({ partition, stateVersion, rows, dedupToken }: StateWrite): Promise<void> {
    await insertRows(this.store, { table: TABLE, rows, dedupToken });
    this.stateVersions.set(partition, stateVersion);
  }

  /**
   * Deletes sample rows whose every sample is folded into its view, and keys of closed windows.
   * Only tidiness: a restore ignores folded samples and keys of closed windows anyway.
   */
  async deleteFolded(partition: number, progress: PartitionProgress): Promise<void> {
    if (progress.foldedThrough === null || progress.nextWindowToClose === null) return;
    await this.store.client.command({
      query: `DELETE FROM ${TABLE} WHERE consumer_group = {group:String} AND source_partition = {partition:UInt16}
              AND ((kind IN ('sample', 'samples') AND t <= {folded:Int64}) OR (kind = 'key' AND t < {next:Int64}))`,
      query_params: { group: this.consumerGroup, partition, folded: progress.foldedThrough, next: progress.nextWindowToClose },
    });
  }
}
