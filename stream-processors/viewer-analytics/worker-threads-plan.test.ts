import { describe, expect, it } from 'vitest';
import { analyticsThreadCount, crashVerdict, type CrashPolicy, type ThreadCountInput } from './worker-threads-plan.ts';

describe('analyticsThreadCount', () => {
  const kafka: ThreadCountInput = {
    setting: 'auto',
    busKind: 'kafka',
    analyticsStoreKind: 'clickhouse',
    availableCores: 8,
    partitions: 6,
  };
  it.each([
    ['auto: the available cores', { availableCores: 4 }, 4],
    ['auto: capped by the partitions', { availableCores: 8 }, 6],
    ['auto on one core: in the main thread', { availableCores: 1 }, 1],
    ['a number: as set', { setting: 3 }, 3],
    ['a number past the partitions: capped', { setting: 12 }, 6],
    ['1: in the main thread', { setting: 1 }, 1],
    ['the embedded bus: in the main thread, whatever is set', { busKind: 'embedded', setting: 4 }, 1],
    ['chDB: in the main thread, whatever is set', { analyticsStoreKind: 'chdb', setting: 4 }, 1],
  ] as const)('%s', (_name, change, threads) => {
    expect(analyticsThreadCount({ ...kafka, ...change }).threads).toBe(threads);
  });

  it('says why it was capped', () => {
    expect(analyticsThreadCount({ ...kafka, setting: 12 }).why).toBe(
      'ANALYTICS_WORKER_THREADS=12, capped by the 6 partitions of player.events',
    );
  });
});

describe('crashVerdict', () => {
  const policy: CrashPolicy = { maxCrashes: 3, periodMs: 60_000, firstBackoffMs: 500, maxBackoffMs: 3_000 };
  const now = 1_000_000;
  it.each([
    ['the first crash: restart soon', [now], { action: 'restart', afterMs: 500, recentCrashes: 1 }],
    [
      'the second within the period: twice the wait',
      [now - 1_000, now],
      { action: 'restart', afterMs: 1_000, recentCrashes: 2 },
    ],
    [
      'the third: four times the first wait',
      [now - 2_000, now - 1_000, now],
      { action: 'restart', afterMs: 2_000, recentCrashes: 3 },
    ],
    [
      'one more than allowed within the period: give up',
      [now - 3_000, now - 2_000, now - 1_000, now],
      { action: 'give up', recentCrashes: 4 },
    ],
    [
      'crashes older than the period do not count',
      [now - 120_000, now - 90_000, now - 61_000, now],
      { action: 'restart', afterMs: 500, recentCrashes: 1 },
    ],
  ] as const)('%s', (_name, crashes, verdict) => {
    expect(crashVerdict(crashes, now, policy)).toEqual(verdict);
  });

  it('caps the wait at maxBackoffMs', () => {
    expect(crashVerdict([now - 2, now - 1, now], now, { ...policy, firstBackoffMs: 2_000 })).toEqual({
      action: 'restart',
      afterMs: 3_000,
      recentCrashes: 3,
    });
  });
});
