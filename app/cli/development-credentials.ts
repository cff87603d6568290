import type { Config } from '../../core/config.ts';
import { mintApiToken } from '../../core/http/api-auth.ts';
import type { Logger } from '../../core/logger.ts';

/** The live board URL's development admin token lasts a working day. */
const LIVE_BOARD_TOKEN_TTL_SECONDS = 12 * 3_600;

/** The banner of the public development credentials in use, or nothing when none is. */
export function developmentCredentialsBanner(credentials: string[], liveBoardUrl?: string): string | undefined {
  if (credentials.length === 0) return undefined;
  return [
    '',
    '================ DEVELOPMENT CREDENTIALS (embedded mode only) ================',
    ...credentials.map((credential) => `  ${credential}`),
    ...(liveBoardUrl ? ['  live board as a development admin (12 h):', `  ${liveBoardUrl}`] : []),
    '  These are public defaults. Set real values before exposing this server;',
    '  distributed mode refuses to start without them.',
    '==============================================================================',
  ].join('\n');
}

/**
 * Logs the banner once, as a warning (so LOG_LEVEL=error hides it), after the platform listens:
 * with the development JWT secret and the live board running, it carries a ready-to-open
 * `/live?token=` URL.
 */
export async function logDevelopmentCredentials(
  config: Config,
  logger: Logger,
  { url, liveBoard }: { url: string; liveBoard: boolean },
): Promise<void> {
  const credentials = config.auth.developmentCredentials;
  const developmentJwt = credentials.some((credential) => credential.startsWith('LIVEPULSE_JWT_SECRET='))
    ? config.auth.jwtSecret
    : undefined;
  const token =
    liveBoard && developmentJwt
      ? await mintApiToken({
          secret: developmentJwt,
          sub: 'development-admin',
          role: 'admin',
          ttlSeconds: LIVE_BOARD_TOKEN_TTL_SECONDS,
        })
      : undefined;
  const banner = developmentCredentialsBanner(credentials, token && `${url}/live?token=${token}`);
  if (banner) logger.warn({ credentials: credentials.map((credential) => credential.split('=')[0]) }, banner);
}
