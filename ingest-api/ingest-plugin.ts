import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PlayerEvent } from '../core/schemas/player-event.ts';
import { cmcdRoute } from './cmcd/cmcd-route.ts';
import { createCollector, type CollectorPorts } from './collector.ts';
import { eventsRoute } from './events/events-route.ts';
import {
  BatchAnswerSchema,
  ErrorAnswerSchema,
  FieldErrorSchema,
  IvsAnswerSchema,
  RejectedEventSchema,
} from './http/api-schemas.ts';
import { bodyDeadline, corsOptionsFor } from './http/collector-hooks.ts';
import { ingestErrorHandler } from './http/ingest-errors.ts';
import type { IngestRoute } from './ingest-metrics.ts';
import { ivsEventsRoute } from './ivs/ivs-route.ts';

const routeOf = (request: FastifyRequest) =>
  (request.routeOptions.config as { ingestRoute?: IngestRoute } | undefined)?.ingestRoute;

/**
 * The collector's HTTP surface: `/v1/events`, `/v1/cmcd` and `/v1/ivs/events`, described in the
 * platform's OpenAPI document (core/http/openapi.ts). Each route is its own encapsulated plugin,
 * because each accepts different content types and authenticates differently.
 */
export async function ingestApi(app: FastifyInstance, ports: CollectorPorts): Promise<void> {
  const collector = createCollector(ports);
  const { settings, metrics } = collector;

  await app.register(
    async (v1) => {
      for (const schema of [
        FieldErrorSchema,
        RejectedEventSchema,
        BatchAnswerSchema,
        ErrorAnswerSchema,
        IvsAnswerSchema,
        PlayerEvent,
      ])
        v1.addSchema(schema);
      v1.decorateRequest('ingestKey', null);
      await v1.register(cors, { delegator: corsOptionsFor(collector) });
      v1.addHook('preParsing', bodyDeadline(settings.bodyTimeoutMs));
      v1.addHook('onResponse', async (request, reply) => {
        const route = routeOf(request);
        if (!route) return;
        metrics.requests.inc({ route, status: String(reply.statusCode) });
        metrics.requestDuration.observe({ route }, reply.elapsedTime / 1000);
      });
      v1.setErrorHandler(
        ingestErrorHandler({
          route: routeOf,
          maxBodyBytes: settings.maxBodyBytes,
          maxEventsPerRequest: settings.maxEventsPerRequest,
          metrics,
        }),
      );
      await v1.register(eventsRoute, { collector });
      await v1.register(cmcdRoute, { collector });
      await v1.register(ivsEventsRoute, { collector });
    },
    { prefix: '/v1' },
  );
}
