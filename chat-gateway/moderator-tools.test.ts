import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatVerdict } from '../core/schemas/chat.ts';
import { TOPICS } from '../core/topics.ts';
import { waitFor } from '../test/wait-for.ts';
import type { ChatRole } from '../core/chat/chat-token.ts';
import { ChatClient, startChatGateway, testToken, type ChatGatewayUnderTest } from './testing/chat-test-kit.ts';

let gateway: ChatGatewayUnderTest;
const clients: ChatClient[] = [];
const verdicts: ChatVerdict[] = [];

async function joined(sub: string, streamId: string, role: ChatRole, extra: Parameters<typeof testToken>[2] = {}) {
  const c = await ChatClient.connect(gateway.url, await testToken(sub, { [streamId]: role }, extra));
  clients.push(c);
  expect((await c.join(streamId)).ok).toBe(true);
  return c;
}

const newStream = () => `s-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  gateway = await startChatGateway();
  await gateway.platform.context.bus.subscribe({
    groupId: 'test-audit',
    topics: [TOPICS.chatVerdicts],
    handleBatch: (batch) => {
      for (const m of batch.messages) verdicts.push(JSON.parse(m.value.toString()) as ChatVerdict);
      return Promise.resolve();
    },
  });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await gateway.stop();
});

describe('moderator tools over socket.io', () => {
  it('deletes a message from every client and from history, audited', async () => {
    const stream = newStream();
    const viewer = await joined('v1', stream, 'viewer');
    const mod = await joined('m1', stream, 'moderator');
    const sent = await viewer.send('delete me please');
    expect(await mod.request('mod:delete', { messageId: sent.id, reason: 'off-topic' })).toEqual({
      ok: true,
      removed: true,
    });
    expect(await viewer.waitForEvent('message:removed', (e: { id: string }) => e.id === sent.id)).toEqual({
      id: sent.id,
      reason: 'off-topic',
    });
    const late = await joined('v2', stream, 'viewer');
    expect(late.events('message')).toEqual([]);
    expect((await late.join(stream)).history).toEqual([]);
    expect(await waitFor('audit', () => verdicts.find((v) => v.message_id === sent.id))).toMatchObject({
      source: 'moderator',
      action: 'remove',
      actor_id: 'm1',
      reason: 'off-topic',
      stream_id: stream,
      flags: [{ category: 'role.moderator' }],
    });
  });

  it('times a user out (their messages leave the chat and they cannot post until it ends) and lifts it', async () => {
    const stream = newStream();
    const troll = await joined('troll', stream, 'viewer');
    const mod = await joined('mod', stream, 'moderator');
    await troll.send('first message');
    const result = await mod.request<{ ok: boolean; sanction: { kind: string; until: number } }>('mod:timeout', {
      userId: 'troll',
      durationSeconds: 600,
      reason: 'spam',
    });
    expect(result).toMatchObject({
      ok: true,
      sanction: { kind: 'timeout', user_id: 'troll', reason: 'spam', by: 'mod' },
    });
    expect(await troll.waitForEvent('user:timeout')).toMatchObject({
      userId: 'troll',
      kind: 'timeout',
      reason: 'spam',
    });
    const refused = await troll.send('let me talk');
    expect(refused).toMatchObject({ status: 'rejected', reason: 'timed_out', detail: 'spam' });
    expect(refused.retryAfterMs).toBeGreaterThan(590_000);
    expect((await mod.join(stream)).history).toEqual([]);
    expect((await mod.request<{ sanctions: unknown[] }>('mod:bans:list')).sanctions).toHaveLength(1);
    expect(await mod.request('mod:unban', { userId: 'troll' })).toEqual({ ok: true, lifted: true });
    expect((await troll.send('thanks')).status).toBe('delivered');
    await waitFor('audit', () =>
      verdicts.find((v) => v.target_user_id === 'troll' && v.action === 'timeout' && v.duration_ms === 600_000),
    );
  });

  it('bans, and tells a banned user who rejoins that they are banned', async () => {
    const stream = newStream();
    const target = await joined('target', stream, 'viewer');
    const host = await joined('host', stream, 'host');
    expect(await host.request('mod:ban', { userId: 'target', reason: 'hate' })).toMatchObject({
      ok: true,
      sanction: { kind: 'ban', until: null },
    });
    expect(await target.send('hello?')).toMatchObject({ status: 'rejected', reason: 'banned' });
    expect((await target.join(stream)).sanction).toEqual({ kind: 'ban', until: null, reason: 'hate' });
  });

  it('keeps moderators from sanctioning the host, each other or themselves; the host may sanction a moderator', async () => {
    const stream = newStream();
    const host = await joined('the-host', stream, 'host');
    const modA = await joined('mod-a', stream, 'moderator');
    await joined('mod-b', stream, 'moderator');
    expect(await modA.request('mod:ban', { userId: 'the-host' })).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(await modA.request('mod:timeout', { userId: 'mod-b', durationSeconds: 60 })).toMatchObject({
      ok: false,
      reason: 'forbidden',
    });
    expect(await modA.request('mod:ban', { userId: 'mod-a' })).toMatchObject({
      ok: false,
      reason: 'forbidden',
      detail: 'you cannot sanction yourself',
    });
    expect(await host.request('mod:timeout', { userId: 'mod-b', durationSeconds: 60 })).toMatchObject({ ok: true });
  });

  it('refuses every moderator event from a viewer, whatever the payload claims', async () => {
    const stream = newStream();
    const viewer = await joined('wannabe', stream, 'viewer');
    const other = await joined('other', stream, 'viewer');
    const sent = await other.send('innocent');
    for (const [event, payload] of [
      ['mod:delete', { messageId: sent.id }],
      ['mod:ban', { userId: 'other' }],
      ['mod:timeout', { userId: 'other', durationSeconds: 60 }],
      ['mod:modes', { slow_mode_seconds: 30 }],
      ['mod:terms:add', { kind: 'blocked', text: 'innocent' }],
      ['mod:held:list', undefined],
      ['mod:policy', { overall_level: 0 }],
    ] as const) {
      expect(await viewer.request(event, payload), event).toMatchObject({ ok: false, reason: 'forbidden' });
    }
    expect(await viewer.request('join', { streamId: stream, role: 'moderator' })).toMatchObject({
      ok: false,
      reason: 'invalid_payload',
    });
    expect(await viewer.request('mod:ban', { userId: 'other', asRole: 'admin' })).toMatchObject({
      ok: false,
      reason: 'invalid_payload',
    });
    expect(other.events('message:removed')).toEqual([]);
  });

  it('lets only the host change AutoMod levels', async () => {
    const stream = newStream();
    const mod = await joined('mod', stream, 'moderator');
    const host = await joined('host', stream, 'host');
    const viewer = await joined('viewer', stream, 'viewer');
    expect(await mod.request('mod:policy', { overall_level: 4 })).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(await host.request('mod:policy', { overall_level: 4, levels: { profanity: 4 } })).toMatchObject({
      ok: true,
      policy: { overall_level: null, levels: { profanity: 4, identity: 4 } },
    });
    expect(await viewer.send('oh shit')).toMatchObject({ status: 'held' });
  });

  it('manages blocked and permitted terms, refusing unsafe regular expressions', async () => {
    const stream = newStream();
    const mod = await joined('mod', stream, 'moderator');
    const viewer = await joined('viewer', stream, 'viewer');
    const added = await mod.request<{ ok: boolean; term: { id: string } }>('mod:terms:add', {
      kind: 'blocked',
      text: 'spoil*',
    });
    expect(added).toMatchObject({
      ok: true,
      term: { kind: 'blocked', text: 'spoil*', action: 'block', created_by: 'mod' },
    });
    expect(await viewer.send('no sp0ilers: he dies')).toMatchObject({
      status: 'rejected',
      reason: 'blocked',
      detail: 'terms.block',
    });
    expect(await mod.request('mod:terms:add', { kind: 'blocked', text: '~/(a+)+$/' })).toMatchObject({
      ok: false,
      reason: 'invalid_term',
      detail: expect.stringMatching(/nested quantifiers/) as unknown,
    });
    expect(
      await mod.request('mod:terms:add', { kind: 'blocked', text: '~/\\d{3}-\\d{4}/', action: 'hold' }),
    ).toMatchObject({ ok: true });
    expect(await viewer.send('call 555-1234')).toMatchObject({ status: 'held' });
    expect(await mod.request('mod:terms:add', { kind: 'permitted', text: 'hoe' })).toMatchObject({ ok: true });
    expect(await viewer.send('my garden hoe')).toMatchObject({ status: 'delivered' });
    expect((await mod.request<{ terms: unknown[] }>('mod:terms:list')).terms).toHaveLength(3);
    expect(await mod.request('mod:terms:remove', { termId: added.term.id })).toMatchObject({ ok: true });
    expect(await viewer.send('spoilers are fine now')).toMatchObject({ status: 'delivered' });
    expect(await mod.request('mod:terms:remove', { termId: added.term.id })).toMatchObject({
      ok: false,
      reason: 'not_found',
    });
  });

  it('grants a link permit', async () => {
    const stream = newStream();
    const mod = await joined('mod', stream, 'moderator');
    const viewer = await joined('artist', stream, 'viewer');
    expect((await viewer.send('portfolio: art.example.com')).status).toBe('held');
    expect(await mod.request('mod:permit', { userId: 'artist', seconds: 60 })).toMatchObject({
      ok: true,
      userId: 'artist',
    });
    expect((await viewer.send('again: art.example.com/gallery')).status).toBe('delivered');
  });
});

describe('chat modes', () => {
  it('slow mode, emote-only and unique chat, announced to the room', async () => {
    const stream = newStream();
    const mod = await joined('mod', stream, 'moderator');
    const viewer = await joined('viewer', stream, 'viewer');
    expect(await mod.request('mod:modes', { slow_mode_seconds: 30 })).toMatchObject({
      ok: true,
      modes: { slow_mode_seconds: 30 },
    });
    expect(
      await viewer.waitForEvent('modes', (m: { slow_mode_seconds: number }) => m.slow_mode_seconds === 30),
    ).toBeTruthy();
    expect((await viewer.send('first')).status).toBe('delivered');
    const slowed = await viewer.send('second');
    expect(slowed).toMatchObject({ status: 'rejected', reason: 'slow_mode' });
    expect(slowed.retryAfterMs).toBeGreaterThan(25_000);
    expect((await mod.send('moderators are exempt')).status).toBe('delivered');
    expect((await mod.send('really exempt')).status).toBe('delivered');

    await mod.request('mod:modes', { slow_mode_seconds: 0, emote_only: true });
    expect(await viewer.send('words are not emotes')).toMatchObject({ status: 'rejected', reason: 'emote_only' });
    expect((await viewer.send('🔥🔥 :pog:')).status).toBe('delivered');

    await mod.request('mod:modes', { emote_only: false, unique_chat: true });
    const other = await joined('other', stream, 'viewer');
    expect((await viewer.send('copy pasta text here')).status).toBe('delivered');
    expect(await other.send('COPY   pasta text here!!')).toMatchObject({ status: 'rejected', reason: 'not_unique' });
  });

  it('followers-only and subscribers-only use the signed follow and subscription claims', async () => {
    const stream = newStream();
    const mod = await joined('mod', stream, 'moderator');
    const now = Math.floor(Date.now() / 1_000);
    const stranger = await joined('stranger', stream, 'viewer');
    const newFollower = await joined('new', stream, 'viewer', { follows: { [stream]: now - 60 } });
    const oldFollower = await joined('old', stream, 'viewer', { follows: { [stream]: now - 3_600 } });
    const subscriber = await joined('sub', stream, 'viewer', { subscriptions: [stream] });
    await mod.request('mod:modes', { followers_only_minutes: 10 });
    expect(await stranger.send('hi')).toMatchObject({ status: 'rejected', reason: 'followers_only' });
    expect(await newFollower.send('hi')).toMatchObject({ status: 'rejected', reason: 'followers_only' });
    expect((await oldFollower.send('hi')).status).toBe('delivered');
    await mod.request('mod:modes', { followers_only_minutes: null, subscribers_only: true });
    expect(await oldFollower.send('hello')).toMatchObject({ status: 'rejected', reason: 'subscribers_only' });
    expect((await subscriber.send('hello')).status).toBe('delivered');
  });

  it('shield mode tightens everything at once and restores the previous settings', async () => {
    const stream = newStream();
    const mod = await joined('mod', stream, 'moderator');
    const viewer = await joined('viewer', stream, 'viewer');
    const on = await mod.request<{
      ok: boolean;
      modes: Record<string, unknown>;
      policy: { levels: Record<string, number> };
    }>('mod:shield', { enabled: true });
    expect(on.modes).toMatchObject({
      shield: true,
      unique_chat: true,
      slow_mode_seconds: 10,
      followers_only_minutes: 10,
    });
    expect(on.policy.levels).toEqual({ identity: 3, aggression: 3, sexual: 3, profanity: 3, spam: 3 });
    expect(await viewer.send('hi')).toMatchObject({ status: 'rejected', reason: 'followers_only' });
    const off = await mod.request<{ modes: Record<string, unknown>; policy: { overall_level: number } }>('mod:shield', {
      enabled: false,
    });
    expect(off.modes).toMatchObject({
      shield: false,
      unique_chat: false,
      slow_mode_seconds: 0,
      followers_only_minutes: null,
    });
    expect(off.policy.overall_level).toBe(2);
    expect((await viewer.send('hi')).status).toBe('delivered');
  });
});

/**
 * A stream's staff: moderators its host or an admin granted, kept server-side and checked for
 * every sanction. docs/moderation.md promises that a moderator cannot sanction another
 * moderator; before staff, a moderator who had not joined in the last 24 h counted as a viewer.
 */
describe('stream staff', () => {
  it('protects a moderator the host granted from other moderators, whether or not they joined lately', async () => {
    const stream = newStream();
    const host = await joined('host', stream, 'host');
    expect(await host.request('mod:staff:add', { userId: 'granted-mod' })).toEqual({
      ok: true,
      userId: 'granted-mod',
      role: 'moderator',
    });
    const mod = await joined('token-mod', stream, 'moderator');
    for (const [event, payload] of [
      ['mod:ban', { userId: 'granted-mod' }],
      ['mod:timeout', { userId: 'granted-mod', durationSeconds: 60 }],
    ] as const) {
      expect(await mod.request(event, payload)).toEqual({
        ok: false,
        reason: 'forbidden',
        detail: 'a moderator cannot sanction a moderator',
      });
    }
    // The host still can.
    expect(await host.request('mod:timeout', { userId: 'granted-mod', durationSeconds: 60 })).toMatchObject({
      ok: true,
    });
    expect(
      await waitFor('the grant audited', () => verdicts.find((v) => v.stream_id === stream && v.action === 'staff')),
    ).toMatchObject({
      source: 'moderator',
      actor_id: 'host',
      target_user_id: 'granted-mod',
      details: JSON.stringify({ op: 'grant', role: 'moderator' }),
    });
  });

  it('makes a granted user a moderator at their next join, and a revoked one no longer', async () => {
    const stream = newStream();
    const host = await joined('host', stream, 'host');
    await joined('troll', stream, 'viewer');
    expect(await host.request('mod:staff:add', { userId: 'helper' })).toMatchObject({ ok: true });
    const helper = await joined('helper', stream, 'viewer');
    expect((await helper.join(stream)).role).toBe('moderator');
    expect(await helper.request('mod:timeout', { userId: 'troll', durationSeconds: 60 })).toMatchObject({ ok: true });
    expect(await helper.request('mod:staff:list')).toEqual({ ok: true, moderators: ['helper'] });

    expect(await host.request('mod:staff:remove', { userId: 'helper' })).toEqual({ ok: true, revoked: true });
    // Every action checks the grant again, so a revocation takes effect at once.
    expect(await helper.request('mod:unban', { userId: 'troll' })).toMatchObject({ ok: false, reason: 'forbidden' });
    const mod = await joined('token-mod', stream, 'moderator');
    expect(await mod.request('mod:timeout', { userId: 'helper', durationSeconds: 60 })).toMatchObject({ ok: true });
    expect((await helper.join(stream)).role).toBe('viewer');
    expect(await host.request('mod:staff:remove', { userId: 'helper' })).toEqual({ ok: true, revoked: false });
  });

  it("takes a revoked moderator's open socket out of the staff room at once, and its privileges with it", async () => {
    const stream = newStream();
    const host = await joined('host', stream, 'host');
    expect(await host.request('mod:staff:add', { userId: 'helper' })).toMatchObject({ ok: true });
    const helper = await joined('helper', stream, 'viewer');
    const witness = await joined('token-mod', stream, 'moderator');
    const poster = await joined('poster', stream, 'viewer');
    const heldBefore = await poster.sendHeld('my clips are at clips.example.com');
    await helper.waitForHeld(heldBefore);

    expect(await host.request('mod:staff:remove', { userId: 'helper' })).toEqual({ ok: true, revoked: true });
    await witness.waitForHeld(await poster.sendHeld('and more at store.example.com'));
    // An answer on the helper's own connection comes after anything the room sent it before.
    expect(await helper.request('mod:held:list')).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(helper.heldIds()).toEqual([heldBefore]);
    // Its messages are a viewer's again: moderated, and no !clip.
    expect((await helper.send('see helper.example.com')).status).toBe('held');
    expect(await helper.send('!clip')).toMatchObject({ status: 'rejected', reason: 'forbidden' });
    // A moderator by token stays in the room whatever happens to grants.
    expect(await host.request('mod:staff:remove', { userId: 'token-mod' })).toEqual({ ok: true, revoked: false });
    await witness.waitForHeld(await poster.sendHeld('last one at shop.example.com'));
  });

  it('lets only the host or an admin grant and revoke, and never to an anonymous reader', async () => {
    const stream = newStream();
    const mod = await joined('mod', stream, 'moderator');
    const viewer = await joined('viewer', stream, 'viewer');
    const admin = await joined('admin', stream, 'admin');
    for (const client of [mod, viewer]) {
      expect(await client.request('mod:staff:add', { userId: 'friend' })).toEqual({
        ok: false,
        reason: 'forbidden',
        detail: 'only the host or an admin may grant moderator rights',
      });
      expect(await client.request('mod:staff:remove', { userId: 'mod' })).toMatchObject({
        ok: false,
        reason: 'forbidden',
      });
    }
    expect(await viewer.request('mod:staff:list')).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(await admin.request('mod:staff:add', { userId: 'anon:abc' })).toEqual({
      ok: false,
      reason: 'invalid_payload',
      detail: 'anonymous readers cannot be staff',
    });
    expect(await admin.request('mod:staff:add', { userId: 'not valid!' })).toMatchObject({
      ok: false,
      reason: 'invalid_payload',
    });
  });

  it('keeps a moderator from deleting the messages of the host or of another moderator', async () => {
    const stream = newStream();
    const host = await joined('host', stream, 'host');
    const viewer = await joined('viewer', stream, 'viewer');
    expect(await host.request('mod:staff:add', { userId: 'other-mod' })).toMatchObject({ ok: true });
    const otherMod = await joined('other-mod', stream, 'viewer');
    const mod = await joined('mod', stream, 'moderator');
    const fromHost = await host.send('welcome everyone');
    const fromOtherMod = await otherMod.send('please keep it friendly');
    const fromViewer = await viewer.send('hi all');
    const fromSelf = await mod.send('my own typo');
    expect(await mod.request('mod:delete', { messageId: fromHost.id })).toEqual({
      ok: false,
      reason: 'forbidden',
      detail: 'a moderator cannot sanction a host',
    });
    expect(await mod.request('mod:delete', { messageId: fromOtherMod.id })).toEqual({
      ok: false,
      reason: 'forbidden',
      detail: 'a moderator cannot sanction a moderator',
    });
    expect(await mod.request('mod:delete', { messageId: fromViewer.id })).toEqual({ ok: true, removed: true });
    expect(await mod.request('mod:delete', { messageId: fromSelf.id })).toEqual({ ok: true, removed: true });
    expect(await host.request('mod:delete', { messageId: fromOtherMod.id })).toEqual({ ok: true, removed: true });
  });
});

describe('moderator HTTP API', () => {
  const api = async (method: string, path: string, token: string | null, body?: unknown) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        ...(token && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('bans, lists, unbans and reviews held messages with a bearer token', async () => {
    const stream = newStream();
    const modToken = await testToken('http-mod', { [stream]: 'moderator' });
    const viewer = await joined('noisy', stream, 'viewer');
    const base = `/v1/chat/streams/${stream}`;
    expect(await api('POST', `${base}/bans`, modToken, { userId: 'noisy', reason: 'spam' })).toMatchObject({
      status: 201,
      body: { sanction: { kind: 'ban', by: 'http-mod' } },
    });
    expect(await viewer.send('am I banned')).toMatchObject({ status: 'rejected', reason: 'banned' });
    expect((await api('GET', `${base}/bans`, modToken)).body).toMatchObject({ sanctions: [{ user_id: 'noisy' }] });
    expect(await api('DELETE', `${base}/bans/noisy`, modToken)).toMatchObject({ status: 200, body: { lifted: true } });
    const held = await viewer.send('see shop.example.com');
    expect((await api('GET', `${base}/held`, modToken)).body).toMatchObject({ held: [{ message: { id: held.id } }] });
    expect(await api('POST', `${base}/held/${held.id}/deny`, modToken, { reason: 'ad' })).toMatchObject({
      status: 200,
      body: { id: held.id },
    });
    expect(await viewer.waitForEvent('message:status', (s: { id: string }) => s.id === held.id)).toMatchObject({
      status: 'denied',
      reason: 'ad',
    });
    expect(await api('PATCH', `${base}/modes`, modToken, { slow_mode_seconds: 5 })).toMatchObject({
      status: 200,
      body: { modes: { slow_mode_seconds: 5 } },
    });
    expect((await api('GET', `${base}/modes`, modToken)).body).toMatchObject({ modes: { slow_mode_seconds: 5 } });
    expect(await api('POST', `${base}/terms`, modToken, { kind: 'blocked', text: '~/(x+x+)+y/' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_term' },
    });
  });

  it.each([
    ['no token', null, 401, 'unauthorized'],
    ['a forged token', 'forged', 401, 'invalid_token'],
    ['a viewer token', 'viewer', 403, 'forbidden'],
  ])('refuses %s', async (_name, kind, status, error) => {
    const stream = newStream();
    const token =
      kind === 'viewer'
        ? await testToken('v', { [stream]: 'viewer' })
        : kind === 'forged'
          ? await testToken('m', { [stream]: 'moderator' }, { secret: 'another-secret-that-is-long-enough-to-sign' })
          : null;
    expect(await api('POST', `/v1/chat/streams/${stream}/bans`, token, { userId: 'x' })).toMatchObject({
      status,
      body: { statusCode: status, error },
    });
  });

  it('validates bodies and path ids', async () => {
    const stream = newStream();
    const token = await testToken('m', { [stream]: 'moderator' });
    expect(
      await api('POST', `/v1/chat/streams/${stream}/timeouts`, token, { userId: 'x', durationSeconds: -5 }),
    ).toMatchObject({ status: 400, body: { error: 'invalid_payload' } });
    expect(await api('POST', `/v1/chat/streams/${stream}/bans`, token, ['array'])).toMatchObject({
      status: 400,
      body: { error: 'invalid_payload' },
    });
    expect(await api('PATCH', `/v1/chat/streams/${stream}/modes`, token, {})).toMatchObject({
      status: 400,
      body: { error: 'invalid_payload' },
    });
    expect(
      await api('DELETE', `/v1/chat/streams/${stream}/bans/${encodeURIComponent('bad id!')}`, token),
    ).toMatchObject({ status: 400 });
  });

  it('is managed over HTTP too: PUT, GET and DELETE /v1/chat/streams/:id/staff', async () => {
    const stream = newStream();
    const base = `/v1/chat/streams/${stream}/staff`;
    const hostToken = await testToken('http-host', { [stream]: 'host' });
    const modToken = await testToken('http-mod', { [stream]: 'moderator' });
    expect(await api('PUT', `${base}/new-mod`, hostToken)).toEqual({
      status: 200,
      body: { userId: 'new-mod', role: 'moderator' },
    });
    expect(await api('PUT', `${base}/mods-friend`, modToken)).toMatchObject({
      status: 403,
      body: { error: 'forbidden' },
    });
    expect(await api('GET', base, modToken)).toEqual({ status: 200, body: { moderators: ['new-mod'] } });
    expect(await api('PUT', `${base}/bad%20id`, hostToken)).toMatchObject({
      status: 400,
      body: { error: 'invalid_payload' },
    });
    expect(await api('DELETE', `${base}/new-mod`, hostToken)).toEqual({ status: 200, body: { revoked: true } });
    expect(await api('GET', base, hostToken)).toEqual({ status: 200, body: { moderators: [] } });
  });
});
