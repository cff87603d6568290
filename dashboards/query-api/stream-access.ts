import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import type { FastifyRequest } from 'fastify';
import { ApiAuthError, type ApiIdentity } from '../../core/http/api-auth.ts';
import { decideStreamAccess } from '../../core/streams/stream-ownership.ts';
import type { StreamRegistry } from '../../core/streams/stream-registry.ts';
import { liveStreamProperties, streamOwners, type CreatorStream } from '../../core/analytics/metric-queries.ts';

/** A refusal the query API answers as `{statusCode, error, message}`. */
export class QueryApiError extends Error {
  constructor(
    readonly statusCode: 400 | 403 | 404 | 409,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'QueryApiError';
  }
}

/** A stream the caller may read: which property's data to show, and its registered owner (null: unregistered, admins only). */
export interface ReadableStream {
  stream_id: string;
  property_id: string;
  creator_id: string | null;
}

/**
 * Which property's data the caller means: 404 when no property has viewer data for the stream,
 * 409 when two properties use its id and none was named. The rows' creator_id (a player's hint)
 * plays no part. Pure over the rows, so the rules are table-tested.
 */
export function chooseStreamProperty(
  streamId: string,
  rows: Pick<CreatorStream, 'property_id'>[],
  property?: string,
): string {
  const properties = [...new Set(rows.map((r) => r.property_id))].filter(
    (p) => property === undefined || p === property,
  );
  if (properties.length === 0)
    throw new QueryApiError(
      404,
      'not_found',
      `no stream ${streamId}${property === undefined ? '' : ` in property ${property}`} has viewer data`,
    );
  if (properties.length > 1)
    throw new QueryApiError(
      409,
      'ambiguous_stream',
      `stream ${streamId} exists in properties ${properties.join(', ')}; name one with ?property=`,
    );
  return properties[0]!;
}

/** Throws the registry's refusal (403 or 404) unless the identity may read the stream; resolves to its owner. */
export async function assertMayReadStream(
  registry: StreamRegistry,
  identity: ApiIdentity,
  streamId: string,
): Promise<string | null> {
  const owner = await registry.ownerOf(streamId);
  const access = decideStreamAccess(identity, streamId, owner);
  if (access.kind === 'refused') throw new QueryApiError(access.statusCode, access.code, access.message);
  return owner?.creator_id ?? null;
}

/**
 * Access from the registry first (so a refusal says nothing about the data), then the property
 * with data: from creator_streams, or, for a stream whose first window is not final yet, from its
 * live windows (a stream that just went live has figures at the live edge, not a 404).
 */
export async function readableStream(
  store: AnalyticsStore,
  registry: StreamRegistry,
  identity: ApiIdentity,
  streamId: string,
  property?: string,
): Promise<ReadableStream> {
  const creatorId = await assertMayReadStream(registry, identity, streamId);
  const owners = await streamOwners(store, streamId);
  const withData = owners.length > 0 ? owners : await liveStreamProperties(store, streamId);
  return {
    stream_id: streamId,
    property_id: chooseStreamProperty(streamId, withData, property),
    creator_id: creatorId,
  };
}

/** The identity the query API's onRequest hook set; every route runs behind that hook. */
export function identityOf(request: FastifyRequest): ApiIdentity {
  if (!request.apiIdentity) throw new ApiAuthError(401, 'no API identity on the request');
  return request.apiIdentity;
}
