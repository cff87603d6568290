import { Type, type Static } from '@sinclair/typebox';
import { Id } from '../../core/schemas/common.ts';
import { StreamOwner } from '../../core/streams/stream-ownership.ts';
import { INTERVALS } from '../../core/analytics/time-range.ts';

/**
 * Request and answer schemas of the query API. Fastify compiles them once: they validate the path
 * and query string (a bad value is a 400 naming the parameter before any query runs) and
 * serialize the answers. Timestamps in answers are epoch milliseconds.
 */

const Timestamp = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: 40,
    description: `${description}: ISO 8601 (2025-03-01, 2025-03-01T12:00:00Z) or epoch milliseconds`,
  });

export const StreamParams = Type.Object({ id: Id('Stream id') });
export const CreatorParams = Type.Object({ id: Id('Creator id') });

export const StreamMetricsQuery = Type.Object({
  from: Type.Optional(Timestamp('Start, inclusive (default: an hour before `to`)')),
  to: Type.Optional(Timestamp('End, exclusive (default: now)')),
  interval: Type.Optional(
    Type.Union(
      (Object.keys(INTERVALS) as Array<keyof typeof INTERVALS>).map((name) => Type.Literal(name)),
      { description: 'Bucket size (default: the smallest giving at most 360 points)' },
    ),
  ),
  property: Type.Optional(Id('Property, only needed when two properties use the same stream id')),
  token: Type.Optional(Type.String({ description: 'API token, for clients that cannot set Authorization' })),
});
export type StreamMetricsQuery = Static<typeof StreamMetricsQuery>;

export const CreatorStreamsQuery = Type.Object({
  from: Type.Optional(Timestamp('Only streams with viewers at or after this time')),
  to: Type.Optional(Timestamp('Only streams with viewers before this time')),
  token: Type.Optional(Type.String()),
});
export type CreatorStreamsQuery = Static<typeof CreatorStreamsQuery>;

export const CreatorReportQuery = Type.Object({
  from: Type.Optional(Timestamp('Start, inclusive (default: 30 days before `to`)')),
  to: Type.Optional(Timestamp('End, exclusive (default: now)')),
  format: Type.Optional(
    Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('pdf')], { default: 'json' }),
  ),
  token: Type.Optional(Type.String()),
});
export type CreatorReportQuery = Static<typeof CreatorReportQuery>;

const Ratio = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });

export const IntervalPoint = Type.Object({
  period_start: Type.Number(),
  peak_concurrent_views: Type.Integer({ description: 'Largest 10 s window of the interval' }),
  average_concurrent_views: Type.Number({ description: 'Mean over the interval’s 10 s windows with viewers' }),
  views_started: Type.Integer(),
  unique_viewers: Type.Integer({ description: 'Viewers seen in the interval (uniqCombined estimate)' }),
  watch_ms: Type.Number(),
  playing_ms: Type.Number(),
  rebuffer_ms: Type.Number(),
  rebuffer_count: Type.Integer(),
  rebuffer_percentage: Ratio('Σ rebuffering ÷ Σ watch time, in %'),
});

export const StreamMetricsAnswer = Type.Object({
  stream_id: Type.String(),
  property_id: Type.String(),
  creator_id: Type.Union([Type.String(), Type.Null()], {
    description: 'The registered owner; null for an unregistered stream (admins only)',
  }),
  from: Type.Number(),
  to: Type.Number(),
  interval: Type.String(),
  source: Type.String({ description: 'window (10 s windows), minute or hour (rollups)' }),
  points: Type.Array(IntervalPoint, { description: 'Intervals with viewers only' }),
});

export const CreatorStreamsAnswer = Type.Object({
  creator_id: Type.String(),
  streams: Type.Array(
    Type.Object({
      stream_id: Type.String(),
      property_id: Type.String(),
      first_window: Type.Number({ description: 'Start of the first 10 s window with viewers' }),
      last_window: Type.Number({ description: 'Start of the last 10 s window with viewers' }),
    }),
  ),
});

export const RegisterStreamBody = Type.Object(
  {
    stream_id: Id('Stream id, as players report it'),
    creator_id: Type.Optional(Id("Owner: a creator token's own creator (the default); required from an admin")),
  },
  { additionalProperties: false },
);
export type RegisterStreamBody = Static<typeof RegisterStreamBody>;

export const ReassignStreamBody = Type.Object({ creator_id: Id('The new owner') }, { additionalProperties: false });
export type ReassignStreamBody = Static<typeof ReassignStreamBody>;

export const StreamOwnerAnswer = StreamOwner;

export const ProblemAnswer = Type.Object({ statusCode: Type.Integer(), error: Type.String(), message: Type.String() });
/** What core/http/api-auth.ts answers to a missing or bad token (the onRequest hook has no statusCode field). */
export const UnauthorizedAnswer = Type.Object({
  statusCode: Type.Optional(Type.Integer()),
  error: Type.String(),
  message: Type.String(),
});
