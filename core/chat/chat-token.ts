import { Type, type Static } from '@sinclair/typebox';
import { errors as joseErrors, SignJWT, type JWTPayload } from 'jose';
import {
  createJwtVerifier,
  MAX_TOKEN_LENGTH,
  TokenLifetimeError,
  type JwtVerifierSettings,
} from '../http/jwt-verifier.ts';
import { ownValue, recordOf } from '../own-value.ts';
import { Id } from '../schemas/common.ts';
import { createValidator } from '../schemas/validate.ts';

/**
 * Chat identities: a JWT in the socket.io handshake (`auth: {token}`) or an HTTP
 * `Authorization: Bearer` header, signed with HS256 (a shared secret) or with a key from a JWKS
 * URL (the identity provider's). The token says who the user is (`sub`, `name`) and what they may
 * do per stream (`roles`: stream id → role, `*` for every stream). Optional `follows` and
 * `subscriptions` feed the followers-only and subscribers-only modes: the application that signs
 * tokens knows those relationships, so a signed claim is the hook.
 */

export const CHAT_ROLES = ['viewer', 'moderator', 'host', 'admin'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

const RoleSchema = Type.Union(CHAT_ROLES.map((r) => Type.Literal(r)));
const StreamKey = Type.String({ pattern: '^(\\*|[A-Za-z0-9._:@/+=-]{1,128})$' });

export const ChatTokenClaims = Type.Object(
  {
    sub: Id('User id'),
    name: Type.String({ minLength: 1, maxLength: 64 }),
    roles: Type.Record(StreamKey, RoleSchema, { maxProperties: 1_000, additionalProperties: false }),
    /** Stream id → when the user followed it, epoch seconds. */
    follows: Type.Optional(
      Type.Record(StreamKey, Type.Integer({ minimum: 0 }), { maxProperties: 1_000, additionalProperties: false }),
    ),
    subscriptions: Type.Optional(Type.Array(StreamKey, { maxItems: 1_000 })),
    exp: Type.Integer({ description: 'Required: chat tokens always expire' }),
  },
  { additionalProperties: true },
);
export type ChatTokenClaims = Static<typeof ChatTokenClaims>;
const claimsValidator = createValidator(ChatTokenClaims);

export interface ChatIdentity {
  userId: string;
  name: string;
  /** Stream id → role; a stream id is any client's choice, so read it with `roleOn` (own keys only). */
  roles: Readonly<Record<string, ChatRole>>;
  /** Stream id → follow time in epoch ms (no prototype: a stream named `constructor` is just a stream). */
  follows: Readonly<Record<string, number>>;
  subscriptions: ReadonlySet<string>;
  /** Epoch ms; anonymous identities never expire. */
  expiresAt: number;
  anonymous: boolean;
}

export type ChatTokenErrorReason = 'invalid_token' | 'expired_token' | 'token_lifetime_too_long' | 'invalid_claims';

export class ChatTokenError extends Error {
  constructor(
    readonly reason: ChatTokenErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ChatTokenError';
  }
}

export interface ChatTokenVerifier {
  verify(token: unknown): Promise<ChatIdentity>;
}

/** A verifier for the configured key (the HS256 secret, or else the JWKS URL) and lifetime cap. */
export function createChatTokenVerifier(auth: JwtVerifierSettings): ChatTokenVerifier {
  const verifyJwt = createJwtVerifier(auth, 'chat tokens');
  return {
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new ChatTokenError(
          'invalid_token',
          `token must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`,
        );
      }
      let payload: JWTPayload;
      try {
        payload = await verifyJwt(token);
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired)
          throw new ChatTokenError('expired_token', 'token has expired', { cause: error });
        if (error instanceof TokenLifetimeError)
          throw new ChatTokenError('token_lifetime_too_long', error.message, { cause: error });
        if (error instanceof joseErrors.JOSEError)
          throw new ChatTokenError('invalid_token', `token rejected: ${error.code}`, { cause: error });
        throw error;
      }
      if (!claimsValidator.check(payload)) {
        const problems = claimsValidator
          .errors(payload, 3)
          .map((e) => `${e.path} ${e.message}`)
          .join('; ');
        throw new ChatTokenError('invalid_claims', `token claims are invalid: ${problems}`);
      }
      return identityFromClaims(payload);
    },
  };
}

function identityFromClaims(claims: ChatTokenClaims): ChatIdentity {
  return {
    userId: claims.sub,
    name: claims.name,
    roles: recordOf(Object.entries(claims.roles)),
    follows: recordOf(Object.entries(claims.follows ?? {}).map(([stream, seconds]) => [stream, seconds * 1_000])),
    subscriptions: new Set(claims.subscriptions ?? []),
    expiresAt: claims.exp * 1_000,
    anonymous: false,
  };
}

export function anonymousIdentity(connectionId: string): ChatIdentity {
  return {
    userId: `anon:${connectionId}`,
    name: 'anonymous',
    roles: recordOf([]),
    follows: recordOf([]),
    subscriptions: new Set(),
    expiresAt: Infinity,
    anonymous: true,
  };
}

const RANK: Record<ChatRole, number> = { viewer: 0, moderator: 1, host: 2, admin: 3 };

export const roleRank = (role: ChatRole | null | undefined): number => (role == null ? -1 : RANK[role]);

/** The highest of some roles; null when there is none. */
export function highestRole(...roles: Array<ChatRole | null | undefined>): ChatRole | null {
  return roles.reduce<ChatRole | null>((best, role) => (roleRank(role) > roleRank(best) ? role! : best), null);
}

/** The user's role on a stream by their token: the higher of the stream's own entry and the `*` entry; null if neither. */
export function roleOn(identity: ChatIdentity, streamId: string): ChatRole | null {
  return highestRole(ownValue(identity.roles, streamId), ownValue(identity.roles, '*'));
}

/** Hosts, moderators and admins moderate; Twitch's broadcaster has every moderator power. */
export const canModerate = (role: ChatRole | null): boolean => roleRank(role) >= RANK.moderator;
/** AutoMod levels are the broadcaster's (and admins') to set. */
export const canConfigurePolicy = (role: ChatRole | null): boolean => roleRank(role) >= RANK.host;

export interface MintChatTokenOptions {
  secret: string;
  sub: string;
  name: string;
  roles: Record<string, ChatRole>;
  ttlSeconds: number;
  follows?: Record<string, number>;
  subscriptions?: string[];
  /** For tests of expiry; defaults to now. */
  issuedAt?: number;
}

/** Signs an HS256 chat token (development and tests; production tokens come from the identity provider). */
export async function mintChatToken(options: MintChatTokenOptions): Promise<string> {
  const issuedAt = options.issuedAt ?? Math.floor(Date.now() / 1_000);
  const claims: Record<string, unknown> = { name: options.name, roles: options.roles };
  if (options.follows) claims.follows = options.follows;
  if (options.subscriptions) claims.subscriptions = options.subscriptions;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + options.ttlSeconds)
    .sign(new TextEncoder().encode(options.secret));
}
