import type { FastifyInstance } from 'fastify';
import { publishDeadLetters } from '../../core/dead-letters.ts';
import type { FieldError } from '../../core/schemas/validate.ts';
import { TOPICS } from '../../core/topics.ts';
import type { Collector } from '../collector.ts';
import { EventIdLedger } from '../events/event-id-ledger.ts';
import { publishDeduplicated } from '../events/publish-player-events.ts';
import { errorResponses, IvsAnswerSchema } from '../http/api-schemas.ts';
import { IngestHttpError, retryShortly, unauthorized } from '../http/ingest-errors.ts';
import { parseStrictJson } from '../http/strict-json.ts';
import { IvsEvent, IvsEventsBody } from './ivs-event.ts';
import { mapIvsEvent } from './map-ivs-event.ts';
import { secretMatches } from './shared-secret.ts';

/** Header the EventBridge connection (API key authorization) sends with LIVEPULSE_IVS_WEBHOOK_SECRET. */
export const IVS_SECRET_HEADER = 'x-livepulse-ivs-secret';
/** EventBridge retries a delivery for up to 24 hours by default. */
const IVS_DEDUPE_WINDOW_MS = 24 * 3_600_000;

/**
 * `POST /v1/ivs/events`: Amazon EventBridge "IVS Stream State Change" and "IVS Recording State
 * Change" events, from an API destination, normalised onto `stream.lifecycle` keyed by channel
 * and deduplicated by EventBridge event id.
 */
export function ivsEventsRoute(app: FastifyInstance, { collector }: { collector: Collector }): Promise<void> {
  const { ports, metrics, settings } = collector;
  const secret = ports.config.auth.ivsWebhookSecret;
  const publishPorts = {
    ...collector.publishPorts,
    ledger: new EventIdLedger(ports.liveState, { windowMs: IVS_DEDUPE_WINDOW_MS }),
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: settings.maxBodyBytes },
    (_request, body, done) => {
      try {
        done(null, parseStrictJson(body));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  app.addSchema(IvsEvent);
  app.addHook('onRequest', (request) => {
    const presented = request.headers[IVS_SECRET_HEADER];
    if (!secretMatches(typeof presented === 'string' ? presented : undefined, secret)) {
      return Promise.reject(unauthorized(`missing or wrong ${IVS_SECRET_HEADER} header`));
    }
    return Promise.resolve();
  });

  app.post(
    '/ivs/events',
    {
      bodyLimit: settings.maxBodyBytes,
      config: { ingestRoute: 'ivs' },
      schema: {
        summary: 'Receive Amazon IVS state changes from EventBridge',
        description:
          'Target of an EventBridge API destination for "IVS Stream State Change" and "IVS Recording State Change" events ' +
          `(the connection sends the ${IVS_SECRET_HEADER} header). Redeliveries are deduplicated by event id for 24 h.`,
        tags: ['stream lifecycle'],
        security: [{ ivsSecret: [] }],
        body: IvsEventsBody,
        response: { 202: IvsAnswerSchema, ...errorResponses([400, 401, 408, 413, 415, 503]) },
      },
    },
    async (request, reply) => {
      const events = ([] as IvsEvent[]).concat(request.body as IvsEvent | IvsEvent[]);
      const lifecycle = [];
      const ignored: Array<{ id: string; reason: string }> = [];
      const rejected: Array<{ index: number; errors: FieldError[] }> = [];
      for (const [index, event] of events.entries()) {
        const mapped = mapIvsEvent(event);
        if (mapped.kind === 'lifecycle') lifecycle.push(mapped.event);
        else if (mapped.kind === 'ignored') ignored.push({ id: event.id, reason: mapped.reason });
        else rejected.push({ index, errors: mapped.errors });
      }
      if (rejected.length > 0) {
        metrics.rejected.inc({ source: 'ivs', reason: 'schema' }, rejected.length);
        metrics.deadLetters.inc({ source: 'ivs' }, rejected.length);
        await publishDeadLetters(
          ports.bus,
          rejected.map((r) => ({
            sourceTopic: TOPICS.streamLifecycle,
            payload: Buffer.from(JSON.stringify(events[r.index])),
            reason: 'IVS event could not be mapped',
            errors: r.errors,
            origin: `POST /v1/ivs/events index=${r.index}`,
          })),
        );
      }
      const outcome = await publishDeduplicated(
        {
          topic: TOPICS.streamLifecycle,
          ids: lifecycle.map((e) => `ivs:${e.event_id}`),
          messages: lifecycle.map((e) => ({ key: e.channel_id, value: Buffer.from(JSON.stringify(e)) })),
          source: 'ivs',
          route: 'ivs',
        },
        publishPorts,
      );
      if (outcome.inFlight > 0)
        throw retryShortly(`${outcome.inFlight} of these events are still being stored by an earlier delivery`);
      if (rejected.length === events.length) {
        throw new IngestHttpError(400, 'no_valid_events', 'none of the IVS events could be mapped; see rejected', {
          rejected,
        });
      }
      return reply.code(202).send({ accepted: lifecycle.length, duplicates: outcome.duplicates, ignored, rejected });
    },
  );
  return Promise.resolve();
}
