import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/**
 * The one place tokens' signatures are checked, for chat tokens and API tokens alike: HS256 with
 * the shared secret, or else any asymmetric algorithm with a key from the identity provider's
 * JWKS. `exp` and `sub` are always required, and no token may live longer than the configured
 * cap (`LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS`): a correctly signed `exp: 1e20` is a key that
 * never expires. Callers map jose's errors and TokenLifetimeError onto their own.
 */

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8_192;
/** The default cap on a token's lifetime: a day. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;
/** Clocks of the issuer and this server may disagree by this much. */
const CLOCK_SKEW_SECONDS = 60;
const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

export interface JwtVerifierSettings {
  jwtSecret?: string;
  jwksUrl?: string;
  /** Longest lifetime accepted, from `iat` (or from now, without one) to `exp`. */
  maxTokenLifetimeSeconds?: number;
}

/** A correctly signed token that lives longer than this server accepts. */
export class TokenLifetimeError extends Error {
  constructor(
    readonly lifetimeSeconds: number,
    readonly maxSeconds: number,
  ) {
    super(
      `token lives ${lifetimeSeconds} s; this server accepts tokens of at most ${maxSeconds} s (LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS): ask the issuer for a shorter-lived one`,
    );
    this.name = 'TokenLifetimeError';
  }
}

/**
 * Throws TokenLifetimeError when `exp` is more than `maxSeconds` after `iat`, or (whatever `iat`
 * says, since the issuer could back-date it or leave it out) more than `maxSeconds` from now.
 */
export function assertTokenLifetime(
  payload: Pick<JWTPayload, 'exp' | 'iat'>,
  maxSeconds: number,
  nowSeconds: number,
): void {
  if (payload.exp === undefined) return;
  const fromIssue = payload.iat === undefined ? 0 : payload.exp - payload.iat;
  const fromNow = payload.exp - nowSeconds;
  if (fromIssue > maxSeconds) throw new TokenLifetimeError(fromIssue, maxSeconds);
  if (fromNow > maxSeconds + CLOCK_SKEW_SECONDS) throw new TokenLifetimeError(fromNow, maxSeconds);
}

export function createJwtVerifier(auth: JwtVerifierSettings, what: string): (token: string) => Promise<JWTPayload> {
  const maxSeconds = auth.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  const withinLifetime = (payload: JWTPayload) => {
    assertTokenLifetime(payload, maxSeconds, Math.floor(Date.now() / 1_000));
    return payload;
  };
  if (auth.jwtSecret) {
    const secret = new TextEncoder().encode(auth.jwtSecret);
    return async (token) =>
      withinLifetime(
        (await jwtVerify(token, secret, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] })).payload,
      );
  }
  if (auth.jwksUrl) {
    const keys = createRemoteJWKSet(new URL(auth.jwksUrl));
    return async (token) =>
      withinLifetime(
        (await jwtVerify(token, keys, { algorithms: ASYMMETRIC_ALGORITHMS, requiredClaims: ['exp', 'sub'] })).payload,
      );
  }
  throw new Error(`${what} need LIVEPULSE_JWT_SECRET or LIVEPULSE_JWKS_URL`);
}
