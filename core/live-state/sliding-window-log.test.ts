import { describe, expect, it } from 'vitest';
import { consumeSlidingWindowLog } from './sliding-window-log.ts';

describe('consumeSlidingWindowLog', () => {
  it.each([
    {
      case: 'empty log',
      log: [],
      now: 1_000,
      limit: 3,
      expected: { allowed: true, remaining: 2, retryAfterMs: 0 },
      logAfter: [1_000],
    },
    {
      case: 'last free slot',
      log: [500, 900],
      now: 1_000,
      limit: 3,
      expected: { allowed: true, remaining: 0, retryAfterMs: 0 },
      logAfter: [500, 900, 1_000],
    },
    {
      case: 'full: wait for the oldest to leave',
      log: [500, 900, 950],
      now: 1_000,
      limit: 3,
      expected: { allowed: false, remaining: 0, retryAfterMs: 500 },
      logAfter: [500, 900, 950],
    },
    {
      case: 'an attempt exactly one window old has left',
      log: [0, 900, 950],
      now: 1_000,
      limit: 3,
      expected: { allowed: true, remaining: 0, retryAfterMs: 0 },
      logAfter: [900, 950, 1_000],
    },
    {
      case: 'everything expired',
      log: [1, 2, 3],
      now: 5_000,
      limit: 3,
      expected: { allowed: true, remaining: 2, retryAfterMs: 0 },
      logAfter: [5_000],
    },
    {
      case: 'fractional clock rounds the wait up',
      log: [0.4],
      now: 999.9,
      limit: 1,
      expected: { allowed: false, remaining: 0, retryAfterMs: 1 },
      logAfter: [0.4],
    },
  ])('$case', ({ log, now, limit, expected, logAfter }) => {
    const mutableLog = [...log];
    expect(consumeSlidingWindowLog(mutableLog, now, limit, 1_000)).toEqual(expected);
    expect(mutableLog).toEqual(logAfter);
  });
});
