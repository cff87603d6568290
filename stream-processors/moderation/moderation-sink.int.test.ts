import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsStore, type AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import { applyMigrations } from '../../core/analytics-store/migrations.ts';
import type { MessageBatch } from '../../core/bus/bus.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { verdictRecord } from '../../core/moderation/verdict-records.ts';
import type { ChatMessage } from '../../core/schemas/chat.ts';
import { TOPICS } from '../../core/topics.ts';
import { testServices } from '../../test/services.ts';
import { createModerationSink } from './moderation-sink.ts';

let store: AnalyticsStore;
let bus: EmbeddedBus;
const database = `moderation_sink_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

beforeAll(async () => {
  store = await createAnalyticsStore({
    kind: 'clickhouse',
    url: testServices().clickhouseUrl,
    username: 'default',
    password: '',
    database,
  });
  await applyMigrations(store);
  bus = new EmbeddedBus({
    defaultPartitions: 1,
    maxRetainedMessages: 1_000,
    publish: { lingerMs: 0, maxBatchMessages: 100, maxBufferedMessages: 1_000 },
  });
});
afterAll(async () => {
  await store.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await store.close();
  await bus.close();
});

function batchOf(topic: string, values: unknown[], firstOffset = 0): MessageBatch {
  const messages = values.map((value, i) => ({
    topic,
    partition: 0,
    offset: String(firstOffset + i),
    key: 's1',
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: {},
    timestamp: Date.now(),
  }));
  return {
    topic,
    partition: 0,
    messages,
    firstOffset: String(firstOffset),
    lastOffset: String(firstOffset + values.length - 1),
  };
}

const count = async (table: string) =>
  Number(
    (
      await (
        await store.client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
      ).json<{ n: string }>()
    )[0]!.n,
  );

describe('moderation sink into ClickHouse', () => {
  it('writes messages and the audit log once, however often a batch is redelivered', async () => {
    const sink = createModerationSink(bus, store);
    const message: ChatMessage = {
      schema_v: 1,
      message_id: randomUUID(),
      stream_id: 's1',
      user_id: 'u1',
      display_name: 'User One',
      text: 'check out my channel',
      sent_at: Date.now() - 1_234,
      heuristic_decision: 'hold',
      flags: [{ category: 'spam.promotion', score: 0.5 }],
    };
    const ban = verdictRecord({
      streamId: 's1',
      source: 'moderator',
      action: 'ban',
      actorId: 'mod-1',
      targetUserId: 'u1',
      reason: 'spam',
      flags: [{ category: 'role.moderator' }],
    });
    const messages = batchOf(TOPICS.chatMessages, [message]);
    const verdicts = batchOf(TOPICS.chatVerdicts, [ban]);
    for (let delivery = 0; delivery < 3; delivery++) {
      await sink(messages);
      await sink(verdicts);
    }
    expect(await count('chat_messages')).toBe(1);
    expect(await count('chat_moderation_events')).toBe(1);

    const [row] = await (
      await store.client.query({
        query:
          'SELECT stream_id, actor_id, action, source, target_user_id, reason, flag_categories, toString(toUnixTimestamp64Milli(decided_at)) AS at FROM chat_moderation_events',
        format: 'JSONEachRow',
      })
    ).json<Record<string, unknown>>();
    expect(row).toEqual({
      stream_id: 's1',
      actor_id: 'mod-1',
      action: 'ban',
      source: 'moderator',
      target_user_id: 'u1',
      reason: 'spam',
      flag_categories: ['role.moderator'],
      at: String(ban.decided_at),
    });
    const [logged] = await (
      await store.client.query({
        query:
          'SELECT heuristic_decision, flag_categories, toString(toUnixTimestamp64Milli(sent_at)) AS at FROM chat_messages',
        format: 'JSONEachRow',
      })
    ).json<Record<string, unknown>>();
    expect(logged).toEqual({
      heuristic_decision: 'hold',
      flag_categories: ['spam.promotion'],
      at: String(message.sent_at),
    });
  });

  it('sends invalid records to dead-letters and writes the valid ones', async () => {
    const sink = createModerationSink(bus, store);
    const letters: string[] = [];
    const subscription = await bus.subscribe({
      groupId: 'dead',
      topics: [TOPICS.deadLetters],
      handleBatch: (b) => {
        letters.push(...b.messages.map((m) => m.headers['x-reason']!));
        return Promise.resolve();
      },
    });
    const valid = verdictRecord({
      streamId: 's2',
      source: 'ai',
      action: 'remove',
      messageId: 'm-1',
      reason: 'AI: hate',
    });
    await sink(batchOf(TOPICS.chatVerdicts, ['{"broken', { schema_v: 1, verdict_id: 'x' }, valid], 100));
    await expect.poll(() => letters.length).toBe(2);
    expect(letters).toEqual(['not a valid chat.verdicts record', 'not a valid chat.verdicts record']);
    expect(await count("chat_moderation_events WHERE stream_id = 's2'")).toBe(1);
    await subscription.stop();
  });
});
