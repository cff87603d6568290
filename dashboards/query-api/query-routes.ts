import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AnalyticsStore } from '../../core/analytics-store/analytics-store.ts';
import {
  ApiAuthError,
  assertMayReadCreator,
  requireApiIdentity,
  type ApiTokenVerifier,
} from '../../core/http/api-auth.ts';
import { API_TOKEN_SECURITY, documentRoutes } from '../../core/http/openapi.ts';
import type { Logger } from '../../core/logger.ts';
import type { ObjectStore } from '../../core/object-store/object-store.ts';
import { StreamRegistrationError, type StreamRegistry } from '../../core/streams/stream-registry.ts';
import { creatorStreams, streamMetricsByInterval } from '../../core/analytics/metric-queries.ts';
import { creatorReportRoute } from './report-route.ts';
import {
  CreatorParams,
  CreatorStreamsAnswer,
  CreatorStreamsQuery,
  ProblemAnswer,
  StreamMetricsAnswer,
  StreamMetricsQuery,
  StreamParams,
  UnauthorizedAnswer,
} from './query-schemas.ts';
import { identityOf, readableStream, QueryApiError } from './stream-access.ts';
import { streamRegistryRoutes } from './stream-registry-routes.ts';
import { parseTimestamp, planStreamMetrics, QueryParameterError } from '../../core/analytics/time-range.ts';

export interface QueryApiOptions {
  analytics: AnalyticsStore;
  verifier: ApiTokenVerifier;
  /** Who owns each stream: every read is decided by it (core/streams/). */
  registry: StreamRegistry;
  logger: Logger;
  /** Reads clip thumbnails for PDF reports. */
  objectStore: Pick<ObjectStore, 'get'>;
  now?: () => number;
}

/**
 * Problems as `{statusCode, error, message}`: schema violations and bad ranges are 400 naming the
 * parameter, authorization 401/403, unknown streams 404. Anything else is a 500 with a generic
 * message, logged with the request, because a query failing is our fault, never the caller's.
 */
function problemHandler(logger: Logger) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const send = (statusCode: number, code: string, message: string) =>
      reply.code(statusCode).send({ statusCode, error: code, message });
    if (error.validation) return send(400, 'invalid_request', error.message);
    if (error instanceof QueryParameterError) return send(400, 'invalid_request', error.message);
    if (error instanceof QueryApiError || error instanceof StreamRegistrationError)
      return send(error.statusCode, error.code, error.message);
    if (error instanceof ApiAuthError)
      return send(error.statusCode, error.statusCode === 401 ? 'unauthorized' : 'forbidden', error.message);
    logger.error({ err: error, url: request.url }, 'query API request failed');
    return send(500, 'internal_error', 'the query failed; see the server log');
  };
}

export const PROBLEMS = {
  400: ProblemAnswer,
  401: UnauthorizedAnswer,
  403: ProblemAnswer,
  404: ProblemAnswer,
  409: ProblemAnswer,
};

/**
 * `GET /v1/streams/:id/metrics`, `GET /v1/creators/:id/streams`, `GET /v1/creators/:id/report`
 * and the stream registry's routes, all behind an API token (core/http/api-auth.ts). Who may read
 * a stream is the registry's answer, never the data's creator_id. Every value from the request
 * reaches ClickHouse as a bound `{name:Type}` parameter.
 */
export async function queryRoutes(app: FastifyInstance, options: QueryApiOptions): Promise<void> {
  const now = options.now ?? Date.now;
  app.addHook('onRequest', requireApiIdentity(options.verifier));
  documentRoutes(app, { tags: ['query'], security: API_TOKEN_SECURITY });
  app.setErrorHandler(problemHandler(options.logger));

  app.get<{ Params: { id: string }; Querystring: StreamMetricsQuery }>(
    '/streams/:id/metrics',
    {
      schema: {
        summary: "A stream's concurrent viewers, views, unique viewers, watch time and rebuffering per interval",
        tags: ['query'],
        params: StreamParams,
        querystring: StreamMetricsQuery,
        response: { 200: StreamMetricsAnswer, ...PROBLEMS },
      },
    },
    async (request) => {
      const plan = planStreamMetrics(request.query, now());
      const stream = await readableStream(
        options.analytics,
        options.registry,
        identityOf(request),
        request.params.id,
        request.query.property,
      );
      const points = await streamMetricsByInterval(
        options.analytics,
        { propertyId: stream.property_id, streamId: stream.stream_id },
        plan.range,
        plan,
      );
      return {
        stream_id: stream.stream_id,
        property_id: stream.property_id,
        creator_id: stream.creator_id,
        from: plan.range.from,
        to: plan.range.to,
        interval: plan.interval,
        source: plan.source,
        points,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: CreatorStreamsQuery }>(
    '/creators/:id/streams',
    {
      schema: {
        summary: "A creator's registered streams with viewer data (in the range, if one is given), oldest first",
        tags: ['query'],
        params: CreatorParams,
        querystring: CreatorStreamsQuery,
        response: { 200: CreatorStreamsAnswer, ...PROBLEMS },
      },
    },
    async (request) => {
      const creatorId = request.params.id;
      assertMayReadCreator(identityOf(request), creatorId);
      const { from, to } = request.query;
      const range =
        from === undefined && to === undefined
          ? undefined
          : {
              from: from === undefined ? 0 : parseTimestamp('from', from),
              to: to === undefined ? now() : parseTimestamp('to', to),
            };
      if (range && range.from >= range.to) throw new QueryParameterError('from', 'must be before to');
      const streams = await creatorStreams(options.analytics, creatorId, range);
      return {
        creator_id: creatorId,
        streams: streams.map(({ stream_id, property_id, first_window, last_window }) => ({
          stream_id,
          property_id,
          first_window,
          last_window,
        })),
      };
    },
  );

  await app.register(streamRegistryRoutes, { registry: options.registry, problems: PROBLEMS });
  await app.register(creatorReportRoute, {
    analytics: options.analytics,
    objectStore: options.objectStore,
    logger: options.logger,
    now,
  });
}
