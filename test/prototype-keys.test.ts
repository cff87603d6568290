import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipKeys } from '../core/clips/clip-records.ts';
import { roomOf } from '../chat-gateway/chat-fanout.ts';
import { MemoryChatStore } from '../core/chat/chat-store/memory-chat-store.ts';
import { createChatTokenVerifier, roleOn } from '../core/chat/chat-token.ts';
import { chatGatewayService } from '../chat-gateway/service.ts';
import {
  ChatClient,
  startChatGateway,
  testToken,
  TEST_JWT_SECRET,
  type ChatGatewayUnderTest,
} from '../chat-gateway/testing/chat-test-kit.ts';
import { mintTokenFromOptions } from '../chat-gateway/token-command.ts';
import { ViewerCounts } from '../chat-gateway/viewer-counts.ts';
import { loadConfig } from '../core/config.ts';
import { mintApiToken } from '../core/http/api-auth.ts';
import { liveBoardService } from '../dashboards/live-board/service.ts';
import { WriteKeyDirectory } from '../ingest-api/http/write-keys.ts';
import { IVS_SECRET_HEADER } from '../ingest-api/ivs/ivs-route.ts';
import { ivsRecordingEvent, ivsStreamEvent } from '../ingest-api/ivs/ivs-fixtures.ts';
import { mapIvsEvent } from '../ingest-api/ivs/map-ivs-event.ts';
import { ingestApiService } from '../ingest-api/service.ts';

/**
 * Every lookup keyed by what a client sends (stream ids, user ids, term ids, event names, file
 * names, property ids) run with the names of Object.prototype's members: each must mean only
 * "an id nobody has used yet", never reach the prototype.
 */
const MEMBER_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty'] as const;

let gateway: ChatGatewayUnderTest;
const clients: ChatClient[] = [];

beforeAll(async () => {
  gateway = await startChatGateway({}, { services: [chatGatewayService, liveBoardService, ingestApiService] });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await gateway.stop();
});

async function connect(
  sub: string,
  roles: Record<string, 'viewer' | 'moderator' | 'host' | 'admin'>,
): Promise<ChatClient> {
  const client = await ChatClient.connect(gateway.url, await testToken(sub, roles));
  clients.push(client);
  return client;
}

describe.each(MEMBER_NAMES)('ids named %s', (name) => {
  it('give no role on a stream of that name, and keep a role given for it', async () => {
    const verifier = createChatTokenVerifier({ jwtSecret: TEST_JWT_SECRET });
    const elsewhere = await verifier.verify(await testToken('u1', { s1: 'viewer' }));
    expect(roleOn(elsewhere, name)).toBeNull();
    const there = await verifier.verify(await testToken('u1', { [name]: 'moderator' }));
    expect([roleOn(there, name), roleOn(there, 's1')]).toEqual(['moderator', null]);
    const minted = await mintTokenFromOptions(
      { sub: 'u1', role: [`${name}=host`], ttl: '3600' },
      { jwtSecret: TEST_JWT_SECRET },
    );
    expect(roleOn(await verifier.verify(minted), name)).toBe('host');
  });

  it('leave a signed-in user without a role read-only on a stream of that name', async () => {
    const stranger = await connect(`stranger-${name}`, { s1: 'viewer' });
    expect(await stranger.join(name)).toMatchObject({
      ok: true,
      role: 'anonymous',
      canChat: false,
      viewers: expect.any(Number) as unknown,
    });
    expect(await stranger.send('hello')).toMatchObject({ status: 'rejected', reason: 'read_only' });
  });

  it('keep a ban on a stream of that name, and a ban of a user of that name', async () => {
    const admin = await connect(`admin-${name}`, { '*': 'admin' });
    const viewer = await connect(`viewer-${name}`, { '*': 'viewer' });
    const namesake = await connect(name, { '*': 'viewer' });
    expect((await admin.join(name)).ok).toBe(true);
    expect((await viewer.join(name)).ok).toBe(true);
    expect(await admin.request('mod:ban', { userId: `viewer-${name}` })).toMatchObject({ ok: true });
    expect(await viewer.send('still here?')).toMatchObject({ status: 'rejected', reason: 'banned' });

    expect((await namesake.join('s-plain')).ok).toBe(true);
    expect((await admin.join('s-plain')).ok).toBe(true);
    expect(await admin.request('mod:ban', { userId: name })).toMatchObject({ ok: true });
    expect(await namesake.send('still here?')).toMatchObject({ status: 'rejected', reason: 'banned' });
    expect(await admin.request('mod:bans:list')).toMatchObject({
      sanctions: [expect.objectContaining({ user_id: name })],
    });
    expect(await admin.request('mod:unban', { userId: name })).toEqual({ ok: true, lifted: true });
    expect((await namesake.send('back')).status).toBe('delivered');
  });

  it('are unknown socket events, answered as such', async () => {
    const client = await connect(`asker-${name}`, { s1: 'viewer' });
    expect(await client.request(name, {})).toMatchObject({ ok: false, reason: 'unknown_event' });
  });

  it('keep sanctions and terms in the embedded chat store across a restart', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'livepulse-prototype-keys-'));
    try {
      const path = join(directory, 'state.json');
      const now = Date.now();
      const first = await MemoryChatStore.open(path);
      expect(await first.getSanction(name, name, now)).toBeNull();
      expect(await first.deleteTerm(name, name)).toBeNull();
      await first.putSanction(name, { kind: 'ban', user_id: name, until: null, reason: 'r', by: 'mod', at: now });
      await first.putTerm(
        name,
        { id: name, kind: 'blocked', text: 'spoiler', action: 'block', created_by: 'mod', created_at: now },
        10,
      );
      expect(await first.getSanction(name, 'someone-else', now)).toBeNull();
      await first.close();
      const second = await MemoryChatStore.open(path);
      expect(await second.getSanction(name, name, now)).toMatchObject({ user_id: name });
      expect(await second.listSanctions(name, now)).toHaveLength(1);
      expect((await second.listTerms(name)).map((t) => t.id)).toEqual([name]);
      expect(await second.deleteSanction(name, name)).toBe(true);
      expect(await second.getSanction(name, name, now)).toBeNull();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('count no viewers on a stream of that name until someone joins it', async () => {
    // A server attached to nothing: rooms and counts without a port.
    const nsp = new Server().of('/chat');
    const counts = new ViewerCounts(nsp, { clustered: false });
    expect(counts.count(name)).toBe(0);
    await nsp.adapter.addAll('socket-1', new Set([roomOf(name)]));
    expect(counts.count(name)).toBe(1);
  });

  it('are no live board asset and no clip file', async () => {
    expect((await fetch(`${gateway.url}/live/assets/${name}`)).status).toBe(404);

    const clipId = `clip_${'a'.repeat(32)}`;
    const at = Date.parse('2027-03-01T18:00:00Z');
    const output = { key: `clips/${clipId}/clip.mp4`, content_type: 'video/mp4', bytes: 3 };
    const manifest = {
      schema_v: 1,
      clip_id: clipId,
      highlight_id: 'h1',
      stream_id: 's1',
      profile_version: 'v1',
      requested: { start: at, end: at + 10_000 },
      covered: { start: at, end: at + 10_000 },
      recording: { prefix: 'p', rendition: '720p', byte_range_playlist: false },
      cut: { mode: 'copy', early_start_ms: 0 },
      outputs: { mp4: output },
      complete: true,
      created_at: at,
      updated_at: at,
    };
    await gateway.platform.context.objectStore.put(clipKeys.manifest(clipId), Buffer.from(JSON.stringify(manifest)));
    const token = await mintApiToken({ secret: TEST_JWT_SECRET, sub: 'admin-1', role: 'admin', ttlSeconds: 600 });
    const response = await fetch(`${gateway.url}/v1/clips/${clipId}/files/${name}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    // Names outside the output-name pattern (capital letters) are refused before any lookup.
    expect(response.status).toBe(/^[a-z0-9_]+$/.test(name) ? 404 : 400);
  });

  it('are IVS events and recording states that are not tracked', async () => {
    expect(mapIvsEvent(ivsStreamEvent(name))).toMatchObject({ kind: 'ignored' });
    expect(mapIvsEvent(ivsRecordingEvent(name))).toMatchObject({ kind: 'ignored' });
    const response = await fetch(`${gateway.url}/v1/ivs/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IVS_SECRET_HEADER]: gateway.config.auth.ivsWebhookSecret },
      body: JSON.stringify([ivsStreamEvent(name, { id: `e-${name}` })]),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({
      accepted: 0,
      ignored: [expect.objectContaining({ id: `e-${name}` })],
    });
  });

  it('are properties like any other, with their own origins or none', () => {
    const config = loadConfig({
      LIVEPULSE_WRITE_KEYS: `${name}:wk_0123456789abcdef,other:wk_fedcba9876543210`,
      LIVEPULSE_WRITE_KEY_ORIGINS: `other=https://other.example`,
    });
    const directory = new WriteKeyDirectory(config.auth.writeKeys, config.auth.writeKeyOrigins);
    expect(directory.resolve('wk_0123456789abcdef')).toEqual({ propertyId: name, allowedOrigins: ['*'] });

    const restricted = loadConfig({
      LIVEPULSE_WRITE_KEYS: `${name}:wk_0123456789abcdef`,
      LIVEPULSE_WRITE_KEY_ORIGINS: `${name}=https://shop.example`,
    });
    expect(Object.keys(restricted.auth.writeKeyOrigins)).toEqual([name]);
    expect(
      new WriteKeyDirectory(restricted.auth.writeKeys, restricted.auth.writeKeyOrigins).resolve('wk_0123456789abcdef')
        ?.allowedOrigins,
    ).toEqual(['https://shop.example']);
  });
});
