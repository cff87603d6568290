import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatGatewayService } from '../../chat-gateway/service.ts';
import {
  ChatClient,
  startChatGateway,
  testToken,
  type ChatGatewayUnderTest,
} from '../../chat-gateway/testing/chat-test-kit.ts';
import { analyticsRows, joinedViewer } from './pipeline-test-kit.ts';
import { waitFor } from '../../test/wait-for.ts';
import { moderationService } from './service.ts';

/**
 * The encoder layer end to end, with no AI configured: viewers on the gateway, `chat.messages` to
 * the moderation service's encoder processor (the committed ONNX model on onnxruntime), its
 * verdicts back on `chat.verdicts` to the gateway, audited in ClickHouse (chDB).
 */
let gateway: ChatGatewayUnderTest;
const clients: ChatClient[] = [];
// Generous: the encoder shares a loaded machine's CPU with everything else.
const ENCODER_WAIT_MS = 60_000;

beforeAll(async () => {
  gateway = await startChatGateway(
    { CHAT_HOLD_TIMEOUT_MS: '120000' },
    { services: [chatGatewayService, moderationService] },
  );
});
afterAll(async () => {
  for (const c of clients) c.close();
  await gateway.stop();
});

const viewer = (sub: string, stream: string, role: 'viewer' | 'moderator' = 'viewer') =>
  joinedViewer(gateway, clients, sub, stream, role);
const rows = <T>(query: string) => analyticsRows<T>(gateway, query);

describe('encoder moderation loop', () => {
  it('removes implicit hate with no listed word that the inline layers let through, so no viewer keeps it, and delivers the counter-speech that quotes it', async () => {
    const sender = await viewer('enc-sender', 'enc-1');
    const watcher = await viewer('enc-watcher', 'enc-1');
    // Sent first: its verdict (none) comes before the hateful message's.
    const counter = await sender.send('saying black people are criminals is racist');
    const hateful = await sender.send('black people are criminals');
    expect([counter.status, hateful.status]).toEqual(['delivered', 'delivered']);
    const removal = await watcher.waitForEvent(
      'message:removed',
      (e: { id: string }) => e.id === hateful.id,
      ENCODER_WAIT_MS,
    );
    expect(removal).toEqual({
      id: hateful.id,
      reason: expect.stringMatching(/^classifier: hateful \(p=[01]\.\d\d\)$/) as unknown,
    });
    expect(watcher.events<{ id: string }>('message').map((m) => m.id)).toContain(counter.id);
    expect(watcher.events<{ id: string }>('message:removed').map((e) => e.id)).not.toContain(counter.id);
    // A viewer who joins afterwards gets the counter-speech in the history, not the removed message.
    const late = await ChatClient.connect(gateway.url, await testToken('enc-late', { 'enc-1': 'viewer' }));
    clients.push(late);
    const history = (await late.join('enc-1')).history!.map((m) => m.id);
    expect(history).toContain(counter.id);
    expect(history).not.toContain(hateful.id);
    const audit = await waitFor(
      'audit row',
      async () =>
        (
          await rows<{ action: string; source: string; actor_id: string }>(
            `SELECT action, source, actor_id FROM chat_moderation_events WHERE message_id = '${hateful.id}'`,
          )
        )[0],
    );
    expect(audit).toEqual({ action: 'remove', source: 'ai', actor_id: 'all-MiniLM-L6-v2+head' });
  });

  it('releases a message the n-gram model alone held when the encoder clears it, long before the hold times out', async () => {
    const sender = await viewer('enc-held-sender', 'enc-2');
    const watcher = await viewer('enc-held-watcher', 'enc-2');
    const mod = await viewer('enc-held-mod', 'enc-2', 'moderator');
    const ack = await sender.send('like a pro man, like a pro!');
    expect(ack.status).toBe('held');
    expect(
      await mod.waitForEvent('message:held', (h: { message: { id: string } }) => h.message.id === ack.id),
    ).toMatchObject({ reasons: ['identity.classifier'] });
    await watcher.waitForEvent('message', (m: { id: string }) => m.id === ack.id, ENCODER_WAIT_MS);
    expect(await sender.waitForEvent('message:status', (s: { id: string }) => s.id === ack.id)).toMatchObject({
      status: 'delivered',
    });
    expect(await mod.waitForEvent('message:held:resolved', (r: { id: string }) => r.id === ack.id)).toMatchObject({
      by: 'ai',
    });
  });

  it('leaves what the rules held to a moderator: a threat the encoder does not flag stays held', async () => {
    const sender = await viewer('enc-rule-sender', 'enc-3');
    const mod = await viewer('enc-rule-mod', 'enc-3', 'moderator');
    const threat = await sender.send('i will find you at the meetup');
    expect(threat.status).toBe('held');
    // A message the encoder removes, sent after: once its removal is in, the threat's verdict (none) was decided.
    const later = await sender.send('black people are criminals');
    await mod.waitForEvent('message:removed', (e: { id: string }) => e.id === later.id, ENCODER_WAIT_MS);
    expect(mod.events<{ id: string }>('message:held:resolved').map((r) => r.id)).not.toContain(threat.id);
  });
});
