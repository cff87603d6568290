import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.ts';
import { createChatTokenVerifier } from '../core/chat/chat-token.ts';
import { mintTokenFromOptions, TokenCommandError, type TokenOptions } from './token-command.ts';

/** What the command line gives when an option is left out (app/cli/program.ts). */
const options = (given: Partial<TokenOptions>): TokenOptions => ({ ttl: '3600', ...given });

const auth = { jwtSecret: 'token-command-test-secret-0123456789' };

describe('livepulse token', () => {
  it('mints a token the gateway accepts, with roles, follows and subscriptions', async () => {
    const token = await mintTokenFromOptions(
      {
        sub: 'alice',
        name: 'Alice',
        role: ['s1=moderator', '*=viewer'],
        follow: ['s1=2026-01-01T00:00:00Z'],
        subscriber: ['s1'],
        ttl: '120',
      },
      auth,
    );
    const identity = await createChatTokenVerifier(auth).verify(token);
    expect(identity).toMatchObject({
      userId: 'alice',
      name: 'Alice',
      roles: { s1: 'moderator', '*': 'viewer' },
      follows: { s1: Date.parse('2026-01-01T00:00:00Z') },
    });
    expect(identity.expiresAt - Date.now()).toBeLessThanOrEqual(120_000);
    expect([...identity.subscriptions]).toEqual(['s1']);
  });

  it.each([
    [{}, /--sub is required/],
    [{ sub: 'a', role: ['s1=owner'] }, /unknown role "owner"/],
    [{ sub: 'a', role: ['s1'] }, /--role must look like <stream>=<value>/],
    [{ sub: 'a', ttl: '0' }, /--ttl must be whole seconds/],
    [
      { sub: 'a', ttl: '86401' },
      /--ttl must be whole seconds between 1 and 86400 \(LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS\)/,
    ],
    [{ sub: 'a', follow: ['s1=yesterday'] }, /--follow needs an ISO date/],
  ])('refuses %j', async (given, message) => {
    await expect(mintTokenFromOptions(options(given), auth)).rejects.toThrow(TokenCommandError);
    await expect(mintTokenFromOptions(options(given), auth)).rejects.toThrow(message);
  });

  it('cannot mint without a shared secret', async () => {
    await expect(mintTokenFromOptions(options({ sub: 'a' }), { jwtSecret: undefined })).rejects.toThrow(
      /LIVEPULSE_JWT_SECRET/,
    );
  });

  it('refuses to mint with the random secret that stands in for an unset one, which no server shares', async () => {
    const configured = loadConfig({ LIVEPULSE_WRITE_KEYS: 'shop:wk_0123456789abcdef' }).auth;
    await expect(mintTokenFromOptions(options({ sub: 'a' }), configured)).rejects.toThrow(
      /LIVEPULSE_JWT_SECRET is not set/,
    );
  });
});
