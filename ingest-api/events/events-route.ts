import type { FastifyInstance } from 'fastify';
import { publishDeadLetters, type DeadLetter } from '../../core/dead-letters.ts';
import { TOPICS } from '../../core/topics.ts';
import type { Collector } from '../collector.ts';
import {
  BatchAnswerSchema,
  errorResponses,
  eventBatchSchema,
  WriteKeyQuery,
  type EventBatch,
} from '../http/api-schemas.ts';
import { authenticateWriteKey } from '../http/collector-hooks.ts';
import { IngestHttpError, retryShortly } from '../http/ingest-errors.ts';
import { parseStrictJson } from '../http/strict-json.ts';
import { enrichPlayerEvent } from './enrich-player-event.ts';
import { publishPlayerEvents } from './publish-player-events.ts';
import { validateBatchEvents, type RejectedEvent } from './validate-batch.ts';

/**
 * `POST /v1/events`: a batch `{metadata, events}` from the SDK or any player, as
 * application/json or as text/plain (what navigator.sendBeacon sends, so browsers need no
 * preflight). 202 means every accepted event is stored on the bus (Kafka, or the embedded log on disk).
 */
export function eventsRoute(app: FastifyInstance, { collector }: { collector: Collector }): Promise<void> {
  const { settings, ports, metrics, publishPorts } = collector;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'text/plain'],
    { parseAs: 'buffer', bodyLimit: settings.maxBodyBytes },
    (_request, body, done) => {
      try {
        done(null, parseStrictJson(body));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  app.addHook('onRequest', authenticateWriteKey(collector));

  app.post(
    '/events',
    {
      bodyLimit: settings.maxBodyBytes,
      config: { ingestRoute: 'events' },
      schema: {
        summary: 'Send a batch of player events',
        description:
          'Accepts application/json and text/plain (navigator.sendBeacon). Each event is validated against PlayerEvent on its own: ' +
          'the answer lists the rejected ones by index. 202 means the accepted events are stored on the bus: in Kafka (acks=all), or in embedded mode fsynced to its log on local disk. ' +
          'On 503, retry after Retry-After seconds; retries are deduplicated by event_id.',
        tags: ['player events'],
        security: [{ bearerWriteKey: [] }, { queryWriteKey: [] }],
        querystring: WriteKeyQuery,
        body: eventBatchSchema(settings.maxEventsPerRequest),
        response: { 202: BatchAnswerSchema, ...errorResponses([400, 401, 403, 408, 413, 415, 503]) },
      },
    },
    async (request, reply) => {
      const receivedAt = Date.now();
      const batch = request.body as EventBatch;
      const propertyId = request.ingestKey!.propertyId;
      const verdict = validateBatchEvents(batch.events, {
        receivedAt,
        sentAt: batch.metadata?.sent_at,
        rttMs: batch.metadata?.rtt_ms,
        maxEventAgeMs: settings.maxEventAgeMs,
      });
      const context = collector.requestContext(request, 'sdk', receivedAt);
      const enriched = verdict.valid.map((v) => enrichPlayerEvent(v.event, v.eventTime, context));
      const letters = deadLettersOf(verdict.rejected, propertyId);

      const [outcome] = await Promise.all([
        publishPlayerEvents(enriched, 'events', publishPorts),
        letters.length > 0 ? publishDeadLetters(ports.bus, letters) : undefined,
      ]);
      for (const r of verdict.rejected) metrics.rejected.inc({ source: 'sdk', reason: r.reason });
      if (letters.length > 0) metrics.deadLetters.inc({ source: 'sdk' }, letters.length);

      const rejected = verdict.rejected.map(({ index, errors }) => ({ index, errors }));
      if (outcome.inFlight > 0) {
        throw retryShortly(
          `${outcome.inFlight} events of this batch are still being stored by an earlier request; retry to confirm them`,
        );
      }
      if (verdict.valid.length === 0) {
        throw new IngestHttpError(
          400,
          'no_valid_events',
          `none of the ${batch.events.length} events is valid; see rejected`,
          { rejected },
        );
      }
      return reply.code(202).send({ accepted: verdict.valid.length, duplicates: outcome.duplicates, rejected });
    },
  );
  return Promise.resolve();
}

function deadLettersOf(rejected: RejectedEvent[], propertyId: string): DeadLetter[] {
  return rejected
    .filter((r) => r.original !== undefined)
    .map((r) => ({
      sourceTopic: TOPICS.playerEvents,
      payload: Buffer.from(JSON.stringify(r.original)),
      reason: `invalid player event (${r.reason})`,
      errors: r.errors,
      origin: `POST /v1/events property=${propertyId} index=${r.index}`,
    }));
}
