import { Type, type Static } from '@sinclair/typebox';
import { EpochMs } from '../../core/schemas/common.ts';

/**
 * Request and answer schemas of the collector's HTTP API. Fastify compiles them once: they
 * validate the envelope, serialize the answers and make up the OpenAPI document at /docs.
 * Events inside a batch are validated one by one against the shared PlayerEvent schema
 * (core/schemas/player-event.ts), so one bad event is rejected alone.
 */
export const FieldErrorSchema = Type.Object(
  { path: Type.String({ description: 'JSON pointer into the event (or CMCD key)' }), message: Type.String() },
  { $id: 'FieldError' },
);

export const RejectedEventSchema = Type.Object(
  {
    index: Type.Integer({ minimum: 0, description: 'Position in the batch (events) or line number from 0 (CMCD)' }),
    errors: Type.Array(Type.Ref(FieldErrorSchema.$id!)),
  },
  { $id: 'RejectedEvent' },
);

export const EventBatchMetadata = Type.Object(
  {
    sdk: Type.Optional(Type.String({ maxLength: 64, description: 'SDK name and version, e.g. livepulse-js/1.0.0' })),
    sent_at: Type.Optional(
      EpochMs('Device clock when the batch was sent; the collector corrects event times by its offset'),
    ),
    rtt_ms: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 60_000, description: 'Round trip of the previous request, ms' }),
    ),
  },
  { description: 'About the batch as a whole' },
);

export function eventBatchSchema(maxEvents: number) {
  return Type.Object(
    {
      metadata: Type.Optional(EventBatchMetadata),
      events: Type.Array(Type.Unknown({ description: 'A PlayerEvent (components/schemas/PlayerEvent)' }), {
        minItems: 1,
        maxItems: maxEvents,
        description: 'Player events; each is validated against PlayerEvent on its own',
      }),
    },
    { description: 'A batch of player events (what the SDK and navigator.sendBeacon send)' },
  );
}

export type EventBatch = { metadata?: Static<typeof EventBatchMetadata>; events: unknown[] };

export const BatchAnswerSchema = Type.Object(
  {
    accepted: Type.Integer({ description: 'Events stored durably (including retried ones already stored)' }),
    duplicates: Type.Integer({ description: 'Of the accepted, how many had been stored by an earlier request' }),
    rejected: Type.Array(Type.Ref(RejectedEventSchema.$id!)),
  },
  { $id: 'BatchAnswer', description: 'Every accepted event is in Kafka (acks=all)' },
);

export const ErrorAnswerSchema = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String({ description: 'Machine-readable reason, e.g. payload_too_large' }),
    message: Type.String({ description: 'What was wrong, naming the field or limit' }),
    rejected: Type.Optional(Type.Array(Type.Ref(RejectedEventSchema.$id!))),
  },
  { $id: 'ErrorAnswer' },
);

export const WriteKeyQuery = Type.Object({
  key: Type.Optional(
    Type.String({
      maxLength: 256,
      description: 'Write key, for clients that cannot set headers (sendBeacon, CMCD URLs)',
    }),
  ),
});

export const CmcdQuery = Type.Object({
  key: Type.Optional(Type.String({ maxLength: 256, description: 'Write key' })),
  stream_id: Type.Optional(Type.String({ maxLength: 128, description: 'Stream id for reports without a cid' })),
});

export const IvsAnswerSchema = Type.Object(
  {
    accepted: Type.Integer({ description: 'Lifecycle events stored on stream.lifecycle' }),
    duplicates: Type.Integer({ description: 'Events already stored (EventBridge redelivery)' }),
    ignored: Type.Array(Type.Object({ id: Type.String(), reason: Type.String() }), {
      description: 'Valid IVS events Livepulse does not track',
    }),
    rejected: Type.Array(Type.Ref(RejectedEventSchema.$id!)),
  },
  { $id: 'IvsAnswer' },
);

/** The error answers every collector route can give, for the OpenAPI document. */
export const errorResponses = (statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, Type.Ref(ErrorAnswerSchema.$id!)]));
