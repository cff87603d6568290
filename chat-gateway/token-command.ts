import { CommandUsageError } from '../core/command-usage-error.ts';
import { tokenSigningSecret, type Config } from '../core/config.ts';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from '../core/http/jwt-verifier.ts';
import { CHAT_ROLES, mintChatToken, type ChatRole } from '../core/chat/chat-token.ts';

/** `livepulse token`'s options as the command line gives them (app/cli/program.ts). */
export interface TokenOptions {
  sub?: string;
  name?: string;
  /** `<stream>=<role>`, repeatable. */
  role?: string[];
  /** Whole seconds, as typed. */
  ttl: string;
  /** `<stream>=<ISO date or epoch seconds>`. */
  follow?: string[];
  subscriber?: string[];
}

export class TokenCommandError extends CommandUsageError {
  constructor(message: string) {
    super(message);
    this.name = 'TokenCommandError';
  }
}

function pairs(values: string[] | undefined, what: string): Array<[string, string]> {
  return (values ?? []).map((value) => {
    const at = value.lastIndexOf('=');
    if (at <= 0 || at === value.length - 1)
      throw new TokenCommandError(`--${what} must look like <stream>=<value>, got ${JSON.stringify(value)}`);
    return [value.slice(0, at), value.slice(at + 1)];
  });
}

function epochSeconds(value: string): number {
  const seconds = /^\d+$/.test(value) ? Number(value) : Date.parse(value) / 1_000;
  if (!Number.isFinite(seconds))
    throw new TokenCommandError(`--follow needs an ISO date or epoch seconds, got ${JSON.stringify(value)}`);
  return Math.floor(seconds);
}

/** `livepulse token …`: prints a signed chat token for development and tests. */
export async function mintTokenFromOptions(
  values: TokenOptions,
  auth: Pick<Config['auth'], 'jwtSecret'> &
    Partial<Pick<Config['auth'], 'jwksUrl' | 'randomSecrets' | 'maxTokenLifetimeSeconds'>>,
): Promise<string> {
  const signing = tokenSigningSecret(auth);
  if ('problem' in signing) throw new TokenCommandError(signing.problem);
  if (!values.sub) throw new TokenCommandError('--sub is required');
  const rolePairs = pairs(values.role, 'role');
  for (const [, role] of rolePairs) {
    if (!(CHAT_ROLES as readonly string[]).includes(role))
      throw new TokenCommandError(`unknown role ${JSON.stringify(role)}`);
  }
  // Object.fromEntries defines own properties: a stream called `__proto__` keeps its role.
  const roles = Object.fromEntries(rolePairs) as Record<string, ChatRole>;
  const ttlSeconds = Number(values.ttl);
  const maxSeconds = auth.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > maxSeconds) {
    throw new TokenCommandError(
      `--ttl must be whole seconds between 1 and ${maxSeconds} (LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS)`,
    );
  }
  const follows = Object.fromEntries(
    pairs(values.follow, 'follow').map(([stream, when]) => [stream, epochSeconds(when)]),
  );
  return mintChatToken({
    secret: signing.secret,
    sub: values.sub,
    name: values.name ?? values.sub,
    roles,
    ttlSeconds,
    ...(Object.keys(follows).length > 0 && { follows }),
    ...(values.subscriber?.length && { subscriptions: values.subscriber }),
  });
}
