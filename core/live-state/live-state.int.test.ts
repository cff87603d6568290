import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { testServices } from '../../test/services.ts';
import { createLiveState } from './create-live-state.ts';
import { describeLiveStateContract } from './live-state.contract.ts';
import { MemoryLiveState } from './memory-live-state.ts';
import { RedisLiveState } from './redis-live-state.ts';

// One prefix per run, so the run can remove what it wrote from a Redis that outlives it.
const runKeyPrefix = `livepulse-test:${randomUUID()}:`;

describeLiveStateContract('memory', () => Promise.resolve(new MemoryLiveState()));
describeLiveStateContract('redis', () =>
  Promise.resolve(new RedisLiveState({ url: testServices().redisUrl, keyPrefix: runKeyPrefix })),
);

afterAll(async () => {
  const raw = new Redis(testServices().redisUrl);
  for await (const keys of raw.scanStream({ match: `${runKeyPrefix}*`, count: 1_000 })) {
    if ((keys as string[]).length > 0) await raw.del(...(keys as string[]));
  }
  await raw.quit();
});

describe('createLiveState', () => {
  it('picks the adapter the config names', async () => {
    const memory = createLiveState({ kind: 'memory' });
    const redis = createLiveState({ kind: 'redis', url: testServices().redisUrl });
    try {
      expect([memory.kind, redis.kind]).toEqual(['memory', 'redis']);
      await redis.ping();
    } finally {
      await memory.close();
      await redis.close();
    }
  });
});

describe('RedisLiveState', () => {
  const closeAfterTest: Array<{ close(): Promise<void> | void }> = [];
  afterEach(async () => {
    for (const resource of closeAfterTest.splice(0).reverse()) await resource.close();
  });

  it('stores every key under its prefix', async () => {
    const keyPrefix = `${runKeyPrefix}prefix-test:`;
    const state = new RedisLiveState({ url: testServices().redisUrl, keyPrefix });
    const raw = new Redis(testServices().redisUrl);
    closeAfterTest.push(state, { close: async () => void (await raw.quit()) });

    await state.set('ban:user-1', 'permanent');
    await state.consumeRate('chat:user-1', 10, 60_000);
    expect(await raw.get(`${keyPrefix}kv:ban:user-1`)).toBe('permanent');
    expect(await raw.zcard(`${keyPrefix}rate:chat:user-1`)).toBe(1);
    expect(await raw.get('ban:user-1')).toBeNull();
  });

  it('rejects commands promptly when Redis refuses connections, and reports the errors', async () => {
    const logger = { warn: vi.fn() };
    const state = new RedisLiveState({ url: 'redis://127.0.0.1:1', logger });
    closeAfterTest.push(state);
    await expect(state.ping()).rejects.toThrow(/max retries per request/i);
    expect(logger.warn).toHaveBeenCalled();
  });

  it('rejects commands after commandTimeoutMs when the server accepts but never answers', async () => {
    const silent: Server = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    closeAfterTest.push({ close: () => void silent.close() });
    const { port } = silent.address() as AddressInfo;
    const state = new RedisLiveState({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 200 });
    closeAfterTest.push(state);
    await expect(state.get('anything')).rejects.toThrow(/timed out/i);
  });
});
