import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../test/wait-for.ts';
import {
  ChatClient,
  startChatGateway,
  TEST_JWT_SECRET,
  testToken,
  type ChatGatewayUnderTest,
} from './testing/chat-test-kit.ts';

let gateway: ChatGatewayUnderTest;
const clients: ChatClient[] = [];

beforeAll(async () => {
  gateway = await startChatGateway({
    CHAT_SOCKET_EVENTS_PER_10S: '20',
    CHAT_CONNECTIONS_PER_MINUTE: '5',
    CHAT_FLOOD_MESSAGES: '5',
  });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await gateway.stop();
});

const newStream = () => `s-${randomUUID().slice(0, 8)}`;
async function joined(sub: string, streamId: string) {
  const c = await ChatClient.connect(gateway.url, await testToken(sub, { [streamId]: 'viewer' }));
  clients.push(c);
  expect((await c.join(streamId)).ok).toBe(true);
  return c;
}
const disconnected = (c: ChatClient) => waitFor('disconnect', () => c.socket.disconnected, { timeoutMs: 5_000 });

/** A bystander who keeps chatting: proves abuse on one connection leaves the others alone. */
async function assertBystanderUnaffected(streamId: string) {
  const speaker = await joined(`speaker-${randomUUID().slice(0, 6)}`, streamId);
  const listener = await joined(`listener-${randomUUID().slice(0, 6)}`, streamId);
  const ack = await speaker.send('still working fine');
  expect(ack.status).toBe('delivered');
  await listener.waitForEvent('message', (m: { id: string }) => m.id === ack.id);
}

describe('bad messages', () => {
  it.each([
    ['a number', 42],
    ['an object', { evil: true }],
    ['an array', ['a', 'b']],
    ['null', null],
  ])('refuses %s as text with invalid_payload', async (_name, text) => {
    const stream = newStream();
    const c = await joined(`u-${randomUUID().slice(0, 6)}`, stream);
    expect(await c.send(text)).toMatchObject({
      status: 'rejected',
      reason: 'invalid_payload',
      detail: expect.stringContaining('/text') as unknown,
    });
  });

  it('refuses unknown fields, unknown events and malformed joins with reasons', async () => {
    const stream = newStream();
    const c = await joined('shape-tester', stream);
    expect(await c.request('message', { text: 'hi', role: 'admin' })).toMatchObject({
      status: 'rejected',
      reason: 'invalid_payload',
    });
    expect(await c.request('message')).toMatchObject({ status: 'rejected', reason: 'invalid_payload' });
    expect(await c.request('admin:shutdown', {})).toMatchObject({ ok: false, reason: 'unknown_event' });
    expect(await c.request('join', { streamId: 123 })).toMatchObject({ ok: false, reason: 'invalid_payload' });
    expect(await c.request('join', { streamId: 'has spaces\u0000and a nul' })).toMatchObject({
      ok: false,
      reason: 'invalid_payload',
    });
  });

  it('answers a 5 KB message with too_long and drops a connection that sends 100 KB', async () => {
    const stream = newStream();
    const c = await joined('big-sender', stream);
    expect(await c.send('y'.repeat(5_000))).toMatchObject({
      status: 'rejected',
      reason: 'too_long',
      detail: '5000 characters; the limit is 500',
    });
    c.socket.emit('message', { text: 'z'.repeat(100_000) }, () => undefined);
    await disconnected(c);
    await assertBystanderUnaffected(stream);
  });
});

describe('bad tokens', () => {
  const connectError = async (
    token: unknown,
  ): Promise<{ message: string; data?: { reason: string; detail: string } }> => {
    try {
      clients.push(await ChatClient.connect(gateway.url, undefined, { auth: { token } }));
    } catch (error) {
      return error as { message: string; data?: { reason: string; detail: string } };
    }
    throw new Error('the connection was accepted');
  };
  const noneToken = () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'mallory', name: 'm', roles: { '*': 'admin' }, exp: 4_102_444_000 })}.`;
  };

  it.each([
    ['garbage', () => Promise.resolve('not.a.jwt'), 'invalid_token'],
    ['a number', () => Promise.resolve(12345), 'invalid_token'],
    ['an oversized string', () => Promise.resolve('a'.repeat(10_000)), 'invalid_token'],
    [
      'a forged signature',
      () => testToken('mallory', { '*': 'admin' }, { secret: 'not-the-gateway-secret-but-long-enough' }),
      'invalid_token',
    ],
    ['alg none', () => Promise.resolve(noneToken()), 'invalid_token'],
    [
      'an expired token',
      () => testToken('late', { s: 'viewer' }, { issuedAt: Math.floor(Date.now() / 1_000) - 3_600, ttlSeconds: 60 }),
      'expired_token',
    ],
    [
      'a token without roles',
      () =>
        new SignJWT({ name: 'x' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('x')
          .setExpirationTime('10m')
          .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
      'invalid_claims',
    ],
    [
      'a token with an invented role',
      () =>
        new SignJWT({ name: 'x', roles: { s: 'superuser' } })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('x')
          .setExpirationTime('10m')
          .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
      'invalid_claims',
    ],
    [
      'a token without expiry',
      () =>
        new SignJWT({ name: 'x', roles: {} })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('x')
          .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
      'invalid_token',
    ],
  ])('refuses %s at the handshake', async (_name, make, reason) => {
    const error = await connectError(await make());
    expect(error.message).toBe(reason);
    expect(error.data).toMatchObject({ reason, detail: expect.any(String) as unknown });
  });

  it('disconnects a socket when its token expires', async () => {
    const stream = newStream();
    const c = await ChatClient.connect(
      gateway.url,
      await testToken('short-lived', { [stream]: 'viewer' }, { ttlSeconds: 2 }),
    );
    clients.push(c);
    expect((await c.join(stream)).ok).toBe(true);
    expect(await c.waitForEvent('session:expired', () => true, 5_000)).toEqual({ reason: 'expired_token' });
    await disconnected(c);
  });
});

describe('floods and storms', () => {
  it('limits messages per user (shared, not per socket) and leaves other users alone', async () => {
    const stream = newStream();
    const token = await testToken('chatty', { [stream]: 'viewer' });
    const first = await ChatClient.connect(gateway.url, token);
    const second = await ChatClient.connect(gateway.url, token);
    clients.push(first, second);
    await first.join(stream);
    await second.join(stream);
    const words = ['apple', 'banana', 'cherry', 'dragonfruit', 'elderberry', 'fig'];
    const acks = [];
    for (let i = 0; i < 3; i++) acks.push(await first.send(words[2 * i]!), await second.send(words[2 * i + 1]!));
    expect(acks.filter((a) => a.status === 'delivered')).toHaveLength(5);
    expect(acks.at(-1)).toMatchObject({
      status: 'rejected',
      reason: 'rate_limited',
      retryAfterMs: expect.any(Number) as unknown,
    });
    await assertBystanderUnaffected(stream);
  });

  it('refuses events past the per-socket limit, then drops a socket that keeps flooding', async () => {
    const stream = newStream();
    const flooder = await joined('flooder', stream);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => flooder.request<{ ok?: boolean; reason?: string }>('mod:terms:list')),
    );
    expect(answers.filter((a) => a.reason === 'rate_limited').length).toBeGreaterThanOrEqual(9);
    for (let i = 0; i < 60; i++) flooder.socket.emit('join', { streamId: stream });
    await disconnected(flooder);
    await assertBystanderUnaffected(stream);
  });

  it('refuses a reconnect storm per user at the handshake, with a retry time', async () => {
    const token = await testToken('stormy', { s: 'viewer' });
    const outcomes = [];
    for (let i = 0; i < 8; i++) {
      try {
        const c = await ChatClient.connect(gateway.url, token);
        c.close();
        outcomes.push('connected');
      } catch (error) {
        outcomes.push((error as { data: { reason: string; retryAfterMs: number } }).data);
      }
    }
    expect(outcomes.slice(0, 5)).toEqual(Array(5).fill('connected'));
    expect(outcomes.slice(5)).toEqual(
      Array(3).fill({
        reason: 'rate_limited',
        detail: expect.any(String) as unknown,
        retryAfterMs: expect.any(Number) as unknown,
      }),
    );
    await assertBystanderUnaffected(newStream());
  });
});
