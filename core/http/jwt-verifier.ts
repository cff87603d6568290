import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/**
 * The one place tokens' signatures are checked, for chat tokens and API tokens alike: HS256 with
 * the shared secret, or else any asymmetric algorithm with a key from the identity provider's
 * JWKS. `exp` and `sub` are always required. Callers map jose's errors onto their own.
 */

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8_192;
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function createJwtVerifier(auth: { jwtSecret?: string; jwksUrl?: string }, what: string): (token: string) => Promise<JWTPayload> {
  if (auth.jwtSecret) {
    const secret = new TextEncoder().encode(auth.jwtSecret);
    return async (token) => (await jwtVerify(token, secret, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] })).payload;
  }
  if (auth.jwksUrl) {
    const keys = createRemoteJWKSet(new URL(auth.jwksUrl));
    return async (token) => (await jwtVerify(token, keys, { algorithms: ASYMMETRIC_ALGORITHMS, requiredClaims: ['exp', 'sub'] })).payload;
  }
  throw new Error(`${what} need LIVEPULSE_JWT_SECRET or LIVEPULSE_JWKS_URL`);
}
