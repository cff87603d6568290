import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLiveState } from './memory-live-state.ts';

describe('MemoryLiveState bounds', () => {
  let state: MemoryLiveState;
  afterEach(async () => {
    await state.close();
  });

  it('evicts the soonest-expiring key when full, and keys without a TTL last', async () => {
    state = new MemoryLiveState({ maxKeys: 3 });
    await state.set('forever', 'x');
    await state.set('soon', 'x', 10_000);
    await state.setIfAbsent('later', 'x', 60_000);
    await state.increment('newest', 1, 30_000);
    expect(state.size).toBe(3);
    expect(await state.get('soon')).toBeNull();

    await state.set('another', 'x', 20_000);
    expect(await state.get('newest')).toBeNull();
    await state.consumeRate('rate', 5, 90_000);
    expect(await state.get('another')).toBeNull();
    expect([await state.get('later'), await state.get('forever')]).toEqual(['x', 'x']);
  });

  it('overwriting a held key does not evict another one', async () => {
    state = new MemoryLiveState({ maxKeys: 2 });
    await state.set('a', '1', 10_000);
    await state.set('b', '1', 20_000);
    await state.set('a', '2', 30_000);
    expect([await state.get('a'), await state.get('b')]).toEqual(['2', '1']);
  });

  it('makes room from expired keys before evicting live ones', async () => {
    state = new MemoryLiveState({ maxKeys: 2, sweepIntervalMs: 60_000 });
    await state.set('short', 'x', 50);
    await state.set('long', 'x', 60_000);
    await sleep(80);
    await state.set('new', 'x', 60_000);
    expect([await state.get('long'), await state.get('new')]).toEqual(['x', 'x']);
  });

  it('sweeps expired keys that nothing reads again', async () => {
    state = new MemoryLiveState({ sweepIntervalMs: 50 });
    for (let index = 0; index < 100; index++) await state.set(`key-${index}`, 'x', 30);
    await state.consumeRate('rate', 1, 30);
    await state.set('kept', 'x');
    expect(state.size).toBe(102);
    await sleep(150);
    expect(state.size).toBe(1);
  });

  it('compacts its expiry bookkeeping without losing a hot rate-limited key', async () => {
    state = new MemoryLiveState({ maxKeys: 10 });
    for (let attempt = 0; attempt < 10_000; attempt++) await state.consumeRate('hot', 1_000_000, 60_000);
    expect(state.size).toBe(1);
    expect((await state.consumeRate('hot', 1_000_000, 60_000)).remaining).toBe(1_000_000 - 10_001);
  });
});
