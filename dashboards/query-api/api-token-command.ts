import { CommandUsageError } from '../../core/command-usage-error.ts';
import { API_ROLES, mintApiToken, type ApiRole } from '../../core/http/api-auth.ts';
import { tokenSigningSecret, type Config } from '../../core/config.ts';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from '../../core/http/jwt-verifier.ts';
import { Id } from '../../core/schemas/common.ts';
import { createValidator } from '../../core/schemas/validate.ts';

/** `livepulse api-token`'s options as the command line gives them (app/cli/program.ts). */
export interface ApiTokenOptions {
  role?: string;
  creator?: string;
  sub?: string;
  /** Whole seconds, as typed. */
  ttl: string;
}

export class ApiTokenCommandError extends CommandUsageError {
  constructor(message: string) {
    super(message);
    this.name = 'ApiTokenCommandError';
  }
}

const idValidator = createValidator(Id('id'));

/** `livepulse api-token …`: prints a signed API token for development and tests. */
export async function mintApiTokenFromOptions(
  values: ApiTokenOptions,
  auth: Pick<Config['auth'], 'jwtSecret' | 'jwksUrl'> &
    Partial<Pick<Config['auth'], 'randomSecrets' | 'maxTokenLifetimeSeconds'>>,
): Promise<string> {
  const signing = tokenSigningSecret(auth);
  if ('problem' in signing) throw new ApiTokenCommandError(signing.problem);
  const role = values.role;
  if (!role || !(API_ROLES as readonly string[]).includes(role))
    throw new ApiTokenCommandError(`--role must be one of ${API_ROLES.join(', ')}`);
  if (role === 'creator' && !values.creator)
    throw new ApiTokenCommandError('a creator token needs --creator <creator id>');
  if (role !== 'creator' && values.creator) throw new ApiTokenCommandError('--creator applies to creator tokens only');
  for (const [flag, value] of [
    ['--creator', values.creator],
    ['--sub', values.sub],
  ] as const) {
    if (value !== undefined && !idValidator.check(value))
      throw new ApiTokenCommandError(`${flag} must be 1–128 letters, digits or ._:@/+=-`);
  }
  const ttlSeconds = Number(values.ttl);
  const maxSeconds = auth.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > maxSeconds) {
    throw new ApiTokenCommandError(
      `--ttl must be whole seconds between 1 and ${maxSeconds} (LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS)`,
    );
  }
  return mintApiToken({
    secret: signing.secret,
    sub: values.sub ?? `dev-${role}`,
    role: role as ApiRole,
    creatorId: values.creator,
    ttlSeconds,
  });
}
