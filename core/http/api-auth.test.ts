import Fastify from 'fastify';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiAuthError,
  assertMayReadCreator,
  createApiTokenVerifier,
  mayReadCreator,
  mintApiToken,
  requireApiIdentity,
  type ApiIdentity,
} from './api-auth.ts';

const SECRET = 'api-auth-test-secret-0123456789abcdef';
const NOW = Math.floor(Date.now() / 1_000);
const verifier = createApiTokenVerifier({ jwtSecret: SECRET });
const key = new TextEncoder().encode(SECRET);

async function rejection(token: unknown): Promise<ApiAuthError> {
  const error = await verifier.verify(token).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiAuthError);
  return error as ApiAuthError;
}

describe('API tokens: roles', () => {
  it.each([
    ['admin', undefined, { userId: 'u1', role: 'admin', creatorId: undefined }],
    ['analyst', undefined, { userId: 'u1', role: 'analyst', creatorId: undefined }],
    ['creator', 'creator-7', { userId: 'u1', role: 'creator', creatorId: 'creator-7' }],
    // A creator_id claim on an admin token scopes nothing: only creators are scoped.
    ['admin', 'creator-7', { userId: 'u1', role: 'admin', creatorId: undefined }],
  ] as const)('a minted %s token (creator %s) verifies to its identity', async (role, creatorId, identity) => {
    const token = await mintApiToken({ secret: SECRET, sub: 'u1', role, creatorId, ttlSeconds: 60 });
    expect(await verifier.verify(token)).toEqual(identity);
  });
});

describe('API tokens: creator scoping', () => {
  const admin: ApiIdentity = { userId: 'a', role: 'admin' };
  const analyst: ApiIdentity = { userId: 'b', role: 'analyst' };
  const creator: ApiIdentity = { userId: 'c', role: 'creator', creatorId: 'creator-7' };

  it.each([
    [admin, 'creator-7', true],
    [admin, 'creator-8', true],
    [analyst, 'creator-8', true],
    [creator, 'creator-7', true],
    [creator, 'creator-8', false],
    [creator, 'creator-70', false],
    [creator, 'Creator-7', false],
  ] as const)('%j may read %s: %s', (identity, creatorId, allowed) => {
    expect(mayReadCreator(identity, creatorId)).toBe(allowed);
    if (allowed) expect(() => assertMayReadCreator(identity, creatorId)).not.toThrow();
    else
      expect(() => assertMayReadCreator(identity, creatorId)).toThrow(
        expect.objectContaining({ statusCode: 403 }) as Error,
      );
  });
});

describe('API tokens: expiry and bad tokens', () => {
  it('refuses an expired token with 401 "token has expired"', async () => {
    const token = await mintApiToken({
      secret: SECRET,
      sub: 'u1',
      role: 'admin',
      ttlSeconds: 60,
      issuedAt: NOW - 3_600,
    });
    const error = await rejection(token);
    expect(error.statusCode).toBe(401);
    expect(error.message).toBe('token has expired');
  });

  it.each([
    ['no token', undefined, 'bearer token'],
    ['an empty string', '', 'bearer token'],
    ['a number', 42, 'bearer token'],
    ['a huge string', 'x'.repeat(9_000), 'bearer token'],
    ['garbage', 'not.a.jwt', 'token rejected'],
    ['SQL in a token', "'; DROP TABLE clips; --", 'token rejected'],
  ])('refuses %s with 401', async (_what, token, message) => {
    const error = await rejection(token);
    expect(error.statusCode).toBe(401);
    expect(error.message).toContain(message);
  });

  it('refuses a token signed with another secret', async () => {
    const token = await mintApiToken({
      secret: 'another-secret-0123456789abcdef0123',
      sub: 'u1',
      role: 'admin',
      ttlSeconds: 60,
    });
    expect((await rejection(token)).message).toBe('token rejected: ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses alg none and algorithms other than HS256 for a shared secret', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'u1', role: 'admin', exp: NOW + 60 })).toString('base64url');
    expect((await rejection(`${header}.${body}.`)).statusCode).toBe(401);
    const hs512 = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('u1')
      .setExpirationTime(NOW + 60)
      .sign(key);
    expect((await rejection(hs512)).message).toContain('token rejected');
  });

  it.each([
    ['no exp', { role: 'admin' }, (jwt: SignJWT) => jwt.setSubject('u1'), 'token rejected'],
    ['no sub', { role: 'admin' }, (jwt: SignJWT) => jwt.setExpirationTime(NOW + 60), 'token rejected'],
    [
      'an unknown role',
      { role: 'owner' },
      (jwt: SignJWT) => jwt.setSubject('u1').setExpirationTime(NOW + 60),
      'claims are invalid',
    ],
    [
      'a chat token (roles per stream, no role)',
      { roles: { s1: 'host' } },
      (jwt: SignJWT) => jwt.setSubject('u1').setExpirationTime(NOW + 60),
      'claims are invalid',
    ],
    [
      'a creator without creator_id',
      { role: 'creator' },
      (jwt: SignJWT) => jwt.setSubject('u1').setExpirationTime(NOW + 60),
      'must carry a creator_id',
    ],
    [
      'a hostile creator_id',
      { role: 'creator', creator_id: "c'; DROP TABLE clips; --" },
      (jwt: SignJWT) => jwt.setSubject('u1').setExpirationTime(NOW + 60),
      'claims are invalid',
    ],
  ])('refuses %s', async (_what, claims, complete, message) => {
    const token = await complete(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' })).sign(key);
    expect((await rejection(token)).message).toContain(message);
  });

  it('needs a secret or a JWKS URL', () => {
    expect(() => createApiTokenVerifier({})).toThrow('LIVEPULSE_JWT_SECRET or LIVEPULSE_JWKS_URL');
  });
});

describe('API tokens from an identity provider (JWKS)', () => {
  let server: Server;
  let jwksUrl: string;
  const keys = generateKeyPair('ES256');

  beforeAll(async () => {
    const { publicKey } = await keys;
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_request, response) =>
      response.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('verifies ES256 tokens by the key set and refuses HS256 ones', async () => {
    const jwks = createApiTokenVerifier({ jwksUrl });
    const { privateKey } = await keys;
    const token = await new SignJWT({ role: 'creator', creator_id: 'creator-7' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('u9')
      .setExpirationTime(NOW + 60)
      .sign(privateKey);
    expect(await jwks.verify(token)).toEqual({ userId: 'u9', role: 'creator', creatorId: 'creator-7' });
    const symmetric = await mintApiToken({ secret: SECRET, sub: 'u9', role: 'admin', ttlSeconds: 60 });
    await expect(jwks.verify(symmetric)).rejects.toMatchObject({ statusCode: 401 });
  });
});

describe('requireApiIdentity (fastify onRequest hook)', () => {
  const app = Fastify();
  app.addHook('onRequest', requireApiIdentity(verifier));
  app.get('/who', (request) => Promise.resolve(request.apiIdentity));
  afterAll(() => app.close());

  it('sets request.apiIdentity from a bearer header or ?token=, and answers 401 otherwise', async () => {
    const token = await mintApiToken({
      secret: SECRET,
      sub: 'u1',
      role: 'creator',
      creatorId: 'creator-7',
      ttlSeconds: 60,
    });
    const byHeader = await app.inject({ url: '/who', headers: { authorization: `Bearer ${token}` } });
    expect(byHeader.json()).toEqual({ userId: 'u1', role: 'creator', creatorId: 'creator-7' });
    const byQuery = await app.inject({ url: `/who?token=${token}` });
    expect(byQuery.json()).toEqual({ userId: 'u1', role: 'creator', creatorId: 'creator-7' });

    const missing = await app.inject({ url: '/who' });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(missing.json()).toMatchObject({ error: 'unauthorized' });
    const basic = await app.inject({ url: '/who', headers: { authorization: 'Basic dTpw' } });
    expect(basic.statusCode).toBe(401);
  });
});
