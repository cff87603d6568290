import type { Logger } from 'pino';
import { SerialQueue } from '../../core/serial-queue.ts';
import type { Bus, DeliveredMessage, MessageBatch, OutgoingMessage, Subscription } from '../../core/bus/bus.ts';
import type { AnalyticsSettings } from '../../core/config.ts';
import { deadLetterMessage, type DeadLetter } from '../../core/dead-letters.ts';
import type { Metrics } from '../../core/metrics.ts';
import { readPlayerEventMessage } from '../../core/schemas/player-event-message.ts';
import { stateChangelogTopic, TOPICS } from '../../core/topics.ts';
import {
  publishBounded,
  watermarkMessage,
  windowFinalMessages,
  windowRowsMessages,
  type WindowRow,
} from '../../core/analytics/aggregate-messages.ts';
import type { ClosedWindow, IncomingEvent, PartitionAnalytics, SideOutput } from './partition-analytics.ts';
import { StateStore, type StateWrite } from './state-store.ts';
import { rowKey, windowStartOf } from './window-rows.ts';

/**
 * The viewer-analytics processor: a consumer group over `player.events` that drives one
 * PartitionAnalytics per assigned partition and publishes window rows and view summaries on
 * `analytics.aggregates`. Every batch is applied in memory (skipping offsets the state already
 * holds) and its side outputs (late events, events after a view's end) go to dead-letters. Then,
 * at most every `emitIntervalMs` per partition — a checkpoint, as in Flink or Kafka Streams. It is
 * taken at once (what changed since the last one, including the keys of early rows about to be
 * published; early rows of open windows; due windows closed into final chunks) and then written
 * while the next batches are applied:
 *
 * 1. persist what changed (state-store.ts: records on the group's compacted changelog topic, in
 *    the partition of the same number);
 * 2. then, side by side: publish the early rows and the final chunks, and after them the
 *    partition's watermark (`viewer_watermark`, when its window moved: see live-edge.ts);
 * 3. once all of it is acknowledged, commit the offsets it covers (the bus is in manual commit
 *    mode, so batches in between are read on without a commit).
 *
 * Only the order "persist, then publish what depends on it, then commit" matters: the publishes
 * carry versions (later offsets win, a final beats an early row), so they may land in any order.
 * One checkpoint per partition is written at a time, and the next is taken only after it landed.
 *
 * A crash anywhere repeats from the last persisted state and the last commit (the bus reads a
 * failed partition again from there), and every output is a deterministic function of that state
 * and the log, so what is published again is identical and the sinks' idempotency keys absorb it.
 * A partition with no events for `idleAdvanceMs`, and nothing left to read, has its watermark
 * moved on by the wall clock (persisted first), so its last windows close.
 *
 * It has no analytics store: its state lives on the bus, and ClickHouse gets only what the sinks
 * write from its outputs.
 */
export interface ViewerAnalyticsPorts {
  bus: Bus;
  metrics: Metrics;
  logger: Logger;
}

export interface ViewerAnalyticsOptions {
  settings: AnalyticsSettings;
  groupId?: string;
  maxBatchMessages?: number;
  /** Wall clock, for idle advances and emission pacing. */
  now?: () => number;
}

export const VIEWER_ANALYTICS_GROUP = 'viewer-analytics';

interface PartitionRuntime {
  queue: SerialQueue;
  analytics: PartitionAnalytics | null;
  busy: boolean;
  lastBatchAt: number;
  lastEmitAt: number;
  /** Rows published early and not yet final: key → serialized values, per window. */
  emitted: Map<number, Map<string, string>>;
  /** Changes applied but not yet published as early rows. */
  emitPending: boolean;
  /** The offset to commit once the applied events are checkpointed; null when all are. */
  uncommitted: string | null;
  lastCheckpointAt: number;
  /** A checkpoint's write failed: memory holds changes the store does not, so the state is loaded again (the bus reads again from the last commit). */
  replayNeeded: boolean;
  /** The checkpoint being written, if any (it never rejects: a failure sets replayNeeded). */
  writing: Promise<void> | null;
}

/** A checkpoint taken and not yet written. */
interface TakenCheckpoint {
  /** The offset to commit once the rest is written. */
  uncommitted: string | null;
  state: StateWrite | null;
  aggregates: OutgoingMessage[];
  letters: DeadLetter[];
}

function processorMetrics(metrics: Metrics) {
  return {
    events: metrics.counter('viewer_analytics_events_total', 'Player events by what the processor did with them', [
      'outcome',
    ]),
    sideOutputs: metrics.counter(
      'viewer_analytics_side_output_total',
      'Events sent to dead-letters instead of the windows, by reason',
      ['reason'],
    ),
    windowsClosed: metrics.counter('viewer_analytics_windows_closed_total', 'Windows closed (final results published)'),
    viewsEnded: metrics.counter('viewer_analytics_views_ended_total', 'Views ended, by reason', ['reason']),
    views: metrics.gauge('viewer_analytics_views', 'Views held in memory', ['partition']),
    watermarkLag: metrics.gauge('viewer_analytics_watermark_lag_seconds', 'Wall clock minus the partition watermark', [
      'partition',
    ]),
    batchSeconds: metrics.histogram(
      'viewer_analytics_batch_seconds',
      'Time to handle one batch, persist included',
      [],
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    restores: metrics.counter(
      'viewer_analytics_state_restores_total',
      'Partition states restored from the state changelog',
    ),
    staleStates: metrics.counter(
      'viewer_analytics_stale_states_total',
      'Partition states discarded on load because they were saved from another bus log',
    ),
    idleAdvances: metrics.counter(
      'viewer_analytics_idle_advances_total',
      'Watermark moves of caught-up idle partitions',
    ),
    evictions: metrics.counter(
      'viewer_analytics_evictions_total',
      'Views ended early because their partition held the most views it may',
    ),
  };
}

export class ViewerAnalyticsProcessor {
  private readonly runtimes = new Map<number, PartitionRuntime>();
  /** Per partition, the progress last published in a `viewer_watermark` message, and when. */
  private readonly publishedProgress = new Map<number, { progress: string; at: number }>();
  /** Made at start, once the source topic's log id is known. */
  private stateStore!: StateStore;
  private readonly groupId: string;
  private readonly now: () => number;
  private readonly meters: ReturnType<typeof processorMetrics>;
  private subscription: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;

  constructor(
    private readonly ports: ViewerAnalyticsPorts,
    private readonly options: ViewerAnalyticsOptions,
  ) {
    this.groupId = options.groupId ?? VIEWER_ANALYTICS_GROUP;
    this.now = options.now ?? Date.now;
    this.meters = processorMetrics(ports.metrics);
  }

  async start(): Promise<void> {
    const logId = await this.ports.bus.logId(TOPICS.playerEvents);
    const changelog = stateChangelogTopic(this.groupId);
    // Partitioned like the source: the state of partition p lives in changelog partition p.
    const partitions = (await this.ports.bus.endOffsets(TOPICS.playerEvents)).length;
    await this.ports.bus.ensureTopics([{ name: changelog, partitions, compacted: true }]);
    const changelogPartitions = (await this.ports.bus.endOffsets(changelog)).length;
    if (changelogPartitions < partitions) {
      throw new Error(
        `the state changelog ${changelog} has ${changelogPartitions} partitions, fewer than ${TOPICS.playerEvents}'s ${partitions}: delete it (see docs/operations.md) so that it is created again`,
      );
    }
    this.stateStore = new StateStore(this.ports.bus, changelog, logId, (partition, savedLogId) => {
      this.meters.staleStates.inc();
      this.ports.logger.warn(
        { partition, savedLogId, logId },
        'viewer analytics: the saved state counts offsets of another log; discarded, the partition is rebuilt from this log',
      );
    });
    this.subscription = await this.ports.bus.subscribe({
      groupId: this.groupId,
      topics: [TOPICS.playerEvents],
      maxInFlightBatches: 8,
      maxBatchMessages: this.options.maxBatchMessages ?? 2_000,
      commit: 'manual',
      handleBatch: (batch) => this.handleBatch(batch),
    });
    const { emitIntervalMs, idleAdvanceMs } = this.options.settings;
    // Often enough that a partition whose input stopped is checkpointed soon after its interval.
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.min(emitIntervalMs, idleAdvanceMs) / 4));
  }

  ready(): Promise<void> {
    return this.subscription?.ready() ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // A last checkpoint, so a successor does not redo what this member applied since the previous one.
    await Promise.all(
      [...this.runtimes].map(([partition, runtime]) =>
        runtime.queue.run(async () => {
          if (runtime.uncommitted !== null && runtime.analytics) {
            await this.checkpoint(runtime, runtime.analytics, partition).catch((error: unknown) =>
              this.ports.logger.warn(
                { err: error, partition },
                'viewer analytics: last checkpoint failed; a successor reads again from the previous one',
              ),
            );
          }
          await runtime.writing;
        }),
      ),
    );
    await this.subscription?.stop();
    // Let a tick in progress finish its partition work before the ports close.
    await Promise.all([...this.runtimes.values()].map((runtime) => runtime.queue.run(async () => runtime.writing)));
  }

  private runtime(partition: number): PartitionRuntime {
    let runtime = this.runtimes.get(partition);
    if (!runtime) {
      runtime = {
        queue: new SerialQueue(),
        analytics: null,
        busy: false,
        lastBatchAt: this.now(),
        lastEmitAt: 0,
        emitted: new Map(),
        emitPending: false,
        uncommitted: null,
        lastCheckpointAt: this.now(),
        replayNeeded: false,
        writing: null,
      };
      this.runtimes.set(partition, runtime);
    }
    return runtime;
  }

  private async handleBatch(batch: MessageBatch): Promise<void> {
    const runtime = this.runtime(batch.partition);
    const started = performance.now();
    await runtime.queue.run(async () => {
      runtime.busy = true;
      try {
        if (runtime.replayNeeded) forget(runtime);
        const analytics = await this.loaded(runtime, batch.partition, batch.firstOffset);
        const { events, invalid } = parseEvents(batch.messages);
        const report = analytics.apply(events);
        analytics.markRead(batch.lastOffset);
        for (const [outcome, count] of Object.entries(report.outcomes))
          if (count > 0) this.meters.events.inc({ outcome }, count);
        if (invalid.length > 0) this.meters.events.inc({ outcome: 'invalid' }, invalid.length);
        if (report.evicted > 0) this.meters.evictions.inc(report.evicted);
        // Acknowledged before any checkpoint can commit past them.
        await this.publishSideOutputs([
          ...invalid,
          ...report.sideOutputs.map((s) => sideOutputLetter(s, batch.partition)),
        ]);
        runtime.lastBatchAt = this.now();
        runtime.emitPending = true;
        runtime.uncommitted = String(BigInt(batch.lastOffset) + 1n);
        if (this.checkpointDue(runtime, runtime.lastBatchAt))
          await this.checkpoint(runtime, analytics, batch.partition);
      } catch (error) {
        // The bus reads again from the last commit; start from the persisted state, not from half-applied memory.
        forget(runtime);
        throw error;
      } finally {
        runtime.busy = false;
      }
    });
    this.meters.batchSeconds.observe((performance.now() - started) / 1000);
  }

  /**
   * The partition's state, loaded from the store when missing, or when the batch does not follow
   * on from memory: read again from the last commit (after a rebalance), or another member
   * handled offsets in between.
   */
  private async loaded(
    runtime: PartitionRuntime,
    partition: number,
    firstOffset?: string,
  ): Promise<PartitionAnalytics> {
    const current = runtime.analytics;
    const applied = current?.progress.lastOffset ?? null;
    const followsOn = firstOffset === undefined || applied === null || BigInt(firstOffset) === BigInt(applied) + 1n;
    if (current && followsOn) return current;
    // A checkpoint still being written lands first, or the load would miss it.
    await runtime.writing;
    const analytics = await this.stateStore.load(partition, this.options.settings);
    this.meters.restores.inc();
    const persisted = analytics.progress.lastOffset;
    if (firstOffset !== undefined && persisted !== null && BigInt(firstOffset) > BigInt(persisted) + 1n) {
      // Never skip events: the bus reads again from the last commit, which the state always covers.
      throw new Error(
        `partition ${partition}: the state holds offsets up to ${persisted} but the batch starts at ${firstOffset}; reading again from the last commit`,
      );
    }
    runtime.analytics = analytics;
    runtime.emitted.clear();
    runtime.uncommitted = null;
    return analytics;
  }

  private checkpointDue(runtime: PartitionRuntime, now: number): boolean {
    return now - runtime.lastCheckpointAt >= this.options.settings.emitIntervalMs;
  }

  /**
   * Starts a checkpoint and returns once it is taken; its write goes on while the partition's next
   * batches are applied, as Flink's asynchronous snapshots do. Taking it is synchronous: what
   * changed is encoded, due windows are closed and every message is built from the same moment of
   * the state. Writing it is persist, then publish, then commit. Only one is written at a time,
   * and a checkpoint starts only after the previous one landed: one that failed makes the partition
   * read again from its last commit, so no later checkpoint can persist a state missing its changes.
   */
  private async checkpoint(runtime: PartitionRuntime, analytics: PartitionAnalytics, partition: number): Promise<void> {
    await runtime.writing;
    // The state in hand holds changes the store lost: the caller forgets it and loads it again.
    if (runtime.replayNeeded)
      throw new Error(`partition ${partition}: a checkpoint failed; reading again from the last commit`);
    const taken = this.takeCheckpoint(runtime, analytics, partition);
    const writing: Promise<void> = this.writeCheckpoint(runtime, partition, taken)
      .catch((error: unknown) => {
        runtime.replayNeeded = true;
        this.subscription?.readAgain(TOPICS.playerEvents, partition);
        this.ports.logger.error(
          { err: error, partition },
          'viewer analytics: checkpoint failed; the partition is read again from its last commit',
        );
      })
      .finally(() => {
        if (runtime.writing === writing) runtime.writing = null;
      });
    runtime.writing = writing;
  }

  /** What changed (encoded), early rows when due, due windows closed: every message, built now. */
  private takeCheckpoint(runtime: PartitionRuntime, analytics: PartitionAnalytics, partition: number): TakenCheckpoint {
    const now = this.now();
    const uncommitted = runtime.uncommitted;
    runtime.uncommitted = null;
    runtime.lastCheckpointAt = now;
    const emitNow = runtime.emitPending && now - runtime.lastEmitAt >= this.options.settings.emitIntervalMs;
    // Before taking the changes: the keys of rows published early are part of them.
    const open = emitNow ? analytics.openWindowRows() : null;
    const state = analytics.hasChanges() ? this.stateStore.encode(partition, analytics.takeChanges()) : null;
    const aggregates: OutgoingMessage[] = [];
    if (open) {
      aggregates.push(
        ...this.earlyRowsMessages(runtime, analytics, partition, [...open.rows, ...open.retractions], now),
      );
      runtime.lastEmitAt = now;
      runtime.emitPending = false;
    }
    // Closing changes the state further; those changes go with the next checkpoint, and a replay closes the same windows again.
    const { closed, sideOutputs } = analytics.closeDueWindows();
    if (closed.length > 0) aggregates.push(...this.closedMessages(runtime, analytics, partition, closed, now));
    // Last, after the rows it vouches for (one key, so it arrives after them): readers can tell a partition that is behind from one without views.
    if (open) aggregates.push(...this.watermarkMessages(analytics, partition, now));
    this.meters.views.set({ partition: String(partition) }, analytics.views.size);
    if (analytics.progress.watermark !== null)
      this.meters.watermarkLag.set({ partition: String(partition) }, (now - analytics.progress.watermark) / 1000);
    return { uncommitted, state, aggregates, letters: sideOutputs.map((s) => sideOutputLetter(s, partition)) };
  }

  /** Persist, then publish what depends on it, then commit the offsets the persisted state holds. */
  private async writeCheckpoint(runtime: PartitionRuntime, partition: number, taken: TakenCheckpoint): Promise<void> {
    if (taken.state) await this.stateStore.write(taken.state);
    await Promise.all([
      publishBounded(this.ports.bus, TOPICS.analyticsAggregates, taken.aggregates),
      this.publishSideOutputs(taken.letters),
    ]);
    if (taken.uncommitted === null || !this.subscription) return;
    // A failed or refused commit loses nothing: the state holds these offsets, and reading them again skips them.
    const committed = await this.subscription
      .commit(TOPICS.playerEvents, partition, taken.uncommitted)
      .catch((error: unknown) => {
        this.ports.logger.warn(
          { err: error, partition },
          'viewer analytics: offset commit failed; the next checkpoint commits',
        );
        return false;
      });
    if (!committed) runtime.uncommitted ??= taken.uncommitted;
  }

  /** Early rows that changed since they were last published. */
  private earlyRowsMessages(
    runtime: PartitionRuntime,
    analytics: PartitionAnalytics,
    partition: number,
    rows: WindowRow[],
    now: number,
  ): OutgoingMessage[] {
    const changed: WindowRow[] = [];
    const changedJson: string[] = [];
    for (const row of rows) {
      const key = rowKey(row);
      const values = JSON.stringify(row);
      let byKey = runtime.emitted.get(row.window_start);
      if (!byKey) {
        byKey = new Map();
        runtime.emitted.set(row.window_start, byKey);
      }
      if (byKey.get(key) === values) continue;
      byKey.set(key, values);
      changed.push(row);
      changedJson.push(values);
    }
    if (changed.length === 0) return [];
    return windowRowsMessages(
      {
        group: this.groupId,
        source_partition: partition,
        version: analytics.version(false).toString(),
        emitted_at: now,
      },
      changed,
      undefined,
      changedJson,
    );
  }

  private closedMessages(
    runtime: PartitionRuntime,
    analytics: PartitionAnalytics,
    partition: number,
    closed: ClosedWindow[],
    now: number,
  ): OutgoingMessage[] {
    const version = analytics.version(true).toString();
    const messages: OutgoingMessage[] = [];
    const retractions: WindowRow[] = [];
    for (const window of closed) {
      runtime.emitted.delete(window.windowStart);
      retractions.push(...window.retractions);
      if (window.rows.length === 0 && window.views.length === 0) continue;
      messages.push(
        ...windowFinalMessages(
          {
            group: this.groupId,
            source_partition: partition,
            window_start: window.windowStart,
            version,
            emitted_at: now,
          },
          window.rows,
          window.views,
        ),
      );
      for (const view of window.views) this.meters.viewsEnded.inc({ reason: view.end_reason });
    }
    if (retractions.length > 0)
      messages.push(
        ...windowRowsMessages(
          { group: this.groupId, source_partition: partition, version, emitted_at: now },
          retractions,
        ),
      );
    this.meters.windowsClosed.inc(closed.length);
    return messages;
  }

  /**
   * The partition's progress, when the window its watermark is in or the windows closed moved on,
   * or half a window after the last one (so a reader that started from the latest offsets learns
   * it soon). Not at every emission: an idle partition's watermark moves every emission.
   */
  private watermarkMessages(analytics: PartitionAnalytics, partition: number, now: number): OutgoingMessage[] {
    const { watermark, nextWindowToClose } = analytics.progress;
    if (watermark === null || nextWindowToClose === null) return [];
    const { windowMs } = this.options.settings;
    const progress = `${windowStartOf(watermark, windowMs)}:${nextWindowToClose}`;
    const last = this.publishedProgress.get(partition);
    if (last && last.progress === progress && now - last.at < windowMs / 2) return [];
    this.publishedProgress.set(partition, { progress, at: now });
    return [
      watermarkMessage({
        group: this.groupId,
        source_partition: partition,
        version: analytics.version(false).toString(),
        emitted_at: now,
        watermark,
        watermark_window_start: windowStartOf(watermark, windowMs),
        closed_before: nextWindowToClose,
      }),
    ];
  }

  private async publishSideOutputs(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    for (const letter of letters) this.meters.sideOutputs.inc({ reason: letter.reason.split(':')[0]! });
    await publishBounded(
      this.ports.bus,
      TOPICS.deadLetters,
      letters.map((letter) => deadLetterMessage(letter, this.now())),
    );
  }

  /** Publishes pending early rows, and moves the watermark of caught-up idle partitions. */
  private async tick(): Promise<void> {
    if (this.ticking || !this.subscription) return;
    this.ticking = true;
    try {
      const assigned = new Set(this.subscription.assignedPartitions()[TOPICS.playerEvents] ?? []);
      for (const partition of this.runtimes.keys())
        if (!assigned.has(partition) && !this.runtimes.get(partition)!.busy && !this.runtimes.get(partition)!.writing)
          this.runtimes.delete(partition);
      const now = this.now();
      const idle = [...assigned].filter(
        (p) => !this.runtime(p).busy && now - this.runtime(p).lastBatchAt >= this.options.settings.idleAdvanceMs,
      );
      const caughtUp = idle.length > 0 ? await this.caughtUp(idle) : new Set<number>();
      // Partitions side by side: their checkpoints wait on different inserts and acknowledgements.
      await Promise.all(
        [...assigned].map(async (partition) => {
          const runtime = this.runtime(partition);
          if (runtime.busy) return;
          const advance = caughtUp.has(partition);
          const due =
            runtime.analytics !== null &&
            (runtime.emitPending || runtime.uncommitted !== null) &&
            this.checkpointDue(runtime, now);
          if (!advance && !due) return;
          await runtime.queue.run(async () => {
            runtime.busy = true;
            try {
              const analytics = await this.loaded(runtime, partition);
              if (advance && analytics.advanceIdle(this.now())) {
                this.meters.idleAdvances.inc();
                runtime.emitPending = true;
              }
              await this.checkpoint(runtime, analytics, partition);
            } catch (error) {
              forget(runtime);
              this.subscription?.readAgain(TOPICS.playerEvents, partition);
              this.ports.logger.error(
                { err: error, partition },
                'viewer analytics: checkpoint failed; the partition is read again from its last commit',
              );
            } finally {
              runtime.busy = false;
            }
          });
        }),
      );
    } catch (error) {
      this.ports.logger.warn({ err: error }, 'viewer analytics: tick failed');
    } finally {
      this.ticking = false;
    }
  }

  /** Partitions whose every message has been applied (nothing more to read right now). */
  private async caughtUp(partitions: number[]): Promise<Set<number>> {
    const [committed, end] = await Promise.all([
      this.ports.bus.committedOffsets(this.groupId, TOPICS.playerEvents),
      this.ports.bus.endOffsets(TOPICS.playerEvents),
    ]);
    const result = new Set<number>();
    for (const partition of partitions) {
      const applied = this.runtimes.get(partition)?.analytics?.progress.lastOffset;
      const next = Math.max(
        applied === null || applied === undefined ? -1 : Number(applied) + 1,
        committed[partition] ?? -1,
      );
      const available = end[partition] ?? 0;
      if (available === 0 || next >= available) result.add(partition);
    }
    return result;
  }
}

/** Drops what memory holds for a partition; the next use loads it from the state store. */
function forget(runtime: PartitionRuntime): void {
  runtime.analytics = null;
  runtime.replayNeeded = false;
  runtime.emitted.clear();
  runtime.uncommitted = null;
}

function parseEvents(messages: DeliveredMessage[]): { events: IncomingEvent[]; invalid: DeadLetter[] } {
  const events: IncomingEvent[] = [];
  const invalid: DeadLetter[] = [];
  for (const message of messages) {
    // The collector's events are checked for what the processor relies on only (player-event-message.ts).
    const reading = readPlayerEventMessage(message);
    if (reading.event) events.push({ offset: message.offset, event: reading.event, payload: message.value });
    else
      invalid.push({
        sourceTopic: message.topic,
        payload: message.value,
        reason: `invalid player event: ${reading.problem}`,
        errors: reading.errors,
        origin: `${message.topic}/${message.partition}/${message.offset}`,
      });
  }
  return { events, invalid };
}

function sideOutputLetter(output: SideOutput, partition: number): DeadLetter {
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
