import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { createApiTokenVerifier } from '../../core/http/api-auth.ts';
import { ApiTokenCommandError, mintApiTokenFromOptions, type ApiTokenOptions } from './api-token-command.ts';

/** What the command line gives when an option is left out (app/cli/program.ts). */
const options = (given: Partial<ApiTokenOptions>): ApiTokenOptions => ({ ttl: '3600', ...given });

const auth = { jwtSecret: 'api-token-command-test-secret-0123456789' };
const verifier = createApiTokenVerifier(auth);

describe('livepulse api-token', () => {
  it.each([
    [{ role: 'admin' }, { userId: 'dev-admin', role: 'admin', creatorId: undefined }],
    [
      { role: 'analyst', sub: 'ana' },
      { userId: 'ana', role: 'analyst', creatorId: undefined },
    ],
    [
      { role: 'creator', creator: 'creator-7', ttl: '60' },
      { userId: 'dev-creator', role: 'creator', creatorId: 'creator-7' },
    ],
  ])('%j mints a token the query API accepts', async (given, identity) => {
    expect(await verifier.verify(await mintApiTokenFromOptions(options(given), auth))).toEqual(identity);
  });

  it('sets the expiry from --ttl', async () => {
    const token = await mintApiTokenFromOptions({ role: 'admin', ttl: '120' }, auth);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      iat: number;
      exp: number;
    };
    expect(claims.exp - claims.iat).toBe(120);
  });

  it('refuses to mint with the random secret that stands in for an unset one, which no server shares', async () => {
    const configured = loadConfig({ LIVEPULSE_WRITE_KEYS: 'shop:wk_0123456789abcdef' }).auth;
    await expect(mintApiTokenFromOptions(options({ role: 'admin' }), configured)).rejects.toThrow(
      /LIVEPULSE_JWT_SECRET is not set/,
    );
  });

  it.each([
    [{}, '--role must be one of admin, analyst, creator'],
    [{ role: 'owner' }, '--role must be one of'],
    [{ role: 'creator' }, 'needs --creator'],
    [{ role: 'admin', creator: 'c1' }, 'creator tokens only'],
    [{ role: 'creator', creator: "c'; DROP TABLE clips" }, '--creator must be'],
    [{ role: 'admin', ttl: '0' }, '--ttl must be'],
    [{ role: 'admin', ttl: '1.5' }, '--ttl must be'],
    [{ role: 'admin', ttl: '86401' }, '--ttl must be whole seconds between 1 and 86400'],
  ])('refuses %j', async (given, message) => {
    await expect(mintApiTokenFromOptions(options(given), auth)).rejects.toThrow(ApiTokenCommandError);
    await expect(mintApiTokenFromOptions(options(given), auth)).rejects.toThrow(message);
  });

  it('says where tokens come from when there is no HS256 secret', async () => {
    await expect(
      mintApiTokenFromOptions(options({ role: 'admin' }), { jwksUrl: 'https://idp.example/jwks.json' }),
    ).rejects.toThrow('get tokens from that identity provider');
    await expect(mintApiTokenFromOptions(options({ role: 'admin' }), {})).rejects.toThrow(
      'minting needs LIVEPULSE_JWT_SECRET',
    );
  });
});
