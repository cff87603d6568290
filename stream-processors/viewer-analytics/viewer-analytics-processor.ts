import type { Logger } from 'pino';
import { SerialQueue } from '../../core/serial-queue.ts';
import type { Bus, DeliveredMessage, MessageBatch, Subscription } from '../../core/bus/bus.ts';
import type { AnalyticsSettings } from '../../core/config.ts';
import { deadLetterMessage, type DeadLetter } from '../../core/dead-letters.ts';
import type { Metrics } from '../../core/metrics.ts';
import { readPlayerEventMessage } from '../../core/schemas/player-event-message.ts';
import { stateChangelogTopic, TOPICS } from '../../core/topics.ts';
import { publishBounded } from '../../core/analytics/aggregate-messages.ts';
import type { IncomingEvent, PartitionAnalytics } from './partition-analytics.ts';
import {
  PartitionCheckpoints,
  sideOutputLetter,
  type CheckpointPorts,
  type PublishedProgress,
  type ReadingPosition,
} from './partition-checkpoints.ts';
import { StateStore } from './state-store.ts';

/**
 * The viewer-analytics processor: a consumer group over `player.events` that drives one
 * PartitionAnalytics per assigned partition and publishes window rows and view summaries on
 * `analytics.aggregates`. Every batch is applied in memory (skipping offsets the state already
 * holds) and its side outputs (late events, events after a view's end) go to dead-letters. Then,
 * at most every `emitIntervalMs` per partition (`catchUpIntervalMs` while it reads a backlog far
 * behind the wall clock: checkpointIntervalMs), a checkpoint (partition-checkpoints.ts: taken at
 * once, then written while the next batches are applied — persist, then publish what depends on
 * it, then commit the offsets it covers; one at a time per partition).
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
  /** Messages that were waiting to be read after the last batch applied (the bus's end offset at its read). */
  backlog: number;
  checkpoints: PartitionCheckpoints;
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
  /** The watermarks published, kept here so that a partition leaving and coming back does not forget them. */
  private readonly publishedProgress: PublishedProgress = new Map();
  /** Made at start, once the source topic's log id is known. */
  private stateStore!: StateStore;
  /** Where every partition's checkpoints are written; made at start, with the state store. */
  private checkpointPorts!: CheckpointPorts;
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
    this.checkpointPorts = {
      store: this.stateStore,
      publishAggregates: (messages) => publishBounded(this.ports.bus, TOPICS.analyticsAggregates, messages),
      publishSideOutputs: (letters) => this.publishSideOutputs(letters),
      commit: (partition, nextOffset) =>
        this.subscription?.commit(TOPICS.playerEvents, partition, nextOffset) ?? Promise.resolve(true),
      readAgain: (partition) => this.subscription?.readAgain(TOPICS.playerEvents, partition),
      logger: this.ports.logger,
      meters: this.meters,
      now: this.now,
    };
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
          if (runtime.checkpoints.hasUncommitted && runtime.analytics) {
            await runtime.checkpoints
              .checkpoint(runtime.analytics)
              .catch((error: unknown) =>
                this.ports.logger.warn(
                  { err: error, partition },
                  'viewer analytics: last checkpoint failed; a successor reads again from the previous one',
                ),
              );
          }
          await runtime.checkpoints.landed();
        }),
      ),
    );
    await this.subscription?.stop();
    // Let a tick in progress finish its partition work before the ports close.
    await Promise.all(
      [...this.runtimes.values()].map((runtime) => runtime.queue.run(() => runtime.checkpoints.landed())),
    );
  }

  private runtime(partition: number): PartitionRuntime {
    let runtime = this.runtimes.get(partition);
    if (!runtime) {
      runtime = {
        queue: new SerialQueue(),
        analytics: null,
        busy: false,
        lastBatchAt: this.now(),
        backlog: 0,
        checkpoints: new PartitionCheckpoints(partition, this.checkpointPorts, {
          settings: this.options.settings,
          groupId: this.groupId,
          publishedProgress: this.publishedProgress,
        }),
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
        if (runtime.checkpoints.replayNeeded) forget(runtime);
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
        runtime.backlog =
          batch.endOffset === undefined ? 0 : Math.max(0, Number(batch.endOffset) - Number(batch.lastOffset) - 1);
        runtime.checkpoints.batchApplied(String(BigInt(batch.lastOffset) + 1n));
        if (runtime.checkpoints.due(runtime.lastBatchAt, readingOf(runtime, analytics)))
          await runtime.checkpoints.checkpoint(analytics);
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
    await runtime.checkpoints.landed();
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
    runtime.checkpoints.stateLoaded();
    return analytics;
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
        if (
          !assigned.has(partition) &&
          !this.runtimes.get(partition)!.busy &&
          !this.runtimes.get(partition)!.checkpoints.isWriting
        )
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
            runtime.checkpoints.hasPending &&
            runtime.checkpoints.due(now, readingOf(runtime, runtime.analytics));
          if (!advance && !due) return;
          await runtime.queue.run(async () => {
            runtime.busy = true;
            try {
              const analytics = await this.loaded(runtime, partition);
              if (advance && analytics.advanceIdle(this.now())) {
                this.meters.idleAdvances.inc();
                runtime.checkpoints.idleAdvanced();
              }
              await runtime.checkpoints.checkpoint(analytics);
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

function readingOf(runtime: PartitionRuntime, analytics: PartitionAnalytics): ReadingPosition {
  return { watermark: analytics.progress.watermark, backlog: runtime.backlog };
}

/** Drops what memory holds for a partition; the next use loads it from the state store. */
function forget(runtime: PartitionRuntime): void {
  runtime.analytics = null;
  runtime.backlog = 0;
  runtime.checkpoints.forget();
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
