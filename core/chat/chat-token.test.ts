import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import {
  anonymousIdentity,
  canConfigurePolicy,
  canModerate,
  ChatTokenError,
  createChatTokenVerifier,
  highestRole,
  mintChatToken,
  roleOn,
  type ChatIdentity,
} from './chat-token.ts';

const SECRET = 'chat-token-test-secret-0123456789abcdef';

describe('HS256 chat tokens', () => {
  const verifier = createChatTokenVerifier({ jwtSecret: SECRET });

  it('round-trips identity, roles, follows (seconds to ms) and subscriptions', async () => {
    const token = await mintChatToken({
      secret: SECRET,
      sub: 'u-1',
      name: 'Ada',
      roles: { s1: 'moderator', '*': 'viewer' },
      ttlSeconds: 60,
      follows: { s1: 1_800_000_000 },
      subscriptions: ['s1'],
    });
    const identity = await verifier.verify(token);
    expect(identity).toMatchObject({
      userId: 'u-1',
      name: 'Ada',
      roles: { s1: 'moderator', '*': 'viewer' },
      follows: { s1: 1_800_000_000_000 },
      anonymous: false,
    });
    expect(identity.subscriptions.has('s1')).toBe(true);
    expect(identity.expiresAt).toBeGreaterThan(Date.now());
  });

  it.each([
    [
      'a token signed with another secret',
      () => mintChatToken({ secret: 'x'.repeat(40), sub: 'u', name: 'u', roles: {}, ttlSeconds: 60 }),
      'invalid_token',
    ],
    [
      'an expired token',
      () => mintChatToken({ secret: SECRET, sub: 'u', name: 'u', roles: {}, ttlSeconds: 60, issuedAt: 1_700_000_000 }),
      'expired_token',
    ],
    [
      'an RS256 token where HS256 is expected',
      async () =>
        new SignJWT({ name: 'u', roles: {} })
          .setProtectedHeader({ alg: 'RS256' })
          .setSubject('u')
          .setExpirationTime('5m')
          .sign((await generateKeyPair('RS256')).privateKey),
      'invalid_token',
    ],
    [
      'a subject outside the id alphabet',
      () => mintChatToken({ secret: SECRET, sub: 'bad id!', name: 'u', roles: {}, ttlSeconds: 60 }),
      'invalid_claims',
    ],
    [
      'a role map with a bad stream key',
      () =>
        mintChatToken({
          secret: SECRET,
          sub: 'u',
          name: 'u',
          roles: { 'no spaces allowed': 'viewer' },
          ttlSeconds: 60,
        }),
      'invalid_claims',
    ],
  ])('rejects %s', async (_name, make, reason) => {
    await expect(verifier.verify(await make())).rejects.toMatchObject({ name: 'ChatTokenError', reason });
  });

  it('rejects non-strings and oversized tokens before parsing', async () => {
    await expect(verifier.verify(42)).rejects.toBeInstanceOf(ChatTokenError);
    await expect(verifier.verify('')).rejects.toBeInstanceOf(ChatTokenError);
    await expect(verifier.verify('a'.repeat(9_000))).rejects.toMatchObject({ reason: 'invalid_token' });
  });
});

describe('JWKS chat tokens', () => {
  const servers: Array<{ close: () => void }> = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('verifies tokens signed by a key the identity provider publishes, and only those', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    }).listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    const verifier = createChatTokenVerifier({
      jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    });
    const sign = (key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'], kid: string) =>
      new SignJWT({ name: 'Grace', roles: { s1: 'host' } })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject('g-1')
        .setExpirationTime('5m')
        .sign(key);
    expect(await verifier.verify(await sign(privateKey, 'key-1'))).toMatchObject({
      userId: 'g-1',
      roles: { s1: 'host' },
    });
    const stranger = await generateKeyPair('ES256');
    await expect(verifier.verify(await sign(stranger.privateKey, 'key-1'))).rejects.toMatchObject({
      reason: 'invalid_token',
    });
    await expect(verifier.verify(await sign(stranger.privateKey, 'unknown-key'))).rejects.toMatchObject({
      reason: 'invalid_token',
    });
  });
});

describe('roles', () => {
  const identity = (roles: ChatIdentity['roles']): ChatIdentity => ({
    ...anonymousIdentity('x'),
    anonymous: false,
    roles,
  });

  it.each([
    [{ s1: 'viewer' }, 's1', 'viewer'],
    [{ s1: 'viewer' }, 's2', null],
    [{ '*': 'moderator' }, 's2', 'moderator'],
    [{ s1: 'host', '*': 'moderator' }, 's1', 'host'],
    [{ s1: 'viewer', '*': 'admin' }, 's1', 'admin'],
  ] as const)('%o on %s is %s', (roles, stream, expected) => {
    expect(roleOn(identity(roles), stream)).toBe(expected);
  });

  it.each([
    [[], null],
    [[null, undefined], null],
    [['viewer', null], 'viewer'],
    [['moderator', 'viewer', 'host'], 'host'],
    [['admin', 'moderator'], 'admin'],
  ] as const)('the highest of %j is %s', (roles, expected) => {
    expect(highestRole(...roles)).toBe(expected);
  });

  it('moderators moderate, hosts and admins also set policy', () => {
    expect([null, 'viewer', 'moderator', 'host', 'admin'].map((r) => canModerate(r as never))).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
    expect([null, 'viewer', 'moderator', 'host', 'admin'].map((r) => canConfigurePolicy(r as never))).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
  });
});
