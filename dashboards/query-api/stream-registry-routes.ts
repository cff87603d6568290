import type { FastifyInstance } from 'fastify';
import type { ApiIdentity } from '../../core/http/api-auth.ts';
import type { StreamRegistry } from '../../core/streams/stream-registry.ts';
import { ReassignStreamBody, RegisterStreamBody, StreamOwnerAnswer, StreamParams } from './query-schemas.ts';
import { assertMayReadStream, identityOf, QueryApiError } from './stream-access.ts';

/** The problem answers of the query API (query-routes.ts), passed in to keep the import one way. */
type Problems = Record<400 | 401 | 403 | 404 | 409, unknown>;

/** The creator a registration names: a creator token's own unless it says otherwise; an admin must say. */
function claimedCreator(identity: ApiIdentity, named: string | undefined): string {
  const creatorId = named ?? identity.creatorId;
  if (creatorId === undefined)
    throw new QueryApiError(400, 'invalid_request', "body/creator_id is required unless the token is a creator's");
  return creatorId;
}

/**
 * The stream registry's API (core/streams/): a creator registers its streams, an admin registers
 * them for creators and reassigns them. Registering a stream another creator owns is refused
 * with 409; IVS streams are registered by their channel's tag, not here (docs/query-api.md).
 */
export function streamRegistryRoutes(
  app: FastifyInstance,
  { registry, problems }: { registry: StreamRegistry; problems: Problems },
): Promise<void> {
  app.post<{ Body: RegisterStreamBody }>(
    '/streams',
    {
      schema: {
        summary:
          'Register a stream to a creator: first registration wins (201, or 200 when it already is so); 409 when another creator owns it',
        tags: ['streams'],
        body: RegisterStreamBody,
        response: { 200: StreamOwnerAnswer, 201: StreamOwnerAnswer, ...problems },
      },
    },
    async (request, reply) => {
      const identity = identityOf(request);
      const { stream_id: streamId, creator_id: named } = request.body;
      const outcome = await registry.register({
        source: 'api',
        streamId,
        creatorId: claimedCreator(identity, named),
        identity,
        reassign: false,
      });
      return reply.code(outcome.created ? 201 : 200).send(outcome.owner);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/streams/:id/owner',
    {
      schema: {
        summary: "A stream's registered owner (admins, analysts, and the owner itself)",
        tags: ['streams'],
        params: StreamParams,
        response: { 200: StreamOwnerAnswer, ...problems },
      },
    },
    async (request) => {
      const streamId = request.params.id;
      await assertMayReadStream(registry, identityOf(request), streamId);
      const owner = await registry.ownerOf(streamId);
      if (!owner) throw new QueryApiError(404, 'not_found', `stream ${streamId} is not registered`);
      return owner;
    },
  );

  app.put<{ Params: { id: string }; Body: ReassignStreamBody }>(
    '/streams/:id/owner',
    {
      schema: {
        summary: 'Reassign a stream to another creator (admins only)',
        tags: ['streams'],
        params: StreamParams,
        body: ReassignStreamBody,
        response: { 200: StreamOwnerAnswer, ...problems },
      },
    },
    async (request) => {
      const identity = identityOf(request);
      const outcome = await registry.register({
        source: 'api',
        streamId: request.params.id,
        creatorId: request.body.creator_id,
        identity,
        reassign: true,
      });
      return outcome.owner;
    },
  );
  return Promise.resolve();
}
