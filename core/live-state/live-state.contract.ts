import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotACounterError, type LiveState } from './live-state.ts';

/**
 * What every LiveState adapter must do, run against each of them. Tests share one instance and
 * isolate themselves with a fresh key prefix. Windows and TTLs are short; each wait overshoots,
 * and a late check still sees a key expired, so only assertions made before a TTL runs out
 * depend on the machine keeping up (they have a few hundred milliseconds of slack).
 */
export function describeLiveStateContract(name: string, make: () => Promise<LiveState>): void {
  describe(`LiveState contract: ${name}`, () => {
    let state: LiveState;
    let prefix: string;
    const key = (suffix: string) => `${prefix}${suffix}`;

    beforeAll(async () => {
      state = await make();
    });
    afterAll(async () => {
      await state.close();
    });
    beforeEach(() => {
      prefix = `contract:${randomUUID()}:`;
    });

    describe('consumeRate', () => {
      it('allows exactly `limit` attempts in a window, counting down `remaining`', async () => {
        const decisions = [];
        for (let attempt = 0; attempt < 5; attempt++) decisions.push(await state.consumeRate(key('user'), 5, 60_000));
        expect(decisions).toEqual([4, 3, 2, 1, 0].map((remaining) => ({ allowed: true, remaining, retryAfterMs: 0 })));
      });

      it('rejects the attempt past the limit with a retryAfterMs within the window', async () => {
        for (let attempt = 0; attempt < 3; attempt++) await state.consumeRate(key('user'), 3, 60_000);
        const rejected = await state.consumeRate(key('user'), 3, 60_000);
        expect(rejected.allowed).toBe(false);
        expect(rejected.remaining).toBe(0);
        expect(rejected.retryAfterMs).toBeGreaterThan(0);
        expect(rejected.retryAfterMs).toBeLessThanOrEqual(60_000);
      });

      it('lets attempts back in as they slide out of the window, not all at once', async () => {
        const limit = 4;
        const windowMs = 400;
        await state.consumeRate(key('user'), limit, windowMs);
        await state.consumeRate(key('user'), limit, windowMs);
        await sleep(200);
        await state.consumeRate(key('user'), limit, windowMs);
        await state.consumeRate(key('user'), limit, windowMs);
        const rejected = await state.consumeRate(key('user'), limit, windowMs);
        expect(rejected.allowed).toBe(false);
        expect(rejected.retryAfterMs).toBeLessThan(windowMs);

        // The first two attempts have left the window; the last two are still in it.
        await sleep(rejected.retryAfterMs + 30);
        expect((await state.consumeRate(key('user'), limit, windowMs)).allowed).toBe(true);
        expect((await state.consumeRate(key('user'), limit, windowMs)).allowed).toBe(true);
        expect((await state.consumeRate(key('user'), limit, windowMs)).allowed).toBe(false);
      });

      it('recovers fully once a whole window has passed', async () => {
        for (let attempt = 0; attempt < 3; attempt++) await state.consumeRate(key('user'), 3, 250);
        const rejected = await state.consumeRate(key('user'), 3, 250);
        expect(rejected.allowed).toBe(false);
        await sleep(rejected.retryAfterMs + 280);
        expect(await state.consumeRate(key('user'), 3, 250)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
      });

      it('does not count rejected attempts', async () => {
        await state.consumeRate(key('user'), 1, 300);
        for (let attempt = 0; attempt < 5; attempt++)
          expect((await state.consumeRate(key('user'), 1, 300)).allowed).toBe(false);
        await sleep(330);
        expect((await state.consumeRate(key('user'), 1, 300)).allowed).toBe(true);
      });

      it('keeps keys independent', async () => {
        await state.consumeRate(key('a'), 1, 60_000);
        expect((await state.consumeRate(key('a'), 1, 60_000)).allowed).toBe(false);
        expect((await state.consumeRate(key('b'), 1, 60_000)).allowed).toBe(true);
      });

      it('keeps rate limits apart from values of the same name', async () => {
        await state.set(key('shared'), 'value');
        expect((await state.consumeRate(key('shared'), 1, 60_000)).allowed).toBe(true);
        expect(await state.get(key('shared'))).toBe('value');
      });

      it('rejects a non-positive or fractional limit or window with RangeError', async () => {
        await expect(state.consumeRate(key('user'), 0, 1_000)).rejects.toThrow(RangeError);
        await expect(state.consumeRate(key('user'), 1.5, 1_000)).rejects.toThrow(RangeError);
        await expect(state.consumeRate(key('user'), 1, -1)).rejects.toThrow(RangeError);
      });
    });

    describe('increment', () => {
      it('adds to a counter and returns the new value', async () => {
        expect(await state.increment(key('views'), 1, 60_000)).toBe(1);
        expect(await state.increment(key('views'), 5, 60_000)).toBe(6);
        expect(await state.increment(key('views'), -2, 60_000)).toBe(4);
        expect(await state.get(key('views'))).toBe('4');
      });

      it('expires the counter TTL after creation, without later increments extending it', async () => {
        await state.increment(key('views'), 1, 800);
        await sleep(400);
        expect(await state.increment(key('views'), 1, 800)).toBe(2);
        await sleep(450);
        expect(await state.get(key('views'))).toBeNull();
        expect(await state.increment(key('views'), 7, 800)).toBe(7);
      });

      it('rejects a key holding a non-integer value with NotACounterError', async () => {
        await state.set(key('name'), 'not a number');
        await expect(state.increment(key('name'), 1, 60_000)).rejects.toThrow(NotACounterError);
        expect(await state.get(key('name'))).toBe('not a number');
      });

      it('rejects a fractional step or TTL with RangeError', async () => {
        await expect(state.increment(key('views'), 0.5, 60_000)).rejects.toThrow(RangeError);
        await expect(state.increment(key('views'), 1, 0)).rejects.toThrow(RangeError);
      });
    });

    describe('get / set / delete', () => {
      it('returns null for a missing key', async () => {
        expect(await state.get(key('missing'))).toBeNull();
      });

      it('keeps a value without a TTL and overwrites it', async () => {
        await state.set(key('mode'), 'slow');
        await state.set(key('mode'), 'followers-only');
        expect(await state.get(key('mode'))).toBe('followers-only');
      });

      it('expires a value set with a TTL', async () => {
        await state.set(key('ban'), 'timeout', 400);
        expect(await state.get(key('ban'))).toBe('timeout');
        await sleep(450);
        expect(await state.get(key('ban'))).toBeNull();
      });

      it('drops the TTL when a value is overwritten without one', async () => {
        await state.set(key('ban'), 'timeout', 200);
        await state.set(key('ban'), 'permanent');
        await sleep(250);
        expect(await state.get(key('ban'))).toBe('permanent');
      });

      it('reads many values at once, in order, with null for missing and expired ones', async () => {
        await state.set(key('a'), 'first');
        await state.set(key('b'), 'second', 200);
        await state.set(key('c'), 'third');
        expect(await state.getMany([key('c'), key('missing'), key('a'), key('b'), key('a')])).toEqual([
          'third',
          null,
          'first',
          'second',
          'first',
        ]);
        await sleep(250);
        expect(await state.getMany([key('a'), key('b')])).toEqual(['first', null]);
        expect(await state.getMany([])).toEqual([]);
      });

      it('deletes values and counters; deleting a missing key is fine', async () => {
        await state.set(key('ban'), 'permanent');
        await state.increment(key('views'), 3, 60_000);
        await state.delete(key('ban'));
        await state.delete(key('views'));
        await state.delete(key('never-set'));
        expect(await state.get(key('ban'))).toBeNull();
        expect(await state.increment(key('views'), 1, 60_000)).toBe(1);
      });
    });

    describe('setIfAbsent / setManyIfAbsent', () => {
      it('sets once, keeps the first value, and frees the key after the TTL', async () => {
        expect(await state.setIfAbsent(key('event-1'), 'first', 400)).toBe(true);
        expect(await state.setIfAbsent(key('event-1'), 'second', 400)).toBe(false);
        expect(await state.get(key('event-1'))).toBe('first');
        await sleep(450);
        expect(await state.setIfAbsent(key('event-1'), 'third', 400)).toBe(true);
        expect(await state.get(key('event-1'))).toBe('third');
      });

      it('reports, in order, which keys were new, counting duplicates within one call once', async () => {
        await state.set(key('seen'), '1');
        const keys = [key('a'), key('seen'), key('b'), key('a'), key('c'), key('b')];
        expect(await state.setManyIfAbsent(keys, '1', 60_000)).toEqual([true, false, true, false, true, false]);
        expect(await state.setManyIfAbsent([key('c'), key('d')], '1', 60_000)).toEqual([false, true]);
      });

      it('expires keys it set after the TTL', async () => {
        expect(await state.setManyIfAbsent([key('a'), key('b')], '1', 200)).toEqual([true, true]);
        await sleep(250);
        expect(await state.setManyIfAbsent([key('a'), key('b')], '1', 200)).toEqual([true, true]);
      });

      it('answers an empty list with an empty list', async () => {
        expect(await state.setManyIfAbsent([], '1', 60_000)).toEqual([]);
      });
    });

    describe('setFields / getAllFields', () => {
      it('merges fields into a hash, each field written on its own', async () => {
        await state.setFields(key('stream'), { viewers: '3', chat: 'a' }, 60_000);
        await state.setFields(key('stream'), { viewers: '5', clips: 'b' }, 60_000);
        expect(await state.getAllFields([key('stream')])).toEqual([{ viewers: '5', chat: 'a', clips: 'b' }]);
      });

      it('answers many hashes in order, with {} for missing ones, and [] for none', async () => {
        await state.setFields(key('a'), { x: '1' }, 60_000);
        await state.setFields(key('c'), { y: '2' }, 60_000);
        expect(await state.getAllFields([key('c'), key('b'), key('a')])).toEqual([{ y: '2' }, {}, { x: '1' }]);
        expect(await state.getAllFields([])).toEqual([]);
      });

      it('expires the hash after the TTL, which every write renews', async () => {
        await state.setFields(key('stream'), { x: '1' }, 400);
        await sleep(250);
        await state.setFields(key('stream'), { y: '2' }, 400);
        await sleep(250);
        expect(await state.getAllFields([key('stream')])).toEqual([{ x: '1', y: '2' }]);
        await sleep(250);
        expect(await state.getAllFields([key('stream')])).toEqual([{}]);
      });

      it('keeps hashes apart from values of the same name', async () => {
        await state.set(key('shared'), 'value');
        await state.setFields(key('shared'), { x: '1' }, 60_000);
        expect([await state.get(key('shared')), await state.getAllFields([key('shared')])]).toEqual([
          'value',
          [{ x: '1' }],
        ]);
      });

      it('rejects a non-positive TTL with RangeError', async () => {
        await expect(state.setFields(key('stream'), { x: '1' }, 0)).rejects.toThrow(RangeError);
      });
    });

    describe('markRecent / recentMembers', () => {
      it('lists members seen since a time, most recent first, and drops older ones for good', async () => {
        await state.markRecent(key('streams'), ['a', 'b'], 1_000);
        await state.markRecent(key('streams'), ['c'], 3_000);
        await state.markRecent(key('streams'), ['a'], 2_000);
        expect(await state.recentMembers(key('streams'), 0)).toEqual(['c', 'a', 'b']);
        expect(await state.recentMembers(key('streams'), 2_000)).toEqual(['c', 'a']);
        // The previous call dropped b.
        expect(await state.recentMembers(key('streams'), 0)).toEqual(['c', 'a']);
      });

      it('never moves a member back in time', async () => {
        await state.markRecent(key('streams'), ['a'], 5_000);
        await state.markRecent(key('streams'), ['a'], 1_000);
        expect(await state.recentMembers(key('streams'), 4_000)).toEqual(['a']);
      });

      it('orders members seen at the same time in reverse byte order', async () => {
        await state.markRecent(key('streams'), ['m', 'z', 'a'], 1_000);
        expect(await state.recentMembers(key('streams'), 0)).toEqual(['z', 'm', 'a']);
      });

      it('answers a missing key with [] and ignores an empty list', async () => {
        await state.markRecent(key('streams'), [], 1_000);
        expect(await state.recentMembers(key('streams'), 0)).toEqual([]);
      });

      it('rejects a fractional time with RangeError', async () => {
        await expect(state.markRecent(key('streams'), ['a'], 1.5)).rejects.toThrow(RangeError);
        await expect(state.recentMembers(key('streams'), 0.5)).rejects.toThrow(RangeError);
      });
    });

    it('answers ping', async () => {
      await expect(state.ping()).resolves.toBeUndefined();
    });
  });
}
