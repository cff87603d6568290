import { Type, type Static } from '@sinclair/typebox';
import type { ApiIdentity } from '../http/api-auth.ts';
import { EpochMs, Id } from '../schemas/common.ts';

/**
 * Who owns a stream, and what follows from it. Ownership comes from trusted sources only: the IVS
 * control plane (a channel's `livepulse:creator_id` tag, read when its EventBridge Stream Start
 * arrives) and the stream registry's API, where a creator's or an admin's token registers a
 * stream. A player event's `creator_id` is a hint and never decides anything here: write keys
 * ship in web pages, so anybody can send any event. Pure, so the rules are table-tested.
 */

export const OWNER_SOURCES = ['api', 'ivs'] as const;
export type OwnerSource = (typeof OWNER_SOURCES)[number];

/** A stream's registered owner: a row of `stream_owners`, an entry of the live-state cache, an API answer. */
export const StreamOwner = Type.Object(
  {
    stream_id: Id('Stream id'),
    creator_id: Id('Creator who owns the stream'),
    source: Type.Union(
      OWNER_SOURCES.map((s) => Type.Literal(s)),
      { description: "api: registered with a token; ivs: its IVS channel's livepulse:creator_id tag" },
    ),
    channel_arn: Type.String({
      maxLength: 2048,
      description: 'The IVS channel whose tag named the creator; empty for API registrations',
    }),
    registered_by: Type.String({ maxLength: 128, description: "The registering token's subject, or ivs" }),
    registered_at: EpochMs('When it was registered'),
  },
  { additionalProperties: false },
);
export type StreamOwner = Static<typeof StreamOwner>;

/** IVS stream ids (`st-` and alphanumerics): their owner is their channel's tag, never an API claim. */
const IVS_STREAM_ID = /^st-[A-Za-z0-9]+$/;
export const isIvsStreamId = (streamId: string): boolean => IVS_STREAM_ID.test(streamId);

/** A refusal with the HTTP status and code the API answers. */
export interface Refusal {
  statusCode: 403 | 404 | 409;
  code: string;
  message: string;
}

export type StreamAccess = { kind: 'allowed' } | ({ kind: 'refused' } & Refusal);

const refused = (statusCode: Refusal['statusCode'], code: string, message: string): StreamAccess => ({
  kind: 'refused',
  statusCode,
  code,
  message,
});

/**
 * Whether the identity may read a stream whose registered owner is `owner` (null: unregistered).
 * Admins read everything; analysts every registered stream; a creator only the streams registered
 * to it. An unregistered stream's data may carry any creator hint, so only admins see it.
 */
export function decideStreamAccess(
  identity: ApiIdentity,
  streamId: string,
  owner: Pick<StreamOwner, 'creator_id'> | null,
): StreamAccess {
  if (identity.role === 'admin') return { kind: 'allowed' };
  if (owner === null) {
    return identity.role === 'analyst'
      ? refused(
          403,
          'unregistered_stream',
          `stream ${streamId} is not registered to any creator; only admins may read it`,
        )
      : refused(404, 'not_found', `no stream ${streamId} is registered to creator ${identity.creatorId ?? '(none)'}`);
  }
  if (identity.role === 'analyst' || identity.creatorId === owner.creator_id) return { kind: 'allowed' };
  return refused(
    403,
    'forbidden',
    `this token may read creator ${identity.creatorId ?? '(none)'}'s streams only, and stream ${streamId} is registered to another creator`,
  );
}

/** A request to own a stream: through the API (a token) or from the IVS control plane. */
export type OwnershipClaim =
  | { source: 'api'; streamId: string; creatorId: string; identity: ApiIdentity; reassign: boolean }
  | { source: 'ivs'; streamId: string; creatorId: string; channelArn: string };

export type RegistrationDecision =
  /** Write this owner (a first registration, a reassignment, or IVS's word). */
  | { kind: 'write'; owner: Omit<StreamOwner, 'registered_at'>; reassigned: boolean }
  /** Already owned exactly so: nothing to write (a retried registration is not an error). */
  | { kind: 'unchanged'; owner: StreamOwner }
  | ({ kind: 'refused' } & Refusal);

/**
 * What a claim does given the stream's current owner. First registration wins: registering a
 * stream another creator owns is refused (409), and only an admin may reassign one. IVS streams
 * are owned by their channel's tag: the control plane's word replaces any other, and the API
 * refuses to register an IVS stream id for a creator, so nobody can claim a channel's stream
 * before its Stream Start event arrives.
 */
export function decideRegistration(current: StreamOwner | null, claim: OwnershipClaim): RegistrationDecision {
  if (claim.source === 'ivs') {
    if (current?.source === 'ivs' && current.creator_id === claim.creatorId && current.channel_arn === claim.channelArn)
      return { kind: 'unchanged', owner: current };
    const owner = {
      stream_id: claim.streamId,
      creator_id: claim.creatorId,
      source: 'ivs' as const,
      channel_arn: claim.channelArn,
      registered_by: 'ivs',
    };
    return { kind: 'write', owner, reassigned: current !== null && current.creator_id !== claim.creatorId };
  }
  const { identity, streamId, creatorId } = claim;
  if (identity.role === 'analyst')
    return {
      kind: 'refused',
      statusCode: 403,
      code: 'forbidden',
      message: 'analyst tokens are read-only; a creator or an admin registers streams',
    };
  if (identity.role === 'creator' && identity.creatorId !== creatorId) {
    return {
      kind: 'refused',
      statusCode: 403,
      code: 'forbidden',
      message: `this token may register streams for creator ${identity.creatorId ?? '(none)'} only, not ${creatorId}`,
    };
  }
  if (claim.reassign && identity.role !== 'admin')
    return { kind: 'refused', statusCode: 403, code: 'forbidden', message: 'only an admin may reassign a stream' };
  if (identity.role !== 'admin' && isIvsStreamId(streamId)) {
    return {
      kind: 'refused',
      statusCode: 409,
      code: 'ivs_stream',
      message: `stream ${streamId} is an IVS stream: its owner is its channel's livepulse:creator_id tag`,
    };
  }
  if (current?.creator_id === creatorId) return { kind: 'unchanged', owner: current };
  if (current !== null && !claim.reassign) {
    return {
      kind: 'refused',
      statusCode: 409,
      code: 'stream_owned',
      message: `stream ${streamId} is already registered to another creator; an admin may reassign it`,
    };
  }
  const owner = {
    stream_id: streamId,
    creator_id: creatorId,
    source: 'api' as const,
    channel_arn: '',
    registered_by: identity.userId,
  };
  return { kind: 'write', owner, reassigned: current !== null };
}
