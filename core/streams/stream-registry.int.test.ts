import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices } from '../../test/services.ts';
import { createAnalyticsStore, type AnalyticsStore } from '../analytics-store/analytics-store.ts';
import { quoteIdentifier } from '../analytics-store/sql-quoting.ts';
import { applyMigrations } from '../analytics-store/migrations.ts';
import type { ApiIdentity } from '../http/api-auth.ts';
import type { LiveState } from '../live-state/live-state.ts';
import { MemoryLiveState } from '../live-state/memory-live-state.ts';
import { RedisLiveState } from '../live-state/redis-live-state.ts';
import { STREAM_REGISTRY_KEYS, StreamRegistry } from './stream-registry.ts';

/**
 * The registry on the real ClickHouse engine, with its cache on each live-state adapter: first
 * registration wins even when two instances race, an admin's reassignment is what every reader
 * sees at once, and a fresh cache is refilled from ClickHouse.
 */
const runKeyPrefix = `livepulse-test:${randomUUID()}:`;
const creator = (creatorId: string): ApiIdentity => ({ userId: `user-${creatorId}`, role: 'creator', creatorId });
const admin: ApiIdentity = { userId: 'root', role: 'admin' };

let store: AnalyticsStore;
beforeAll(async () => {
  store = await createAnalyticsStore({
    kind: 'clickhouse',
    url: testServices().clickhouseUrl,
    username: 'default',
    password: '',
    database: `registry_${randomUUID().replaceAll('-', '').slice(0, 12)}`,
  });
  await applyMigrations(store);
}, 120_000);

afterAll(async () => {
  await store?.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(store.database)}` });
  await store?.close();
  const raw = new Redis(testServices().redisUrl);
  for await (const keys of raw.scanStream({ match: `${runKeyPrefix}*`, count: 1_000 })) {
    if ((keys as string[]).length > 0) await raw.del(...(keys as string[]));
  }
  await raw.quit();
});

describe.each([
  ['memory', () => new MemoryLiveState()],
  ['redis', () => new RedisLiveState({ url: testServices().redisUrl, keyPrefix: runKeyPrefix })],
] as const)('stream registry with a %s cache', (kind, newLiveState) => {
  let liveState: LiveState;
  beforeAll(() => {
    liveState = newLiveState();
  });
  afterAll(async () => liveState?.close());

  it('registers a stream, answers a retry as unchanged and refuses another creator (409)', async () => {
    const registry = new StreamRegistry(store, liveState);
    const streamId = `s-${kind}-${randomUUID()}`;
    const first = await registry.register({
      source: 'api',
      streamId,
      creatorId: 'victim',
      identity: creator('victim'),
      reassign: false,
    });
    expect(first).toMatchObject({
      created: true,
      owner: { stream_id: streamId, creator_id: 'victim', source: 'api', registered_by: 'user-victim' },
    });
    expect(
      await registry.register({
        source: 'api',
        streamId,
        creatorId: 'victim',
        identity: creator('victim'),
        reassign: false,
      }),
    ).toMatchObject({ created: false });
    await expect(
      registry.register({
        source: 'api',
        streamId,
        creatorId: 'attacker',
        identity: creator('attacker'),
        reassign: false,
      }),
    ).rejects.toMatchObject({ statusCode: 409, code: 'stream_owned' });
    expect((await registry.ownerOf(streamId))?.creator_id).toBe('victim');
    expect((await registry.streamsOf('victim')).map((o) => o.stream_id)).toContain(streamId);
    expect((await registry.streamsOf('attacker')).map((o) => o.stream_id)).not.toContain(streamId);
  });

  it('lets exactly one of two racing first registrations win', async () => {
    const streamId = `race-${kind}-${randomUUID()}`;
    // Two instances: their own registry objects over the one ClickHouse and the one live state.
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((name) =>
        new StreamRegistry(store, liveState).register({
          source: 'api',
          streamId,
          creatorId: `creator-${name}`,
          identity: creator(`creator-${name}`),
          reassign: false,
        }),
      ),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason as unknown)).toEqual(
      Array(3).fill(expect.objectContaining({ statusCode: 409 })),
    );
    const winner = (won[0] as PromiseFulfilledResult<{ owner: { creator_id: string } }>).value.owner.creator_id;
    expect((await new StreamRegistry(store, liveState).ownerOf(streamId))?.creator_id).toBe(winner);
  });

  it('shows an admin reassignment to every reader at once, and refills an emptied cache from ClickHouse', async () => {
    const registry = new StreamRegistry(store, liveState);
    const streamId = `move-${kind}-${randomUUID()}`;
    await registry.register({
      source: 'api',
      streamId,
      creatorId: 'victim',
      identity: creator('victim'),
      reassign: false,
    });
    const reader = new StreamRegistry(store, liveState);
    expect((await reader.ownerOf(streamId))?.creator_id).toBe('victim');
    expect(
      await registry.register({ source: 'api', streamId, creatorId: 'heir', identity: admin, reassign: true }),
    ).toMatchObject({ created: true, reassigned: true });
    expect((await reader.ownerOf(streamId))?.creator_id).toBe('heir');
    await liveState.delete(STREAM_REGISTRY_KEYS.owner(streamId));
    expect((await reader.ownersOf([streamId, 'never-registered'])).get(streamId)?.creator_id).toBe('heir');
    expect(await reader.ownerOf('never-registered')).toBeNull();
  });

  it("takes the IVS channel's word over an API registration", async () => {
    const registry = new StreamRegistry(store, liveState);
    const streamId = `st-${kind}${randomUUID().replaceAll('-', '')}`;
    await registry.register({ source: 'api', streamId, creatorId: 'someone', identity: admin, reassign: false });
    const arn = 'arn:aws:ivs:us-east-1:123456789012:channel/Ch1';
    expect(await registry.register({ source: 'ivs', streamId, creatorId: 'tagged', channelArn: arn })).toMatchObject({
      reassigned: true,
      owner: { creator_id: 'tagged', source: 'ivs', channel_arn: arn },
    });
    expect((await registry.ownerOf(streamId))?.creator_id).toBe('tagged');
  });
});
