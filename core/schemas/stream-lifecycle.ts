import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, Id } from './common.ts';
import { createValidator } from './validate.ts';

/** `stream.lifecycle`: IVS stream and recording state changes, normalised. */
export const StreamLifecycleEvent = Type.Object(
  {
    schema_v: Type.Literal(1),
    event_id: Id('Source event id (EventBridge id), the dedupe key'),
    channel_id: Id('IVS channel (ARN resource id) or local channel name'),
    channel_arn: Type.Optional(
      Type.String({
        maxLength: 2048,
        description: "The IVS channel's ARN (EventBridge resources[0]): where its owner tag is read",
      }),
    ),
    stream_id: Id('IVS stream id / local stream session'),
    kind: Type.Union(
      ['stream_start', 'stream_end', 'stream_failure', 'recording_start', 'recording_end', 'recording_failure'].map(
        (k) => Type.Literal(k),
      ),
    ),
    occurred_at: EpochMs('When the source says it happened'),
    recording_prefix: Type.Optional(
      Type.String({ maxLength: 1024, description: 'Object-store prefix of the recording' }),
    ),
    recording_bucket: Type.Optional(Type.String({ maxLength: 255 })),
    reason: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false, $id: 'StreamLifecycleEvent' },
);
export type StreamLifecycleEvent = Static<typeof StreamLifecycleEvent>;
export const streamLifecycleValidator = createValidator(StreamLifecycleEvent);
