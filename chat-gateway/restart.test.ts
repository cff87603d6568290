import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ChatClient, startChatGateway, testToken } from './testing/chat-test-kit.ts';

const dataDirs: string[] = [];
afterAll(async () => {
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function freshDataDir(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'livepulse-chat-restart-'));
  dataDirs.push(dataDir);
  return dataDir;
}

/** Runs a gateway on `dataDir`, makes each moderator request on `stream` as the token's holder (each must succeed), and stops it. */
async function moderateThenStop(
  dataDir: string,
  stream: string,
  token: string,
  requests: Array<[event: string, payload: object, answer?: object]>,
): Promise<void> {
  const gateway = await startChatGateway({}, { dataDir });
  const client = await ChatClient.connect(gateway.url, token);
  await client.join(stream);
  for (const [event, payload, answer] of requests)
    expect(await client.request(event, payload)).toMatchObject({ ok: true, ...answer });
  client.close();
  await gateway.stop();
}

it('keeps bans, timeouts, modes and terms across a restart in embedded mode', async () => {
  const dataDir = await freshDataDir();
  const stream = 'restart-stream';
  const modToken = await testToken('mod', { [stream]: 'moderator' });

  await moderateThenStop(dataDir, stream, modToken, [
    ['mod:ban', { userId: 'banned-user', reason: 'abuse' }],
    ['mod:timeout', { userId: 'quiet-user', durationSeconds: 3_600 }],
    ['mod:modes', { emote_only: true }],
    ['mod:terms:add', { kind: 'blocked', text: 'forbidden*' }],
  ]);

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
    expect((await mod2.request<{ terms: Array<{ text: string }> }>('mod:terms:list')).terms.map((t) => t.text)).toEqual(
      ['forbidden*'],
    );
    for (const c of [banned, quiet, fresh, mod2]) c.close();
  } finally {
    await second.stop();
  }
});

it("keeps a stream's staff across a restart in embedded mode: a grant and a revocation", async () => {
  const dataDir = await freshDataDir();
  const stream = 'restart-staff-stream';
  await moderateThenStop(dataDir, stream, await testToken('host', { [stream]: 'host' }), [
    ['mod:staff:add', { userId: 'helper' }],
    ['mod:staff:add', { userId: 'former' }],
    ['mod:staff:remove', { userId: 'former' }, { revoked: true }],
  ]);

  const second = await startChatGateway({}, { dataDir });
  try {
    const helper = await ChatClient.connect(second.url, await testToken('helper', { [stream]: 'viewer' }));
    const former = await ChatClient.connect(second.url, await testToken('former', { [stream]: 'viewer' }));
    const mod = await ChatClient.connect(second.url, await testToken('token-mod', { [stream]: 'moderator' }));
    expect((await helper.join(stream)).role).toBe('moderator');
    expect((await former.join(stream)).role).toBe('viewer');
    await mod.join(stream);
    expect(await mod.request('mod:ban', { userId: 'helper' })).toEqual({
      ok: false,
      reason: 'forbidden',
      detail: 'a moderator cannot sanction a moderator',
    });
    expect(await mod.request('mod:staff:list')).toEqual({ ok: true, moderators: ['helper'] });
    for (const c of [helper, former, mod]) c.close();
  } finally {
    await second.stop();
  }
});
