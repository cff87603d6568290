import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MessageBatch } from '../core/bus/bus.ts';
import { chatMessageValidator, type ChatMessage, type ChatVerdict } from '../core/schemas/chat.ts';
import { TOPICS } from '../core/topics.ts';
import { waitFor } from '../test/wait-for.ts';
import { ChatClient, startChatGateway, testToken, type ChatGatewayUnderTest } from './testing/chat-test-kit.ts';
import { publishVerdict } from '../core/moderation/verdict-records.ts';

let gateway: ChatGatewayUnderTest;
const clients: ChatClient[] = [];
const published: ChatMessage[] = [];
const verdicts: ChatVerdict[] = [];

async function client(sub: string | null, roles: Record<string, 'viewer' | 'moderator' | 'host' | 'admin'> = {}) {
  const c = await ChatClient.connect(gateway.url, sub === null ? undefined : await testToken(sub, roles));
  clients.push(c);
  return c;
}

/** A fresh stream, with a viewer, a second viewer and a moderator joined. */
async function room() {
  const streamId = `s-${randomUUID().slice(0, 8)}`;
  const alice = await client(`alice-${streamId}`, { [streamId]: 'viewer' });
  const bob = await client(`bob-${streamId}`, { [streamId]: 'viewer' });
  const mod = await client(`mod-${streamId}`, { [streamId]: 'moderator' });
  for (const c of [alice, bob, mod]) expect((await c.join(streamId)).ok).toBe(true);
  return { streamId, alice, bob, mod };
}

beforeAll(async () => {
  gateway = await startChatGateway({ CHAT_HOLD_TIMEOUT_MS: '1500', CHAT_HISTORY_SIZE: '5' });
  const { bus } = gateway.platform.context;
  const collect = (into: unknown[]) => (batch: MessageBatch) => {
    for (const m of batch.messages) into.push(JSON.parse(m.value.toString()));
    return Promise.resolve();
  };
  await bus.subscribe({ groupId: 'test-messages', topics: [TOPICS.chatMessages], handleBatch: collect(published) });
  await bus.subscribe({ groupId: 'test-verdicts', topics: [TOPICS.chatVerdicts], handleBatch: collect(verdicts) });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await gateway.stop();
});

describe('chat gateway: joining and messaging', () => {
  it('delivers a message to everyone in the room, acks it and publishes it to chat.messages', async () => {
    const { streamId, alice, bob, mod } = await room();
    const ack = await alice.send('hello everyone, great stream', 'c-1');
    expect(ack).toMatchObject({ status: 'delivered', id: expect.any(String) as unknown });
    for (const c of [alice, bob, mod]) {
      expect(await c.waitForEvent('message', (m: { id: string }) => m.id === ack.id)).toMatchObject({
        streamId,
        userId: `alice-${streamId}`,
        text: 'hello everyone, great stream',
      });
    }
    const record = await waitFor('published record', () => published.find((m) => m.message_id === ack.id));
    expect(chatMessageValidator.check(record)).toBe(true);
    expect(record).toMatchObject({ stream_id: streamId, client_message_id: 'c-1', heuristic_decision: 'allow' });
  });

  it('answers join with recent history (bounded), the modes, the role and the viewer count', async () => {
    const { streamId, alice, mod } = await room();
    for (let i = 0; i < 7; i++) expect((await mod.send(`note ${i}`)).status).toBe('delivered');
    const late = await client(`late-${streamId}`, { [streamId]: 'viewer' });
    const joined = await late.join(streamId);
    expect(joined).toMatchObject({
      ok: true,
      role: 'viewer',
      canChat: true,
      modes: { slow_mode_seconds: 0, emote_only: false },
    });
    expect(joined.history?.map((m) => m.text)).toEqual(['note 2', 'note 3', 'note 4', 'note 5', 'note 6']);
    expect(joined.viewers).toBeGreaterThanOrEqual(0);
    expect(await alice.waitForEvent('viewers', (v: { count: number }) => v.count === 4, 5_000)).toEqual({
      streamId,
      count: 4,
    });
  });

  it('lets anonymous viewers read but not write, and keeps them out of streams that do not admit them', async () => {
    const { streamId, alice, mod } = await room();
    const reader = await client(null);
    expect(await reader.join(streamId)).toMatchObject({ ok: true, role: 'anonymous', canChat: false });
    expect(await reader.send('hi')).toMatchObject({ status: 'rejected', reason: 'read_only' });
    const sent = await alice.send('visible to readers');
    expect(await reader.waitForEvent('message', (m: { id: string }) => m.id === sent.id)).toBeTruthy();

    expect(await mod.request('mod:modes', { anonymous_viewers: false })).toMatchObject({ ok: true });
    const outsider = await client(null);
    expect(await outsider.join(streamId)).toMatchObject({ ok: false, reason: 'forbidden' });
    const otherStreamViewer = await client(`other-${streamId}`, { 'another-stream': 'viewer' });
    expect(await otherStreamViewer.join(streamId)).toMatchObject({ ok: false, reason: 'forbidden' });
  });

  it('refuses messages before joining, and a viewer with a role elsewhere only reads', async () => {
    const { streamId } = await room();
    const early = await client(`early-${streamId}`, { [streamId]: 'viewer' });
    expect(await early.send('too soon')).toMatchObject({ status: 'rejected', reason: 'not_joined' });
    const elsewhere = await client(`elsewhere-${streamId}`, { 'another-stream': 'moderator' });
    expect(await elsewhere.join(streamId)).toMatchObject({ ok: true, role: 'anonymous', canChat: false });
    expect(await elsewhere.send('hello')).toMatchObject({ status: 'rejected', reason: 'read_only' });
  });

  it('blocks what the heuristics block, with the rule as the detail, and publishes it as blocked', async () => {
    const { alice, bob } = await room();
    const ack = await alice.send('you f4ggot');
    expect(ack).toMatchObject({ status: 'rejected', reason: 'blocked', detail: 'identity.slur' });
    await waitFor('blocked record', () =>
      published.find((m) => m.text === 'you f4ggot' && m.heuristic_decision === 'block'),
    );
    await sleep(100);
    expect(bob.events<{ text: string }>('message').some((m) => m.text === 'you f4ggot')).toBe(false);
  });

  it('enforces the per-user flood limit and near-duplicate rule', async () => {
    const { alice } = await room();
    expect((await alice.send('same thing again')).status).toBe('delivered');
    expect(await alice.send('same thing again!')).toMatchObject({ status: 'rejected', reason: 'duplicate' });
    expect(await alice.send('')).toMatchObject({ status: 'rejected', reason: 'empty' });
    expect(await alice.send('x'.repeat(501))).toMatchObject({ status: 'rejected', reason: 'too_long' });
  });
});

describe('chat gateway: held messages', () => {
  it('holds a message with a link, shows it to moderators only, and releases it on approval', async () => {
    const { streamId, alice, bob, mod } = await room();
    const ack = await alice.send('my clips are at clips.example.com', 'held-1');
    expect(ack).toMatchObject({ status: 'held', reason: 'held_for_review', expiresAt: expect.any(Number) as unknown });
    const held = await mod.waitForEvent<{ message: { id: string }; reasons: string[] }>(
      'message:held',
      (h) => h.message.id === ack.id,
    );
    expect(held.reasons).toEqual(['spam.links']);
    expect(bob.events('message:held')).toEqual([]);
    expect((await mod.request<{ ok: boolean; held: unknown[] }>('mod:held:list')).held).toHaveLength(1);

    expect(await mod.request('mod:approve', { messageId: ack.id })).toEqual({ ok: true, id: ack.id });
    expect(await bob.waitForEvent('message', (m: { id: string }) => m.id === ack.id)).toMatchObject({
      text: 'my clips are at clips.example.com',
    });
    expect(await alice.waitForEvent('message:status', (s: { id: string }) => s.id === ack.id)).toEqual({
      id: ack.id,
      clientMessageId: 'held-1',
      status: 'delivered',
    });
    expect(await mod.waitForEvent('message:held:resolved', (r: { id: string }) => r.id === ack.id)).toEqual({
      id: ack.id,
      action: 'release',
      by: 'moderator',
    });
    expect(await mod.request('mod:approve', { messageId: ack.id })).toMatchObject({ ok: false, reason: 'not_found' });
    await waitFor('audited approval', () =>
      verdicts.find((v) => v.message_id === ack.id && v.action === 'release' && v.actor_id === `mod-${streamId}`),
    );
  });

  it('tells the sender when a moderator denies it, and never shows it to the room', async () => {
    const { alice, bob, mod } = await room();
    const ack = await alice.send('i will find you');
    expect(ack.status).toBe('held');
    expect(await mod.request('mod:deny', { messageId: ack.id, reason: 'threat' })).toEqual({ ok: true, id: ack.id });
    expect(await alice.waitForEvent('message:status', (s: { id: string }) => s.id === ack.id)).toMatchObject({
      status: 'denied',
      reason: 'threat',
    });
    expect(bob.events<{ id: string }>('message').some((m) => m.id === ack.id)).toBe(false);
  });

  it('never leaves a message waiting: the hold timeout denies it (the default policy)', async () => {
    const { streamId, alice, mod } = await room();
    const ack = await alice.send('visit freecoins.xyz');
    expect(ack.status).toBe('held');
    expect(await alice.waitForEvent('message:status', (s: { id: string }) => s.id === ack.id, 5_000)).toMatchObject({
      status: 'denied',
    });
    expect(await mod.waitForEvent('message:held:resolved', (r: { id: string }) => r.id === ack.id)).toEqual({
      id: ack.id,
      action: 'deny',
      by: 'timeout',
    });
    expect((await mod.request<{ held: unknown[] }>('mod:held:list')).held).toEqual([]);
    await waitFor('audited timeout', () =>
      verdicts.find(
        (v) => v.message_id === ack.id && v.source === 'heuristics' && v.action === 'deny' && v.stream_id === streamId,
      ),
    );
  });

  it('applies AI verdicts from chat.verdicts: removes a delivered message and releases a held one', async () => {
    const { streamId, alice, bob } = await room();
    const delivered = await alice.send('a perfectly normal looking message');
    const held = await alice.send('kys');
    expect(held.status).toBe('held');
    const { bus } = gateway.platform.context;
    await publishVerdict(bus, {
      streamId,
      source: 'ai',
      action: 'remove',
      messageId: delivered.id!,
      reason: 'harassment',
      actorId: 'omni-moderation-latest',
    });
    await publishVerdict(bus, {
      streamId,
      source: 'ai',
      action: 'release',
      messageId: held.id!,
      reason: 'no harmful content',
      actorId: 'omni-moderation-latest',
    });
    expect(await bob.waitForEvent('message:removed', (e: { id: string }) => e.id === delivered.id)).toEqual({
      id: delivered.id,
      reason: 'harassment',
    });
    expect(await bob.waitForEvent('message', (m: { id: string }) => m.id === held.id)).toMatchObject({ text: 'kys' });
    const rejoined = await client(`rejoin-${streamId}`, { [streamId]: 'viewer' });
    const history = (await rejoined.join(streamId)).history!.map((m) => m.id);
    expect(history).not.toContain(delivered.id);
    expect(history).toContain(held.id);
  });
});
