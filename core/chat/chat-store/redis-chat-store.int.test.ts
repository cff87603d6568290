import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testServices } from '../../../test/services.ts';
import { describeChatStoreContract } from './chat-store.contract.ts';
import { RedisChatStore } from './redis-chat-store.ts';

const keyPrefix = `livepulse-test:${randomUUID()}:chat:`;

describeChatStoreContract('redis', () =>
  Promise.resolve(new RedisChatStore({ url: testServices().redisUrl, keyPrefix })),
);

describe('RedisChatStore', () => {
  it('shares state between two connections, as two gateway nodes do', async () => {
    const a = new RedisChatStore({ url: testServices().redisUrl, keyPrefix });
    const b = new RedisChatStore({ url: testServices().redisUrl, keyPrefix });
    try {
      await a.putSanction('shared', { kind: 'ban', user_id: 'u', until: null, reason: 'r', by: 'm', at: Date.now() });
      expect(await b.getSanction('shared', 'u', Date.now())).toMatchObject({ kind: 'ban' });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

afterAll(async () => {
  const raw = new Redis(testServices().redisUrl);
  for await (const keys of raw.scanStream({ match: `${keyPrefix}*`, count: 1_000 })) {
    if ((keys as string[]).length > 0) await raw.del(...(keys as string[]));
  }
  await raw.quit();
});
