import type { Logger } from 'pino';
import type { Counter, Gauge } from 'prom-client';
import type { OutgoingMessage } from '../../core/bus/bus.ts';
import type { AnalyticsSettings } from '../../core/config.ts';
import type { DeadLetter } from '../../core/dead-letters.ts';
import { TOPICS } from '../../core/topics.ts';
import {
  watermarkMessage,
  windowFinalMessages,
  windowRowsMessages,
  type WindowRow,
} from '../../core/analytics/aggregate-messages.ts';
import type { ClosedWindow, PartitionAnalytics, SideOutput } from './partition-analytics.ts';
import type { StateStore, StateWrite } from './state-store.ts';
import { rowKey, windowStartOf } from './window-rows.ts';

/**
 * One partition's checkpoints, as in Flink or Kafka Streams. A checkpoint is taken at once, from
 * one moment of the state: what changed since the last one (encoded, including the keys of early
 * rows about to be published), early rows of open windows, due windows closed into final chunks,
 * and the partition's watermark. It is then written while the partition's next batches are
 * applied, as Flink's asynchronous snapshots are:
 *
 * 1. persist what changed (state-store.ts: records on the group's compacted changelog topic, in
 *    the partition of the same number);
 * 2. then, side by side: publish the early rows and the final chunks, and after them the
 *    partition's watermark (`viewer_watermark`, when its window moved: see live-edge.ts), and the
 *    events cut from views that ended (dead-letters);
 * 3. once all of it is acknowledged, commit the offsets it covers (the bus is in manual commit
 *    mode, so batches in between are read on without a commit).
 *
 * Only the order "persist, then publish what depends on it, then commit" matters: the publishes
 * carry versions (later offsets win, a final beats an early row), so they may land in any order.
 * One checkpoint per partition is written at a time, and the next is taken only after it landed.
 * A write that failed makes the partition read again from its last commit (`readAgain`), and no
 * later checkpoint is taken from the state in memory, which holds changes the store lost: the
 * caller forgets it and loads the state again. So no checkpoint ever persists a state missing the
 * changes of one before it. A refused or failed commit loses nothing: the state holds those
 * offsets, reading them again skips them, and the next checkpoint commits them.
 */
export interface CheckpointPorts {
  /** Encodes what changed when a checkpoint is taken; writes it (one publish) when it is written. */
  store: Pick<StateStore, 'encode' | 'write'>;
  /** Publishes window rows, final chunks and watermarks on `analytics.aggregates`. */
  publishAggregates(messages: OutgoingMessage[]): Promise<void>;
  publishSideOutputs(letters: DeadLetter[]): Promise<void>;
  /** Commits the source partition up to `nextOffset`; false when refused (the partition is no longer ours). */
  commit(partition: number, nextOffset: string): Promise<boolean>;
  /** Makes the bus read the source partition again from its last commit. */
  readAgain(partition: number): void;
  logger: Pick<Logger, 'warn' | 'error'>;
  meters: CheckpointMeters;
  /** Wall clock: emission pacing and the `emitted_at` of messages. */
  now(): number;
}

export interface CheckpointMeters {
  windowsClosed: Pick<Counter, 'inc'>;
  viewsEnded: Pick<Counter<'reason'>, 'inc'>;
  views: Pick<Gauge<'partition'>, 'set'>;
  watermarkLag: Pick<Gauge<'partition'>, 'set'>;
}

/** Per partition, the progress last published in a `viewer_watermark` message, and when. */
export type PublishedProgress = Map<number, { progress: string; at: number }>;

export interface CheckpointOptions {
  settings: Pick<AnalyticsSettings, 'emitIntervalMs' | 'catchUpIntervalMs' | 'catchUpLagMs' | 'windowMs'>;
  /** The consumer group, named in every message published. */
  groupId: string;
  /** Shared by the processor's partitions: it outlives a partition leaving and coming back. */
  publishedProgress: PublishedProgress;
}

/** Where a partition's reading stands. */
export interface ReadingPosition {
  /** The partition's watermark (the highest `received_at` applied), or null before the first event. */
  watermark: number | null;
  /** Messages that were waiting to be read after the last batch (0 when the bus did not say). */
  backlog: number;
}

/**
 * The checkpoint interval of a partition: `emitIntervalMs` at the live edge, and
 * `catchUpIntervalMs` while it reads a backlog (more was waiting after its last batch) with its
 * watermark more than `catchUpLagMs` behind the wall clock, as after an outage or a replay. Early
 * rows of windows that far in the past help no board, and a checkpoint's cost grows with the views
 * and windows it touches more than with the events it covers (a view changed by several events is
 * encoded and its rows published once), so fewer checkpoints catch up faster. A partition that has
 * read all there is goes back to the short interval at once, so its last offsets commit promptly.
 */
export function checkpointIntervalMs(
  settings: Pick<AnalyticsSettings, 'emitIntervalMs' | 'catchUpIntervalMs' | 'catchUpLagMs'>,
  reading: ReadingPosition,
  now: number,
): number {
  const catchingUp =
    reading.backlog > 0 && reading.watermark !== null && now - reading.watermark > settings.catchUpLagMs;
  return catchingUp ? Math.max(settings.emitIntervalMs, settings.catchUpIntervalMs) : settings.emitIntervalMs;
}

/** A checkpoint taken and not yet written. */
interface TakenCheckpoint {
  /** The offset to commit once the rest is written. */
  uncommitted: string | null;
  state: StateWrite | null;
  aggregates: OutgoingMessage[];
  letters: DeadLetter[];
}

export class PartitionCheckpoints {
  private lastEmitAt = 0;
  /** Rows published early and not yet final: key → serialized values, per window. */
  private readonly emitted = new Map<number, Map<string, string>>();
  /** Changes applied but not yet published as early rows. */
  private emitPending = false;
  /** The offset to commit once the applied events are checkpointed; null when all are. */
  private uncommitted: string | null = null;
  private lastCheckpointAt: number;
  /** A checkpoint's write failed: memory holds changes the store does not, so the state is loaded again (the bus reads again from the last commit). */
  private replay = false;
  /** The checkpoint being written, if any (it never rejects: a failure sets `replay`). */
  private writing: Promise<void> | null = null;

  constructor(
    readonly partition: number,
    private readonly ports: CheckpointPorts,
    private readonly options: CheckpointOptions,
  ) {
    this.lastCheckpointAt = ports.now();
  }

  /** A write failed: the caller must forget the state in memory and load it again. */
  get replayNeeded(): boolean {
    return this.replay;
  }

  get isWriting(): boolean {
    return this.writing !== null;
  }

  /** Offsets applied that no checkpoint has committed yet. */
  get hasUncommitted(): boolean {
    return this.uncommitted !== null;
  }

  /** Anything for a checkpoint to publish or commit. */
  get hasPending(): boolean {
    return this.emitPending || this.uncommitted !== null;
  }

  /** Resolves once the checkpoint being written, if any, has landed or failed. */
  async landed(): Promise<void> {
    await this.writing;
  }

  /** Whether the next checkpoint is due, for a partition at `reading` (see checkpointIntervalMs). */
  due(now: number, reading: ReadingPosition): boolean {
    return now - this.lastCheckpointAt >= checkpointIntervalMs(this.options.settings, reading, now);
  }

  /** A batch was applied: its offsets up to `nextOffset` (exclusive) are for the next checkpoint to commit. */
  batchApplied(nextOffset: string): void {
    this.emitPending = true;
    this.uncommitted = nextOffset;
  }

  /** The watermark moved without a batch (an idle advance): early rows and the watermark are due. */
  idleAdvanced(): void {
    this.emitPending = true;
  }

  /** The state was loaded from the store: nothing published early is known, nothing is left to commit. */
  stateLoaded(): void {
    this.emitted.clear();
    this.uncommitted = null;
  }

  /** The state in memory was dropped: the next use loads it from the store, read again from the last commit. */
  forget(): void {
    this.replay = false;
    this.emitted.clear();
    this.uncommitted = null;
  }

  /**
   * Takes a checkpoint and returns once it is taken, after the previous one landed; its write goes
   * on in the background. Throws, taking nothing, when a previous write failed.
   */
  async checkpoint(analytics: PartitionAnalytics): Promise<void> {
    await this.writing;
    // The state in hand holds changes the store lost: the caller forgets it and loads it again.
    if (this.replay)
      throw new Error(`partition ${this.partition}: a checkpoint failed; reading again from the last commit`);
    const taken = this.take(analytics);
    const writing: Promise<void> = this.write(taken)
      .catch((error: unknown) => {
        this.replay = true;
        this.ports.readAgain(this.partition);
        this.ports.logger.error(
          { err: error, partition: this.partition },
          'viewer analytics: checkpoint failed; the partition is read again from its last commit',
        );
      })
      .finally(() => {
        if (this.writing === writing) this.writing = null;
      });
    this.writing = writing;
  }

  /** What changed (encoded), early rows when due, due windows closed: every message, built now. */
  private take(analytics: PartitionAnalytics): TakenCheckpoint {
    const { partition } = this;
    const now = this.ports.now();
    const uncommitted = this.uncommitted;
    this.uncommitted = null;
    this.lastCheckpointAt = now;
    const emitNow = this.emitPending && now - this.lastEmitAt >= this.options.settings.emitIntervalMs;
    // Before taking the changes: the keys of rows published early are part of them.
    const open = emitNow ? analytics.openWindowRows() : null;
    const state = analytics.hasChanges() ? this.ports.store.encode(partition, analytics.takeChanges()) : null;
    const aggregates: OutgoingMessage[] = [];
    if (open) {
      aggregates.push(...this.earlyRowsMessages(analytics, [...open.rows, ...open.retractions], now));
      this.lastEmitAt = now;
      this.emitPending = false;
    }
    // Closing changes the state further; those changes go with the next checkpoint, and a replay closes the same windows again.
    const { closed, sideOutputs } = analytics.closeDueWindows();
    if (closed.length > 0) aggregates.push(...this.closedMessages(analytics, closed, now));
    // Last, after the rows it vouches for (one key, so it arrives after them): readers can tell a partition that is behind from one without views.
    if (open) aggregates.push(...this.watermarkMessages(analytics, now));
    this.ports.meters.views.set({ partition: String(partition) }, analytics.views.size);
    if (analytics.progress.watermark !== null)
      this.ports.meters.watermarkLag.set({ partition: String(partition) }, (now - analytics.progress.watermark) / 1000);
    return { uncommitted, state, aggregates, letters: sideOutputs.map((s) => sideOutputLetter(s, partition)) };
  }

  /** Persist, then publish what depends on it, then commit the offsets the persisted state holds. */
  private async write(taken: TakenCheckpoint): Promise<void> {
    if (taken.state) await this.ports.store.write(taken.state);
    await Promise.all([this.ports.publishAggregates(taken.aggregates), this.ports.publishSideOutputs(taken.letters)]);
    if (taken.uncommitted === null) return;
    // A failed or refused commit loses nothing: the state holds these offsets, and reading them again skips them.
    const committed = await this.ports.commit(this.partition, taken.uncommitted).catch((error: unknown) => {
      this.ports.logger.warn(
        { err: error, partition: this.partition },
        'viewer analytics: offset commit failed; the next checkpoint commits',
      );
      return false;
    });
    if (!committed) this.uncommitted ??= taken.uncommitted;
  }

  /** Early rows that changed since they were last published. */
  private earlyRowsMessages(analytics: PartitionAnalytics, rows: WindowRow[], now: number): OutgoingMessage[] {
    const changed: WindowRow[] = [];
    const changedJson: string[] = [];
    for (const row of rows) {
      const key = rowKey(row);
      const values = JSON.stringify(row);
      let byKey = this.emitted.get(row.window_start);
      if (!byKey) {
        byKey = new Map();
        this.emitted.set(row.window_start, byKey);
      }
      if (byKey.get(key) === values) continue;
      byKey.set(key, values);
      changed.push(row);
      changedJson.push(values);
    }
    if (changed.length === 0) return [];
    return windowRowsMessages(
      {
        group: this.options.groupId,
        source_partition: this.partition,
        version: analytics.version(false).toString(),
        emitted_at: now,
      },
      changed,
      undefined,
      changedJson,
    );
  }

  private closedMessages(analytics: PartitionAnalytics, closed: ClosedWindow[], now: number): OutgoingMessage[] {
    const { groupId: group } = this.options;
    const version = analytics.version(true).toString();
    const messages: OutgoingMessage[] = [];
    const retractions: WindowRow[] = [];
    for (const window of closed) {
      this.emitted.delete(window.windowStart);
      retractions.push(...window.retractions);
      if (window.rows.length === 0 && window.views.length === 0) continue;
      messages.push(
        ...windowFinalMessages(
          { group, source_partition: this.partition, window_start: window.windowStart, version, emitted_at: now },
          window.rows,
          window.views,
        ),
      );
      for (const view of window.views) this.ports.meters.viewsEnded.inc({ reason: view.end_reason });
    }
    if (retractions.length > 0)
      messages.push(
        ...windowRowsMessages({ group, source_partition: this.partition, version, emitted_at: now }, retractions),
      );
    this.ports.meters.windowsClosed.inc(closed.length);
    return messages;
  }

  /**
   * The partition's progress, when the window its watermark is in or the windows closed moved on,
   * or half a window after the last one (so a reader that started from the latest offsets learns
   * it soon). Not at every emission: an idle partition's watermark moves every emission.
   */
  private watermarkMessages(analytics: PartitionAnalytics, now: number): OutgoingMessage[] {
    const { watermark, nextWindowToClose } = analytics.progress;
    if (watermark === null || nextWindowToClose === null) return [];
    const { windowMs } = this.options.settings;
    const progress = `${windowStartOf(watermark, windowMs)}:${nextWindowToClose}`;
    const last = this.options.publishedProgress.get(this.partition);
    if (last && last.progress === progress && now - last.at < windowMs / 2) return [];
    this.options.publishedProgress.set(this.partition, { progress, at: now });
    return [
      watermarkMessage({
        group: this.options.groupId,
        source_partition: this.partition,
        version: analytics.version(false).toString(),
        emitted_at: now,
        watermark,
        watermark_window_start: windowStartOf(watermark, windowMs),
        closed_before: nextWindowToClose,
      }),
    ];
  }
}

/** An event the partition's analytics set aside, as a dead letter naming where it came from. */
export function sideOutputLetter(output: SideOutput, partition: number): DeadLetter {
  return {
    sourceTopic: TOPICS.playerEvents,
    payload: output.payload,
    reason: `${output.reason}: ${output.detail}`,
    origin:
      output.offset === undefined
        ? `viewer-analytics/${partition}`
        : `${TOPICS.playerEvents}/${partition}/${output.offset}`,
  };
}
