import { Type, type Static } from '@sinclair/typebox';
import { errors as joseErrors, SignJWT, type JWTPayload } from 'jose';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Id } from '../schemas/common.ts';
import { createValidator } from '../schemas/validate.ts';
import { createJwtVerifier, MAX_TOKEN_LENGTH, TokenLifetimeError, type JwtVerifierSettings } from './jwt-verifier.ts';

/**
 * Who may read analytics: the query API, the live board and creator reports take a JWT
 * (`Authorization: Bearer`, or `?token=` where a browser cannot set headers: EventSource, links
 * to downloads) signed with the same key as chat tokens. `role` is `admin` (everything),
 * `analyst` (the content team: every stream and creator, read-only) or `creator` (only the
 * streams whose `creator_id` is the token's `creator_id` claim).
 */

export const API_ROLES = ['admin', 'analyst', 'creator'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export const ApiTokenClaims = Type.Object(
  {
    sub: Id('User id'),
    role: Type.Union(API_ROLES.map((r) => Type.Literal(r))),
    creator_id: Type.Optional(Id('Creator the token is scoped to (required for role creator)')),
    exp: Type.Integer({ description: 'Required: API tokens always expire' }),
  },
  { additionalProperties: true },
);
export type ApiTokenClaims = Static<typeof ApiTokenClaims>;
const claimsValidator = createValidator(ApiTokenClaims);

export interface ApiIdentity {
  userId: string;
  role: ApiRole;
  /** Set for creators: the only creator whose data they may read. */
  creatorId?: string;
}

export class ApiAuthError extends Error {
  constructor(
    readonly statusCode: 401 | 403,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiAuthError';
  }
}

export interface ApiTokenVerifier {
  verify(token: unknown): Promise<ApiIdentity>;
}

export function createApiTokenVerifier(auth: JwtVerifierSettings): ApiTokenVerifier {
  const verifyJwt = createJwtVerifier(auth, 'API tokens');
  return {
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new ApiAuthError(401, `a bearer token of at most ${MAX_TOKEN_LENGTH} characters is required`);
      }
      let payload: JWTPayload;
      try {
        payload = await verifyJwt(token);
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw new ApiAuthError(401, 'token has expired', { cause: error });
        if (error instanceof TokenLifetimeError) throw new ApiAuthError(401, error.message, { cause: error });
        if (error instanceof joseErrors.JOSEError)
          throw new ApiAuthError(401, `token rejected: ${error.code}`, { cause: error });
        throw error;
      }
      if (!claimsValidator.check(payload)) {
        const problems = claimsValidator
          .errors(payload, 3)
          .map((e) => `${e.path} ${e.message}`)
          .join('; ');
        throw new ApiAuthError(401, `token claims are invalid: ${problems}`);
      }
      if (payload.role === 'creator' && !payload.creator_id)
        throw new ApiAuthError(401, 'a creator token must carry a creator_id claim');
      return {
        userId: payload.sub,
        role: payload.role,
        creatorId: payload.role === 'creator' ? payload.creator_id : undefined,
      };
    },
  };
}

/** The token from `Authorization: Bearer …`, else from `?token=`. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) return /^Bearer\s+(.+)$/i.exec(header)?.[1];
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === 'string' ? query.token : undefined;
}

/** Whether the identity may read a creator's data. */
export function mayReadCreator(identity: ApiIdentity, creatorId: string): boolean {
  return identity.role !== 'creator' || identity.creatorId === creatorId;
}

/** Throws 403 unless the identity may read the creator's data. */
export function assertMayReadCreator(identity: ApiIdentity, creatorId: string): void {
  if (!mayReadCreator(identity, creatorId)) {
    throw new ApiAuthError(403, `this token may read creator ${identity.creatorId ?? '(none)'} only, not ${creatorId}`);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    apiIdentity?: ApiIdentity;
  }
}

/**
 * A fastify `onRequest` hook that authenticates the request and sets `request.apiIdentity`;
 * answers 401 `{error, message}` when the token is missing or invalid.
 */
export function requireApiIdentity(verifier: ApiTokenVerifier) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    try {
      request.apiIdentity = await verifier.verify(bearerToken(request));
    } catch (error) {
      if (!(error instanceof ApiAuthError)) throw error;
      await reply
        .code(error.statusCode)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: error.message });
    }
  };
}

export interface MintApiTokenOptions {
  secret: string;
  sub: string;
  role: ApiRole;
  creatorId?: string;
  ttlSeconds: number;
  issuedAt?: number;
}

/** Signs an HS256 API token (development and tests; production tokens come from the identity provider). */
export async function mintApiToken(options: MintApiTokenOptions): Promise<string> {
  const issuedAt = options.issuedAt ?? Math.floor(Date.now() / 1_000);
  const claims: Record<string, unknown> = { role: options.role };
  if (options.creatorId) claims.creator_id = options.creatorId;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + options.ttlSeconds)
    .sign(new TextEncoder().encode(options.secret));
}
