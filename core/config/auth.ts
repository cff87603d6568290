import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { configSection, optionalString, url, whenUnset } from './fields.ts';

/**
 * Credentials: write keys, token secrets and the IVS webhook secret. Which of them a process needs,
 * and which development values it may fall back to, depends on the mode (distributed or
 * embedded), so `resolveAuth` turns them into `Config['auth']` once every section is read.
 */

const DEV_WRITE_KEY = 'lp_dev_write_key';
const DEV_JWT_SECRET = 'livepulse-dev-only-jwt-secret-do-not-use-in-production';
const DEV_IVS_WEBHOOK_SECRET = 'livepulse-dev-only-ivs-webhook-secret';
/** infra/deploy/.env.example's placeholders ("replace every change-me value"): as public as the development values. */
const PLACEHOLDER = /^change-me/;
const DEVELOPMENT_OR_RANDOM = 'embedded: a development secret, or a random one once other credentials are set';

/** Shared with the collector, which keys its client-IP hash with it. */
export const ipHashSecretVariable = whenUnset(
  optionalString.describe(
    'keys the hash that is all the collector keeps of a client IP (≥ 16 characters); set it so hashes agree across instances and restarts',
  ),
  'a random secret per process',
);

export const authSection = configSection({
  variables: z.object({
    LIVEPULSE_WRITE_KEYS: whenUnset(
      optionalString.describe(
        'collector write keys, comma-separated, each `property:key` (or `key` for property `default`); keys ≥ 16 characters',
      ),
      `embedded: \`demo:${DEV_WRITE_KEY}\``,
    ),
    LIVEPULSE_JWT_SECRET: whenUnset(
      optionalString.describe('HS256 secret (≥ 32 characters) for chat and API tokens'),
      DEVELOPMENT_OR_RANDOM,
    ),
    LIVEPULSE_JWKS_URL: url(['https:', 'http:'])
      .optional()
      .describe('verify tokens against a JWKS endpoint instead of a shared secret'),
    LIVEPULSE_WRITE_KEY_ORIGINS: whenUnset(
      optionalString.describe(
        'browser origins allowed per property, `;`-separated entries of `property=origin[,origin]` (`https://*.example` and `*` allowed); each property must have a write key',
      ),
      '— (any origin)',
    ),
    LIVEPULSE_IVS_WEBHOOK_SECRET: whenUnset(
      optionalString.describe(
        "shared secret EventBridge's API destination sends as `x-livepulse-ivs-secret` to `/v1/ivs/events`",
      ),
      DEVELOPMENT_OR_RANDOM,
    ),
    LIVEPULSE_IP_HASH_SECRET: ipHashSecretVariable,
    LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(31_536_000)
      .default(86_400)
      .describe(
        'longest lifetime accepted for chat and API tokens, from `iat` (or from now, without one) to `exp`, 60 s to a year; a longer-lived token is refused (`token_lifetime_too_long` on the chat socket, 401 on HTTP) even when correctly signed, and `livepulse token` / `livepulse api-token` refuse a longer `--ttl`',
      ),
  }),
  rules: (e) =>
    e.LIVEPULSE_IP_HASH_SECRET && e.LIVEPULSE_IP_HASH_SECRET.length < 16
      ? ['LIVEPULSE_IP_HASH_SECRET: must be at least 16 characters']
      : [],
  // The credentials need the mode, which the other sections decide: see resolveAuth.
  toConfig: (e) => e,
});

type AuthVariables = ReturnType<typeof authSection.toConfig>;

export interface WriteKey {
  key: string;
  propertyId: string;
}

/**
 * `property=origin,origin;property=*`: the browser origins allowed per property. An origin is
 * `scheme://host[:port]`, `scheme://*.domain` for any subdomain, or `*` for any origin.
 */
const ORIGIN_PATTERN = /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/;
function parseWriteKeyOrigins(raw: string, writeKeys: WriteKey[], problems: string[]): Record<string, string[]> {
  // No prototype: a property may be called `constructor` or `__proto__`.
  const origins = Object.create(null) as Record<string, string[]>;
  for (const entry of raw
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const equals = entry.indexOf('=');
    const propertyId = equals === -1 ? '' : entry.slice(0, equals).trim();
    if (!propertyId) {
      problems.push(`LIVEPULSE_WRITE_KEY_ORIGINS: "${entry}" must be property=origin[,origin]`);
      continue;
    }
    if (!writeKeys.some((wk) => wk.propertyId === propertyId)) {
      problems.push(`LIVEPULSE_WRITE_KEY_ORIGINS: property "${propertyId}" has no write key in LIVEPULSE_WRITE_KEYS`);
    }
    const list = entry
      .slice(equals + 1)
      .split(',')
      .map((o) => o.trim().replace(/\/$/, ''))
      .filter(Boolean);
    if (list.length === 0) problems.push(`LIVEPULSE_WRITE_KEY_ORIGINS: property "${propertyId}" lists no origin`);
    for (const origin of list) {
      if (origin !== '*' && !ORIGIN_PATTERN.test(origin)) {
        problems.push(
          `LIVEPULSE_WRITE_KEY_ORIGINS: "${origin}" (property "${propertyId}") is not an origin like https://app.example or https://*.example`,
        );
      }
    }
    origins[propertyId] = list.map((o) => o.toLowerCase());
  }
  return origins;
}

/** `key` alone (property "default") or `property:key`, comma-separated. */
function parseWriteKeys(raw: string): WriteKey[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      return colon === -1
        ? { key: entry, propertyId: 'default' }
        : { propertyId: entry.slice(0, colon).trim(), key: entry.slice(colon + 1).trim() };
    });
}

interface Credentials {
  writeKeys: WriteKey[];
  jwtSecret?: string;
  ivsWebhookSecret: string;
  developmentCredentials: string[];
  randomSecrets: string[];
}

/**
 * The credentials, checked. Distributed mode requires real ones and refuses the published
 * development values even when they are set explicitly. Embedded mode fills in the development
 * JWT and IVS webhook secrets only for a development run, one where no credential of the
 * operator's own is set: once a real write key, JWT secret, JWKS URL, IVS webhook secret or IP
 * hash secret is set, a missing JWT or IVS webhook secret becomes a random per-process one, which
 * nobody outside can match (every token, every webhook delivery is refused), rather than the
 * public development secret anyone could sign admin tokens with.
 */
function resolveCredentials(e: AuthVariables, distributed: boolean, problems: string[]): Credentials {
  const developmentCredentials: string[] = [];
  const randomSecrets: string[] = [];
  const published = (variable: string, value: string) => {
    if (distributed)
      problems.push(`${variable}: is the published development value; distributed mode needs one of your own`);
    else developmentCredentials.push(`${variable}=${value}`);
  };
  const placeholder = (variable: string, value: string | undefined) => {
    if (distributed && value !== undefined && PLACEHOLDER.test(value))
      problems.push(
        `${variable}: still a change-me placeholder from .env.example; replace it (e.g. openssl rand -hex 32)`,
      );
  };

  let writeKeys: WriteKey[] = [];
  if (e.LIVEPULSE_WRITE_KEYS) {
    writeKeys = parseWriteKeys(e.LIVEPULSE_WRITE_KEYS);
    for (const wk of writeKeys) {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(wk.propertyId))
        problems.push(`LIVEPULSE_WRITE_KEYS: property id "${wk.propertyId}" must be 1–64 letters, digits, . _ -`);
      if (wk.key.length < 16)
        problems.push(`LIVEPULSE_WRITE_KEYS: the key for property "${wk.propertyId}" is shorter than 16 characters`);
      if (wk.key === DEV_WRITE_KEY) published('LIVEPULSE_WRITE_KEYS', `${wk.propertyId}:${DEV_WRITE_KEY}`);
      placeholder('LIVEPULSE_WRITE_KEYS', wk.key);
    }
  } else if (distributed) {
    problems.push('LIVEPULSE_WRITE_KEYS: required in distributed mode (comma-separated, `property:key`)');
  } else {
    writeKeys = [{ key: DEV_WRITE_KEY, propertyId: 'demo' }];
    developmentCredentials.push(`LIVEPULSE_WRITE_KEYS=demo:${DEV_WRITE_KEY}`);
  }

  // Decided before any development value is filled in: only the operator's own values count.
  const realCredentialSet =
    writeKeys.some((wk) => wk.key !== DEV_WRITE_KEY) ||
    [e.LIVEPULSE_JWT_SECRET, e.LIVEPULSE_IVS_WEBHOOK_SECRET].some(
      (secret) => secret !== undefined && secret !== DEV_JWT_SECRET && secret !== DEV_IVS_WEBHOOK_SECRET,
    ) ||
    e.LIVEPULSE_JWKS_URL !== undefined ||
    e.LIVEPULSE_IP_HASH_SECRET !== undefined;
  /** Distributed mode's problem, a random secret once real credentials are set, or else the development value. */
  const missingSecret = (variable: string, developmentValue: string, problem: string): string | undefined => {
    if (distributed) {
      problems.push(problem);
      return undefined;
    }
    if (realCredentialSet) {
      randomSecrets.push(variable);
      return randomBytes(32).toString('base64url');
    }
    developmentCredentials.push(`${variable}=${developmentValue}`);
    return developmentValue;
  };

  let jwtSecret = e.LIVEPULSE_JWT_SECRET;
  if (jwtSecret && jwtSecret.length < 32) problems.push('LIVEPULSE_JWT_SECRET: must be at least 32 characters');
  if (jwtSecret === DEV_JWT_SECRET) published('LIVEPULSE_JWT_SECRET', DEV_JWT_SECRET);
  placeholder('LIVEPULSE_JWT_SECRET', jwtSecret);
  if (!jwtSecret && !e.LIVEPULSE_JWKS_URL) {
    jwtSecret = missingSecret(
      'LIVEPULSE_JWT_SECRET',
      DEV_JWT_SECRET,
      'LIVEPULSE_JWT_SECRET or LIVEPULSE_JWKS_URL: one is required in distributed mode',
    );
  }

  let ivsWebhookSecret = e.LIVEPULSE_IVS_WEBHOOK_SECRET;
  if (ivsWebhookSecret && ivsWebhookSecret.length < 16)
    problems.push('LIVEPULSE_IVS_WEBHOOK_SECRET: must be at least 16 characters');
  if (ivsWebhookSecret === DEV_IVS_WEBHOOK_SECRET) published('LIVEPULSE_IVS_WEBHOOK_SECRET', DEV_IVS_WEBHOOK_SECRET);
  placeholder('LIVEPULSE_IVS_WEBHOOK_SECRET', ivsWebhookSecret);
  placeholder('LIVEPULSE_IP_HASH_SECRET', e.LIVEPULSE_IP_HASH_SECRET);
  if (!ivsWebhookSecret) {
    ivsWebhookSecret = missingSecret(
      'LIVEPULSE_IVS_WEBHOOK_SECRET',
      DEV_IVS_WEBHOOK_SECRET,
      'LIVEPULSE_IVS_WEBHOOK_SECRET: required in distributed mode (the header value of the EventBridge API destination)',
    );
  }
  // Unset only in distributed mode, where a problem is recorded and loadConfig throws.
  return { writeKeys, jwtSecret, ivsWebhookSecret: ivsWebhookSecret ?? '', developmentCredentials, randomSecrets };
}

/** `Config['auth']`: the credentials checked for the mode, and the browser origins per property. */
export function resolveAuth(e: AuthVariables, distributed: boolean, problems: string[]) {
  const { writeKeys, jwtSecret, ivsWebhookSecret, developmentCredentials, randomSecrets } = resolveCredentials(
    e,
    distributed,
    problems,
  );
  return {
    writeKeys,
    jwtSecret,
    jwksUrl: e.LIVEPULSE_JWKS_URL,
    /** Browser origins allowed to use each property's write keys; a property not listed accepts any origin. */
    writeKeyOrigins: e.LIVEPULSE_WRITE_KEY_ORIGINS
      ? parseWriteKeyOrigins(e.LIVEPULSE_WRITE_KEY_ORIGINS, writeKeys, problems)
      : {},
    /** Shared secret EventBridge sends (API destination header) with IVS state-change events. */
    ivsWebhookSecret,
    /** The credentials that are published development values, as NAME=value (embedded mode only). */
    developmentCredentials,
    /**
     * Secrets neither set nor given development values, because other credentials are set: a
     * random per-process value stands in, so nothing from outside can match it.
     */
    randomSecrets,
    /** Chat and API tokens living longer than this (`iat` or now to `exp`) are refused. */
    maxTokenLifetimeSeconds: e.LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS,
  };
}

/**
 * The secret this process signs tokens with (`livepulse token`, `livepulse api-token`), or why it
 * cannot sign tokens a server would accept: none is set, tokens come from a JWKS identity
 * provider, or a random per-process secret stands in, which no other process shares.
 */
export function tokenSigningSecret(auth: {
  jwtSecret?: string;
  jwksUrl?: string;
  randomSecrets?: string[];
}): { secret: string } | { problem: string } {
  if (auth.jwtSecret && auth.randomSecrets?.includes('LIVEPULSE_JWT_SECRET')) {
    return {
      problem:
        'LIVEPULSE_JWT_SECRET is not set, and other credentials are, so the server signs with a random secret of its own: set LIVEPULSE_JWT_SECRET for the server and for this command',
    };
  }
  if (auth.jwtSecret) return { secret: auth.jwtSecret };
  if (auth.jwksUrl)
    return {
      problem:
        'this server verifies tokens with LIVEPULSE_JWKS_URL: get tokens from that identity provider (minting needs LIVEPULSE_JWT_SECRET)',
    };
  return { problem: 'minting needs LIVEPULSE_JWT_SECRET' };
}
