import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLiveState } from '../live-state/memory-live-state.ts';
import { MinuteBudget } from './minute-budget.ts';

const state = new MemoryLiveState();
afterEach(async () => {
  await state.close();
});

describe('MinuteBudget', () => {
  it('grants up to the budget within a calendar minute, shared by every taker, and renews each minute', async () => {
    const minute = 30_000_000 * 60_000;
    const a = new MinuteBudget(state, 10, 'test-budget');
    const b = new MinuteBudget(state, 10, 'test-budget');
    expect(await a.take(4, minute + 1_000)).toBe(4);
    expect(await b.take(5, minute + 2_000)).toBe(5);
    expect(await a.take(3, minute + 3_000)).toBe(1);
    expect(await b.take(2, minute + 59_999)).toBe(0);
    expect(await a.take(12, minute + 60_000)).toBe(10);
    expect(await a.take(0, minute + 60_000)).toBe(0);
  });
});
