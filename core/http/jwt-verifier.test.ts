import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createChatTokenVerifier } from '../chat/chat-token.ts';
import { loadConfig } from '../config.ts';
import { createApiTokenVerifier } from './api-auth.ts';
import { assertTokenLifetime, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from './jwt-verifier.ts';

const SECRET = 'jwt-verifier-test-secret-0123456789abcdef';
const NOW = 1_800_000_000;
const DAY = 86_400;

describe('assertTokenLifetime', () => {
  it.each([
    ['a day from iat', { iat: NOW, exp: NOW + DAY }, null],
    ['an hour, issued a while ago', { iat: NOW - 1_800, exp: NOW + 1_800 }, null],
    ['a day without iat', { exp: NOW + DAY }, null],
    ['a day plus clock skew without iat', { exp: NOW + DAY + 60 }, null],
    ['a day and a second from iat', { iat: NOW, exp: NOW + DAY + 1 }, DAY + 1],
    ['back-dated: two days from iat, one left', { iat: NOW - DAY, exp: NOW + DAY }, 2 * DAY],
    ['exp 1e20', { iat: NOW, exp: 1e20 }, 1e20 - NOW],
    ['exp 1e20 without iat', { exp: 1e20 }, 1e20 - NOW],
    ['iat set in the future to look short', { iat: 1e20 - 60, exp: 1e20 }, 1e20 - NOW],
  ])('%s', (_name, payload, refusedLifetime) => {
    const check = () => assertTokenLifetime(payload, DAY, NOW);
    if (refusedLifetime === null) expect(check).not.toThrow();
    else
      expect(check).toThrow(
        expect.objectContaining({
          name: 'TokenLifetimeError',
          lifetimeSeconds: refusedLifetime,
          maxSeconds: DAY,
        }) as Error,
      );
  });
});

const signed = (exp: number, key: Parameters<SignJWT['sign']>[0] = new TextEncoder().encode(SECRET), alg = 'HS256') =>
  new SignJWT({ name: 'Eve', roles: { s1: 'admin' }, role: 'admin' })
    .setProtectedHeader({ alg, kid: 'key-1' })
    .setSubject('eve')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key);

describe('a correctly signed token that never expires', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('is refused as a chat token, with the reason and the setting that decides it', async () => {
    const verifier = createChatTokenVerifier({ jwtSecret: SECRET });
    await expect(verifier.verify(await signed(1e20))).rejects.toMatchObject({
      name: 'ChatTokenError',
      reason: 'token_lifetime_too_long',
      message: expect.stringMatching(/at most 86400 s \(LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS\)/) as unknown,
    });
  });

  it('is refused as an API token with 401 and the reason', async () => {
    const verifier = createApiTokenVerifier({ jwtSecret: SECRET });
    await expect(verifier.verify(await signed(1e20))).rejects.toMatchObject({
      name: 'ApiAuthError',
      statusCode: 401,
      message: expect.stringMatching(/^token lives/) as unknown,
    });
  });

  it('is refused when signed by the identity provider (JWKS)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    const server = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    ).listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    const verifier = createChatTokenVerifier({
      jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    });
    await expect(verifier.verify(await signed(1e20, privateKey, 'ES256'))).rejects.toMatchObject({
      reason: 'token_lifetime_too_long',
    });
    expect(
      (await verifier.verify(await signed(Math.floor(Date.now() / 1_000) + 3_600, privateKey, 'ES256'))).userId,
    ).toBe('eve');
  });

  it('follows LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS', async () => {
    const config = loadConfig({ LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS: '600', LIVEPULSE_JWT_SECRET: SECRET });
    expect(loadConfig({}).auth.maxTokenLifetimeSeconds).toBe(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS);
    const verifier = createApiTokenVerifier(config.auth);
    const now = Math.floor(Date.now() / 1_000);
    expect((await verifier.verify(await signed(now + 600))).role).toBe('admin');
    await expect(verifier.verify(await signed(now + 3_600))).rejects.toMatchObject({
      message: expect.stringMatching(/at most 600 s/) as unknown,
    });
  });
});
