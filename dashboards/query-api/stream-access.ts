import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import type { FastifyRequest } from 'fastify';
import { ApiAuthError, mayReadCreator, type ApiIdentity } from '../../core/http/api-auth.ts';
import { streamOwners, type CreatorStream } from '../../stream-processors/viewer-analytics/metric-queries.ts';

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

/**
 * Which of a stream's owners the caller means, and whether they may read it: 404 when no creator
 * has the stream, 409 when two properties use its id and none was named, 403 when a creator token
 * asks for another creator's stream. Pure over the owner rows, so the rules are table-tested.
 */
export function chooseReadableStream(identity: ApiIdentity, streamId: string, owners: CreatorStream[], property?: string): CreatorStream {
  const candidates = property === undefined ? owners : owners.filter((o) => o.property_id === property);
  if (candidates.length === 0) throw new QueryApiError(404, 'not_found', `no stream ${streamId}${property === undefined ? '' : ` in property ${property}`} has viewer data`);
  if (candidates.length > 1) {
    const properties = [...new Set(candidates.map((c) => c.property_id))];
    if (properties.length > 1) throw new QueryApiError(409, 'ambiguous_stream', `stream ${streamId} exists in properties ${properties.join(', ')}; name one with ?property=`);
  }
  const readable = candidates.find((c) => mayReadCreator(identity, c.creator_id));
  if (!readable) throw new QueryApiError(403, 'forbidden', `this token may read creator ${identity.creatorId ?? '(none)'} only, and stream ${streamId} is not theirs`);
  return readable;
}

export async function readableStream(store: AnalyticsStore, identity: ApiIdentity, streamId: string, property?: string): Promise<CreatorStream> {
  return chooseReadableStream(identity, streamId, await streamOwners(store, streamId), property);
}

/** The identity the query API's onRequest hook set; every route runs behind that hook. */
export function identityOf(request: FastifyRequest): ApiIdentity {
  if (!request.apiIdentity) throw new ApiAuthError(401, 'no API identity on the request');
  return request.apiIdentity;
}
