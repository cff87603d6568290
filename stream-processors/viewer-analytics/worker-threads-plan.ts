import type { Config } from '../../core/config.ts';

/**
 * How many worker threads run the viewer-analytics processor, and what a crashing worker gets.
 * Pure: the service (service.ts) supplies the cores, the partition count and the clock.
 */

export interface ThreadCountInput {
  setting: Config['analyticsWorkerThreads'];
  busKind: Config['bus']['kind'];
  analyticsStoreKind: Config['analyticsStore']['kind'];
  /** `os.availableParallelism()`. */
  availableCores: number;
  /** Partitions of player.events: a group member beyond them would get none. */
  partitions: number;
}

export interface ThreadCount {
  /** 1: the processor runs in the main thread, as a single member of the group. */
  threads: number;
  why: string;
}

export function analyticsThreadCount({
  setting,
  busKind,
  analyticsStoreKind,
  availableCores,
  partitions,
}: ThreadCountInput): ThreadCount {
  if (busKind === 'embedded')
    return { threads: 1, why: 'the embedded bus is one in-process log: the processor runs in the main thread' };
  if (analyticsStoreKind === 'chdb')
    return { threads: 1, why: 'chDB is one engine per process, opened by the main thread: the processor runs there' };
  const wanted = setting === 'auto' ? Math.max(1, availableCores) : setting;
  const from = setting === 'auto' ? `${availableCores} available cores` : `ANALYTICS_WORKER_THREADS=${setting}`;
  if (wanted <= partitions) return { threads: wanted, why: from };
  return { threads: Math.max(1, partitions), why: `${from}, capped by the ${partitions} partitions of player.events` };
}

export interface CrashPolicy {
  /** More crashes than this within `periodMs` and the service gives up (the process exits non-zero). */
  maxCrashes: number;
  periodMs: number;
  /** The wait before the first restart; it doubles with every crash in the period. */
  firstBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_CRASH_POLICY: CrashPolicy = {
  maxCrashes: 5,
  periodMs: 60_000,
  firstBackoffMs: 500,
  maxBackoffMs: 10_000,
};

export type CrashVerdict =
  | { action: 'restart'; afterMs: number; recentCrashes: number }
  | { action: 'give up'; recentCrashes: number };

/** What to do after a worker crashed at `now`, given the times of every crash of the pool (this one included). */
export function crashVerdict(
  crashTimes: readonly number[],
  now: number,
  policy: CrashPolicy = DEFAULT_CRASH_POLICY,
): CrashVerdict {
  const recentCrashes = crashTimes.filter((at) => now - at < policy.periodMs).length;
  if (recentCrashes > policy.maxCrashes) return { action: 'give up', recentCrashes };
  return {
    action: 'restart',
    afterMs: Math.min(policy.maxBackoffMs, policy.firstBackoffMs * 2 ** Math.max(0, recentCrashes - 1)),
    recentCrashes,
  };
}
