import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ChatClient, startChatGateway, testToken } from './testing/chat-test-kit.ts';

const dataDirs: string[] = [];
afterAll(async () => {
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

it('keeps bans, timeouts, modes and terms across a restart in embedded mode', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'livepulse-chat-restart-'));
  dataDirs.push(dataDir);
  const stream = 'restart-stream';
  const modToken = await testToken('mod', { [stream]: 'moderator' });

  const first = await startChatGateway({}, { dataDir });
  const mod = await ChatClient.connect(first.url, modToken);
  await mod.join(stream);
  expect(await mod.request('mod:ban', { userId: 'banned-user', reason: 'abuse' })).toMatchObject({ ok: true });
  expect(await mod.request('mod:timeout', { userId: 'quiet-user', durationSeconds: 3_600 })).toMatchObject({ ok: true });
  expect(await mod.request('mod:modes', { emote_only: true })).toMatchObject({ ok: true });
  expect(await mod.request('mod:terms:add', { kind: 'blocked', text: 'forbidden*' })).toMatchObject({ ok: true });
  mod.close();
  await first.stop();

  const second = await startChatGateway({}, { dataDir });
  try {
    const banned = await ChatClient.connect(second.url, await testToken('banned-user', { [stream]: 'viewer' }));
    const quiet = await ChatClient.connect(second.url, await testToken('quiet-user', { [stream]: 'viewer' }));
    const fresh = await ChatClient.connect(second.url, await testToken('fresh-user', { [stream]: 'viewer' }));
    for (const c of [banned, quiet, fresh]) await c.join(stream);
    expect(await banned.send('🔥')).toMatchObject({ status: 'rejected', reason: 'banned' });
    expect(await quiet.send('🔥')).toMatchObject({ status: 'rejected', reason: 'timed_out' });
    expect(await fresh.send('plain words')).toMatchObject({ status: 'rejected', reason: 'emote_only' });
    expect((await fresh.send('🔥 🔥')).status).toBe('delivered');
    const mod2 = await ChatClient.connect(second.url, modToken);
    await mod2.join(stream);
    expect((await mod2.request<{ terms: Array<{ text: string }> }>('mod:terms:list')).terms.map((t) => t.text)).toEqual(['forbidden*']);
    for (const c of [banned, quiet, fresh, mod2]) c.close();
  } finally {
    await second.stop();
  }
});
