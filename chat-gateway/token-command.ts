import { parseArgs } from 'node:util';
import { tokenSigningSecret, type Config } from '../core/config.ts';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from '../core/http/jwt-verifier.ts';
import { CHAT_ROLES, mintChatToken, type ChatRole } from './chat-token.ts';

export const TOKEN_USAGE = `livepulse token --sub <user id> [--name <display name>] --role <stream>=<role> [--role …]
                [--ttl <seconds>] [--follow <stream>=<ISO date or epoch seconds>] [--subscriber <stream>]
      mints a development chat token (HS256, LIVEPULSE_JWT_SECRET); roles: ${CHAT_ROLES.join(', ')};
      <stream> may be * for every stream`;

export class TokenCommandError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${TOKEN_USAGE}`);
    this.name = 'TokenCommandError';
  }
}

function pairs(values: string[] | undefined, what: string): Array<[string, string]> {
  return (values ?? []).map((value) => {
    const at = value.lastIndexOf('=');
    if (at <= 0 || at === value.length - 1) throw new TokenCommandError(`--${what} must look like <stream>=<value>, got ${JSON.stringify(value)}`);
    return [value.slice(0, at), value.slice(at + 1)];
  });
}

function epochSeconds(value: string): number {
  const seconds = /^\d+$/.test(value) ? Number(value) : Date.parse(value) / 1_000;
  if (!Number.isFinite(seconds)) throw new TokenCommandError(`--follow needs an ISO date or epoch seconds, got ${JSON.stringify(value)}`);
  return Math.floor(seconds);
}

/** `livepulse token …`: prints a signed chat token for development and tests. */
export async function mintTokenFromArgs(
  args: string[],
  auth: Pick<Config['auth'], 'jwtSecret'> & Partial<Pick<Config['auth'], 'jwksUrl' | 'randomSecrets' | 'maxTokenLifetimeSeconds'>>,
): Promise<string> {
  const signing = tokenSigningSecret(auth);
  if ('problem' in signing) throw new TokenCommandError(signing.problem);
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '3600' },
      follow: { type: 'string', multiple: true },
      subscriber: { type: 'string', multiple: true },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.sub) throw new TokenCommandError('--sub is required');
  const rolePairs = pairs(values.role, 'role');
  for (const [, role] of rolePairs) {
    if (!(CHAT_ROLES as readonly string[]).includes(role)) throw new TokenCommandError(`unknown role ${JSON.stringify(role)}`);
  }
  // Object.fromEntries defines own properties: a stream called `__proto__` keeps its role.
  const roles = Object.fromEntries(rolePairs) as Record<string, ChatRole>;
  const ttlSeconds = Number(values.ttl);
  const maxSeconds = auth.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > maxSeconds) {
    throw new TokenCommandError(`--ttl must be whole seconds between 1 and ${maxSeconds} (LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS)`);
  }
  const follows = Object.fromEntries(pairs(values.follow, 'follow').map(([stream, when]) => [stream, epochSeconds(when)]));
  return mintChatToken({
    secret: signing.secret,
    sub: values.sub,
    name: values.name ?? values.sub,
    roles,
    ttlSeconds,
    ...(Object.keys(follows).length > 0 && { follows }),
    ...(values.subscriber && { subscriptions: values.subscriber }),
  });
}
