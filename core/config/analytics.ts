import { z } from 'zod';
import { configSection, nonNegativeInt, positiveInt } from './fields.ts';

/**
 * Viewer analytics (stream-processors/viewer-analytics): event-time windows, the watermark's
 * allowed lateness and the per-view timeouts. See docs/analytics.md for what each one means.
 */
export const analyticsSection = configSection({
  variables: z.object({
    ANALYTICS_WINDOW_MS: positiveInt(10_000).describe(
      'tumbling window (whole seconds dividing a minute, so that per-minute peaks and rollups line up)',
    ),
    ANALYTICS_ALLOWED_LATENESS_MS: nonNegativeInt(30_000).describe(
      'events later than the watermark minus this go to dead-letters',
    ),
    ANALYTICS_VIEW_INACTIVE_MS: positiveInt(25_000).describe(
      'a view silent this long stops counting as concurrent (~2.5 missed heartbeats)',
    ),
    ANALYTICS_VIEW_END_SILENCE_MS: positiveInt(60_000).describe('a view silent this long has ended (Mux: 60 s)'),
    ANALYTICS_PAUSED_VIEW_END_MS: positiveInt(3_600_000).describe(
      'the same for a paused view, which sends no heartbeats (Mux: 60 min)',
    ),
    ANALYTICS_MAX_REBUFFER_MS: positiveInt(300_000).describe(
      'a view rebuffering longer than this stops counting as concurrent (Mux: 5 min)',
    ),
    ANALYTICS_EMIT_INTERVAL_MS: positiveInt(1_000).describe(
      'the checkpoint interval per partition: state persisted, early results of open windows published, offsets committed',
    ),
    ANALYTICS_CATCH_UP_INTERVAL_MS: positiveInt(1_000).describe(
      'the checkpoint interval instead (never shorter than ANALYTICS_EMIT_INTERVAL_MS, so the default is off), per partition, while more is waiting to be read and the watermark is more than ANALYTICS_CATCH_UP_LAG_MS behind the wall clock: early rows that far in the past help no board, and fewer checkpoints cost less CPU per event (5 s: 5–13% here). Only for a group whose members do not come and go while it catches up: a rebalance hands over partitions with up to this much applied and not committed, which the new owner reads again (with 2 worker threads joining one after the other, CPU per event doubled)',
    ),
    ANALYTICS_CATCH_UP_LAG_MS: positiveInt(60_000).describe(
      'how far behind the wall clock a partition reading a backlog checkpoints at ANALYTICS_CATCH_UP_INTERVAL_MS',
    ),
    ANALYTICS_IDLE_ADVANCE_MS: positiveInt(2_000).describe(
      'a caught-up partition silent this long moves its watermark on',
    ),
    ANALYTICS_MAX_VIEWS_PER_PARTITION: positiveInt(200_000).describe(
      'views kept in memory per partition; past it, the least recently updated view is ended',
    ),
    ANALYTICS_WORKER_THREADS: z
      .string()
      .trim()
      .regex(/^(auto|[1-9]\d{0,2})$/, 'must be auto or a whole number of threads from 1 to 999')
      .default('auto')
      .describe(
        'worker threads running the processor on Kafka, each a member of the consumer group with its own connections: `auto` is `os.availableParallelism()` capped by the partitions of `player.events`; `1` runs it in the main thread. The embedded bus is one in-process log and chDB one engine per process, so with either the processor stays in the main thread whatever is set ([operations.md](operations.md#the-model))',
      ),
  }),
  rules: (e) => {
    const problems: string[] = [];
    if (60_000 % e.ANALYTICS_WINDOW_MS !== 0 || e.ANALYTICS_WINDOW_MS % 1_000 !== 0) {
      problems.push(
        'ANALYTICS_WINDOW_MS: must be whole seconds that divide a minute (1000, 2000, 5000, 10000, 15000, 20000, 30000, 60000)',
      );
    }
    if (e.ANALYTICS_VIEW_END_SILENCE_MS < e.ANALYTICS_VIEW_INACTIVE_MS) {
      problems.push(
        'ANALYTICS_VIEW_END_SILENCE_MS: must be at least ANALYTICS_VIEW_INACTIVE_MS (a view is inactive before it ends)',
      );
    }
    if (e.ANALYTICS_PAUSED_VIEW_END_MS < e.ANALYTICS_VIEW_END_SILENCE_MS) {
      problems.push('ANALYTICS_PAUSED_VIEW_END_MS: must be at least ANALYTICS_VIEW_END_SILENCE_MS');
    }
    return problems;
  },
  toConfig: (e) => ({
    analytics: {
      windowMs: e.ANALYTICS_WINDOW_MS,
      allowedLatenessMs: e.ANALYTICS_ALLOWED_LATENESS_MS,
      inactiveAfterMs: e.ANALYTICS_VIEW_INACTIVE_MS,
      endAfterSilenceMs: e.ANALYTICS_VIEW_END_SILENCE_MS,
      pausedEndAfterMs: e.ANALYTICS_PAUSED_VIEW_END_MS,
      maxRebufferMs: e.ANALYTICS_MAX_REBUFFER_MS,
      emitIntervalMs: e.ANALYTICS_EMIT_INTERVAL_MS,
      catchUpIntervalMs: e.ANALYTICS_CATCH_UP_INTERVAL_MS,
      catchUpLagMs: e.ANALYTICS_CATCH_UP_LAG_MS,
      idleAdvanceMs: e.ANALYTICS_IDLE_ADVANCE_MS,
      maxViewsPerPartition: e.ANALYTICS_MAX_VIEWS_PER_PARTITION,
    },
    /**
     * Worker threads running the viewer-analytics processor, each a member of its consumer group
     * (Kafka only; the embedded bus is one in-process log, so there it stays in the main thread).
     * `auto`: the available cores, capped by the partitions of player.events; 1: in the main thread.
     */
    analyticsWorkerThreads:
      e.ANALYTICS_WORKER_THREADS === 'auto' ? ('auto' as const) : Number(e.ANALYTICS_WORKER_THREADS),
  }),
});
