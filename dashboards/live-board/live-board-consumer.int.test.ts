import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Subscription } from '../../core/bus/bus.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { RedisLiveState } from '../../core/live-state/redis-live-state.ts';
import { Metrics } from '../../core/metrics.ts';
import { allTopicSpecs, TOPICS } from '../../core/topics.ts';
import { testServices } from '../../test/services.ts';
import { waitFor } from '../../test/wait-for.ts';
import { subscribeLiveBoard } from './live-board-consumer.ts';
import { LiveBoardStore } from './live-board-store.ts';
import type { StreamOwner } from '../../core/streams/stream-ownership.ts';
import type { StreamOwnerLookup } from '../../core/streams/stream-registry.ts';
import { chatMessage, rowsMessage, verdict, windowRow } from './testing/live-board-fixtures.ts';

/**
 * Distributed mode's shape: two members of the `live-board` group, each with its own Redis
 * connection (as two nodes would have), share the partitions; a third connection reads. Every
 * stream's numbers must be the exact sums, whichever member folded which partition.
 */
const PARTITIONS = 4;
const STREAMS = 24;
const logger = pino({ level: 'silent' });
const keyPrefix = `livepulse-test:${randomUUID()}:`;
/** The registry's answer for this test: even streams registered (to owners other than their events' creator_id), odd ones not. */
const registeredOwners: StreamOwnerLookup = {
  ownersOf: (ids) =>
    Promise.resolve(
      new Map(
        ids
          .filter((id) => Number(id.split('-')[1]) % 2 === 0)
          .map((id): [string, StreamOwner] => [
            id,
            {
              stream_id: id,
              creator_id: `owner-of-${id}`,
              source: 'api',
              channel_arn: '',
              registered_by: 'test',
              registered_at: Date.now(),
            },
          ]),
      ),
    ),
};

describe('live board consumers sharing a group over Redis', () => {
  let bus: EmbeddedBus;
  const members: Subscription[] = [];
  const states: RedisLiveState[] = [];
  let reader: LiveBoardStore;

  beforeAll(async () => {
    bus = new EmbeddedBus({
      defaultPartitions: PARTITIONS,
      maxRetainedMessages: 100_000,
      publish: { lingerMs: 2, maxBatchMessages: 1_000, maxBufferedMessages: 100_000 },
    });
    await bus.ensureTopics(allTopicSpecs(PARTITIONS));
    for (let member = 0; member < 3; member++)
      states.push(new RedisLiveState({ url: testServices().redisUrl, keyPrefix }));
    for (const state of states.slice(0, 2)) {
      const subscription = await subscribeLiveBoard({
        bus,
        store: new LiveBoardStore(state, registeredOwners, logger),
        metrics: new Metrics({ service: 'test' }),
      });
      await subscription.ready();
      members.push(subscription);
    }
    reader = new LiveBoardStore(states[2]!, registeredOwners, logger);
  });

  afterAll(async () => {
    await Promise.allSettled(members.map((m) => m.stop()));
    await bus?.close();
    await Promise.allSettled(states.map((s) => s.close()));
    const raw = new Redis(testServices().redisUrl);
    for await (const keys of raw.scanStream({ match: `${keyPrefix}*`, count: 1_000 }))
      if ((keys as string[]).length > 0) await raw.del(...(keys as string[]));
    await raw.quit();
  });

  it('folds every source partition and every stream exactly, on whichever member owns it', async () => {
    // Both members took part of the work.
    for (const member of members)
      expect(member.assignedPartitions()[TOPICS.analyticsAggregates]?.length).toBeGreaterThan(0);

    const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 20_000;
    const streamIds = Array.from({ length: STREAMS }, (_, i) => `stream-${i}`);
    // Each source partition reports every stream in two windows, the second window twice (early, then final).
    for (let source = 0; source < PARTITIONS; source++) {
      const early = rowsMessage(
        source,
        1,
        streamIds.flatMap((id, i) => [windowRow(id, t0, i + source), windowRow(id, t0 + 10_000, 100)]),
      );
      const final = rowsMessage(
        source,
        2,
        streamIds.map((id, i) => windowRow(id, t0 + 10_000, 2 * i + source)),
      );
      await bus.publish(
        TOPICS.analyticsAggregates,
        [early, final].map((m) => ({ key: `viewer-analytics:g:${source}`, value: Buffer.from(JSON.stringify(m)) })),
      );
    }
    const now = Date.now();
    await bus.publish(
      TOPICS.chatMessages,
      streamIds.flatMap((id, i) =>
        Array.from({ length: i + 1 }, (_, k) => ({
          key: id,
          value: Buffer.from(JSON.stringify(chatMessage(id, now, k))),
        })),
      ),
    );
    await bus.publish(
      TOPICS.chatVerdicts,
      streamIds.map((id, i) => ({ key: id, value: Buffer.from(JSON.stringify(verdict(id, 'remove', i))) })),
    );

    const sourcesSum = (base: (i: number) => number, i: number) =>
      Array.from({ length: PARTITIONS }, (_, s) => base(i) + s).reduce((a, b) => a + b, 0);
    await waitFor(
      'every stream folded',
      async () => {
        const views = await reader.views(streamIds, Date.now());
        return views.every(
          (view, i) =>
            view?.viewers.series.length === 2 &&
            view.viewers.current === sourcesSum((n) => 2 * n, i) &&
            view.chat.total === i + 1 &&
            view.moderation.actions.remove === 1,
        );
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const views = await reader.views(streamIds, Date.now());
    views.forEach((view, i) => {
      expect(view!.viewers.series).toEqual([
        { window_start: t0, concurrent: sourcesSum((n) => n, i) },
        { window_start: t0 + 10_000, concurrent: sourcesSum((n) => 2 * n, i) },
      ]);
      expect(view!.creator_id).toBe(i % 2 === 0 ? `owner-of-stream-${i}` : null);
      expect(view!.chat.last_10s).toBe(i + 1);
    });
    expect((await reader.activeStreams(Date.now())).sort()).toEqual([...streamIds].sort());
  });
});
