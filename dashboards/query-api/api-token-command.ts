import { parseArgs } from 'node:util';
import { API_ROLES, mintApiToken, type ApiRole } from '../../core/http/api-auth.ts';
import { tokenSigningSecret, type Config } from '../../core/config.ts';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from '../../core/http/jwt-verifier.ts';
import { Id } from '../../core/schemas/common.ts';
import { createValidator } from '../../core/schemas/validate.ts';

export const API_TOKEN_USAGE = `livepulse api-token --role admin|analyst|creator [--creator <creator id>] [--sub <user id>] [--ttl <seconds>]
      mints a development API token for the query API and creator reports (HS256, LIVEPULSE_JWT_SECRET);
      a creator token needs --creator and reads only that creator's streams and reports`;

export class ApiTokenCommandError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${API_TOKEN_USAGE}`);
    this.name = 'ApiTokenCommandError';
  }
}

const idValidator = createValidator(Id('id'));

/** `livepulse api-token …`: prints a signed API token for development and tests. */
export async function mintApiTokenFromArgs(
  args: string[],
  auth: Pick<Config['auth'], 'jwtSecret' | 'jwksUrl'> & Partial<Pick<Config['auth'], 'randomSecrets' | 'maxTokenLifetimeSeconds'>>,
): Promise<string> {
  const signing = tokenSigningSecret(auth);
  if ('problem' in signing) throw new ApiTokenCommandError(signing.problem);
  let values: { role?: string; creator?: string; sub?: string; ttl?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { role: { type: 'string' }, creator: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string', default: '3600' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ApiTokenCommandError(error instanceof Error ? error.message : String(error));
  }
  const role = values.role;
  if (!role || !(API_ROLES as readonly string[]).includes(role)) throw new ApiTokenCommandError(`--role must be one of ${API_ROLES.join(', ')}`);
  if (role === 'creator' && !values.creator) throw new ApiTokenCommandError('a creator token needs --creator <creator id>');
  if (role !== 'creator' && values.creator) throw new ApiTokenCommandError('--creator applies to creator tokens only');
  for (const [flag, value] of [['--creator', values.creator], ['--sub', values.sub]] as const) {
    if (value !== undefined && !idValidator.check(value)) throw new ApiTokenCommandError(`${flag} must be 1–128 letters, digits or ._:@/+=-`);
  }
  const ttlSeconds = Number(values.ttl);
  const maxSeconds = auth.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > maxSeconds) {
    throw new ApiTokenCommandError(`--ttl must be whole seconds between 1 and ${maxSeconds} (LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS)`);
  }
  return mintApiToken({ secret: signing.secret, sub: values.sub ?? `dev-${role}`, role: role as ApiRole, creatorId: values.creator, ttlSeconds });
}
