import { afterAll, describe, expect, it } from 'vitest';
import type { LiveState } from '../../core/live-state/live-state.ts';
import { MemoryLiveState } from '../../core/live-state/memory-live-state.ts';
import { EventIdLedger } from './event-id-ledger.ts';

const liveState = new MemoryLiveState();
afterAll(() => liveState.close());
let n = 0;
const ids = (count: number) => Array.from({ length: count }, () => `p:event-${n++}`);

describe('EventIdLedger', () => {
  it('claims new ids, and reports them as published once confirmed', async () => {
    const ledger = new EventIdLedger(liveState, { windowMs: 60_000 });
    const batch = ids(3);
    const first = await ledger.claim(batch);
    expect(first.outcomes).toEqual(['claimed', 'claimed', 'claimed']);
    await ledger.confirm(first);
    expect((await ledger.claim(batch)).outcomes).toEqual(['published', 'published', 'published']);
  });

  it('reports an id held by an unconfirmed request as in flight, and one it repeats itself as repeated', async () => {
    const ledger = new EventIdLedger(liveState, { windowMs: 60_000 });
    const [a, b] = ids(2);
    await ledger.claim([a!]);
    expect((await ledger.claim([a!, b!, b!])).outcomes).toEqual(['in_flight', 'claimed', 'repeated_in_request']);
  });

  it('lets a retry claim ids again after a failed publish released them', async () => {
    const ledger = new EventIdLedger(liveState, { windowMs: 60_000 });
    const batch = ids(2);
    const first = await ledger.claim(batch);
    await ledger.release(first, batch);
    expect((await ledger.claim(batch)).outcomes).toEqual(['claimed', 'claimed']);
  });

  it('takes over ids whose claimant never confirmed within the abandon time (it died mid-publish)', async () => {
    let now = 1_800_000_000_000;
    const ledger = new EventIdLedger(liveState, { windowMs: 600_000, abandonAfterMs: 30_000, now: () => now });
    const batch = ids(1);
    await ledger.claim(batch);
    now += 10_000;
    expect((await ledger.claim(batch)).outcomes).toEqual(['in_flight']);
    now += 25_000;
    expect((await ledger.claim(batch)).outcomes).toEqual(['abandoned']);
  });

  it('claims an id whose holder let go between its two reads', async () => {
    const batch = ids(1);
    const racing = new Proxy(liveState, {
      get(target, property) {
        // The holder releases right after our SET NX failed: our GET finds nothing.
        if (property === 'get')
          return async (key: string) =>
            key.startsWith('ingest:event:') ? (await target.delete(key), null) : target.get(key);
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as LiveState;
    await new EventIdLedger(liveState, { windowMs: 60_000 }).claim(batch);
    expect((await new EventIdLedger(racing, { windowMs: 60_000 }).claim(batch)).outcomes).toEqual(['claimed']);
  });

  it('degrades to claiming everything when live state fails, and then confirms and releases nothing', async () => {
    const failing = { setManyIfAbsent: () => Promise.reject(new Error('redis down')) } as unknown as LiveState;
    const ledger = new EventIdLedger(failing, { windowMs: 60_000 });
    const claim = await ledger.claim(['p:x', 'p:y']);
    expect(claim).toMatchObject({ degraded: true, outcomes: ['claimed', 'claimed'] });
    await expect(ledger.confirm(claim)).resolves.toBeUndefined();
    await expect(ledger.release(claim, ['p:x', 'p:y'])).resolves.toBeUndefined();
  });
});
