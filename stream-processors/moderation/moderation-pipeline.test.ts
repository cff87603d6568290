import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatGatewayService } from '../../chat-gateway/service.ts';
import { ChatClient, startChatGateway, type ChatGatewayUnderTest } from '../../chat-gateway/testing/chat-test-kit.ts';
import { analyticsRows, joinedViewer } from './pipeline-test-kit.ts';
import { OpenAiTestServer } from '../../test/fixtures/openai-test-server.ts';
import { waitFor } from '../../test/wait-for.ts';
import { moderationService } from './service.ts';

/**
 * The whole loop in one embedded platform: viewers on the gateway, `chat.messages` to the AI stage
 * (the real OpenAI SDK against a local server), verdicts back on `chat.verdicts` to the gateway,
 * and everything into ClickHouse (chDB).
 */
let ai: OpenAiTestServer;
let gateway: ChatGatewayUnderTest;
const clients: ChatClient[] = [];

beforeAll(async () => {
  ai = await OpenAiTestServer.start({ apiKey: 'sk-local', flagWords: ['idiot', 'stupid', 'wipe them', 'greedy'] });
  gateway = await startChatGateway(
    {
      OPENAI_API_KEY: 'sk-local',
      OPENAI_BASE_URL: ai.url,
      MODERATION_AI_TIMEOUT_MS: '500',
      MODERATION_AI_MAX_RETRIES: '0',
      MODERATION_AI_BREAKER_FAILURES: '50',
      CHAT_HOLD_TIMEOUT_MS: '2000',
    },
    { services: [chatGatewayService, moderationService] },
  );
});
afterAll(async () => {
  for (const c of clients) c.close();
  await gateway.stop();
  await ai.close();
});

const viewer = (sub: string, stream: string, role: 'viewer' | 'moderator' = 'viewer') =>
  joinedViewer(gateway, clients, sub, stream, role);
const rows = <T>(query: string) => analyticsRows<T>(gateway, query);

describe('AI moderation loop', () => {
  it('removes a delivered message the AI flags from every client, and audits it', async () => {
    const sender = await viewer('sender', 'ai-1');
    const watcher = await viewer('watcher', 'ai-1');
    const ack = await sender.send('what an idiot move lol');
    expect(ack.status).toBe('delivered');
    await watcher.waitForEvent('message', (m: { id: string }) => m.id === ack.id);
    expect(await watcher.waitForEvent('message:removed', (e: { id: string }) => e.id === ack.id)).toEqual({
      id: ack.id,
      reason: 'AI: harassment',
    });
    const audit = await waitFor(
      'audit row',
      async () =>
        (
          await rows<{ action: string; source: string; actor_id: string }>(
            `SELECT action, source, actor_id FROM chat_moderation_events WHERE message_id = '${ack.id}'`,
          )
        )[0],
    );
    expect(audit).toEqual({ action: 'remove', source: 'ai', actor_id: 'omni-moderation-latest' });
    const logged = await waitFor(
      'message row',
      async () =>
        (
          await rows<{ heuristic_decision: string }>(
            `SELECT heuristic_decision FROM chat_messages WHERE message_id = '${ack.id}'`,
          )
        )[0],
    );
    expect(logged.heuristic_decision).toBe('allow');
  });

  it('holds implicit hate with no listed word inline, so no other viewer ever has it, and the AI denies it', async () => {
    const sender = await viewer('implicit-sender', 'ai-4');
    const watcher = await viewer('implicit-watcher', 'ai-4');
    const mod = await viewer('implicit-mod', 'ai-4', 'moderator');
    const hateful = await sender.send('we should wipe them all out');
    expect(hateful.status).toBe('held');
    expect(
      await mod.waitForEvent('message:held', (h: { message: { id: string } }) => h.message.id === hateful.id),
    ).toMatchObject({ reasons: ['aggression.targeted_threat'] });
    expect(await sender.waitForEvent('message:status', (s: { id: string }) => s.id === hateful.id)).toMatchObject({
      status: 'denied',
    });
    expect(await mod.waitForEvent('message:held:resolved', (r: { id: string }) => r.id === hateful.id)).toMatchObject({
      by: 'ai',
    });
    // Room messages arrive in order: once a later message has reached the watcher, the held one never will.
    const later = await sender.send('anyway, great stream');
    await watcher.waitForEvent('message', (m: { id: string }) => m.id === later.id);
    expect(watcher.events<{ id: string }>('message').map((m) => m.id)).not.toContain(hateful.id);
  });

  it('holds a stereotype the classifier alone catches, and delivers counter-speech that quotes a threat', async () => {
    const sender = await viewer('counter-sender', 'ai-5');
    const watcher = await viewer('counter-watcher', 'ai-5');
    const stereotype = await sender.send('jews are greedy and control the banks');
    expect(stereotype.status).toBe('held');
    const counter = await sender.send('whoever says they would hurt her should be punished');
    expect(counter.status).toBe('delivered');
    await watcher.waitForEvent('message', (m: { id: string }) => m.id === counter.id);
    expect(watcher.events<{ id: string }>('message').map((m) => m.id)).not.toContain(stereotype.id);
  });

  it('releases a held message the AI clears, before the hold times out', async () => {
    const sender = await viewer('held-sender', 'ai-2');
    const watcher = await viewer('held-watcher', 'ai-2');
    const ack = await sender.send('i will find you at the meetup');
    expect(ack.status).toBe('held');
    await watcher.waitForEvent('message', (m: { id: string }) => m.id === ack.id, 1_900);
    expect(await sender.waitForEvent('message:status', (s: { id: string }) => s.id === ack.id)).toMatchObject({
      status: 'delivered',
    });
  });

  it('with the AI down, a held message still resolves by the timeout and a delivered one stays', async () => {
    const sender = await viewer('down-sender', 'ai-3');
    const mod = await viewer('down-mod', 'ai-3', 'moderator');
    ai.setLatency('moderations', 5_000);
    try {
      const held = await sender.send('i will find you');
      const delivered = await sender.send('you idiot, nice try');
      expect([held.status, delivered.status]).toEqual(['held', 'delivered']);
      expect(await sender.waitForEvent('message:status', (s: { id: string }) => s.id === held.id, 5_000)).toMatchObject(
        { status: 'denied' },
      );
      expect(await mod.waitForEvent('message:held:resolved', (r: { id: string }) => r.id === held.id)).toMatchObject({
        by: 'timeout',
      });
      expect(mod.events<{ id: string }>('message:removed').some((e) => e.id === delivered.id)).toBe(false);
    } finally {
      ai.setLatency('moderations', 0);
    }
  });
});
