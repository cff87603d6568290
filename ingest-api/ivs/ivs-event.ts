import { Type, type Static } from '@sinclair/typebox';

/**
 * The Amazon EventBridge events Livepulse follows, as an EventBridge API destination delivers
 * them (the event itself as the JSON body). Only the fields the mapping reads are constrained;
 * AWS adds fields over time, so unknown ones are allowed.
 */
const StreamStateDetail = Type.Object({
  event_name: Type.String({
    maxLength: 128,
    description: 'Stream Start, Stream End, Stream Failure, Session Created, Session Ended, Stream Takeover…',
  }),
  channel_name: Type.Optional(Type.String({ maxLength: 256 })),
  stream_id: Type.String({ minLength: 1, maxLength: 128 }),
  code: Type.Optional(Type.String({ maxLength: 256 })),
});

const RecordingStateDetail = Type.Object({
  recording_status: Type.String({
    maxLength: 128,
    description: 'Recording Start, Recording End, Recording Start Failure, Recording End Failure',
  }),
  recording_status_reason: Type.Optional(Type.String({ maxLength: 1024 })),
  channel_name: Type.Optional(Type.String({ maxLength: 256 })),
  stream_id: Type.String({ minLength: 1, maxLength: 128 }),
  recording_s3_bucket_name: Type.Optional(Type.String({ maxLength: 255 })),
  recording_s3_key_prefix: Type.Optional(Type.String({ maxLength: 1024 })),
  recording_duration_ms: Type.Optional(Type.Integer({ minimum: 0 })),
  recording_session_id: Type.Optional(Type.String({ maxLength: 128 })),
});

const envelope = {
  version: Type.Optional(Type.String({ maxLength: 16 })),
  id: Type.String({ minLength: 1, maxLength: 128, description: 'EventBridge event id: the dedupe key' }),
  source: Type.Literal('aws.ivs'),
  account: Type.Optional(Type.String({ maxLength: 32 })),
  time: Type.String({ format: 'date-time', description: 'When IVS says it happened' }),
  region: Type.Optional(Type.String({ maxLength: 32 })),
  resources: Type.Array(Type.String({ maxLength: 2048 }), {
    minItems: 1,
    maxItems: 16,
    description: 'resources[0] is the channel ARN',
  }),
};

export const IvsStreamStateChange = Type.Object({
  ...envelope,
  'detail-type': Type.Literal('IVS Stream State Change'),
  detail: StreamStateDetail,
});
export const IvsRecordingStateChange = Type.Object({
  ...envelope,
  'detail-type': Type.Literal('IVS Recording State Change'),
  detail: RecordingStateDetail,
});

export const IvsEvent = Type.Union([IvsStreamStateChange, IvsRecordingStateChange], {
  $id: 'IvsEvent',
  description: 'An EventBridge IVS state-change event',
});
export type IvsEvent = Static<typeof IvsEvent>;

/** One event, or a JSON array of events (an input transformer may batch them). */
export const IvsEventsBody = Type.Union([
  Type.Ref(IvsEvent.$id!),
  Type.Array(Type.Ref(IvsEvent.$id!), { minItems: 1, maxItems: 100 }),
]);
