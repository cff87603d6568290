import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, Id } from './common.ts';
import { createValidator } from './validate.ts';

/** `highlights`: a detected (or requested) highlight window. */
export const Highlight = Type.Object(
  {
    schema_v: Type.Literal(1),
    highlight_id: Id('Deterministic id: hash of stream and window'),
    stream_id: Id('Stream'),
    start: EpochMs('Clip window start (wall clock)'),
    end: EpochMs('Clip window end; at most 60 s after start'),
    score: Type.Number({ minimum: 0, description: 'z-score or 0 for manual requests' }),
    reasons: Type.Array(Type.String({ maxLength: 128 }), { maxItems: 16 }),
    requested_by: Type.Optional(Id('User who asked for it ("clip that")')),
    detected_at: EpochMs('Detection time'),
  },
  { additionalProperties: false, $id: 'Highlight' },
);
export type Highlight = Static<typeof Highlight>;

/** `clips`: what the clip worker made of a highlight. */
export const ClipEvent = Type.Object(
  {
    schema_v: Type.Literal(1),
    clip_id: Id('Deterministic id: hash of stream, recording, window and profile version'),
    highlight_id: Id('Highlight it came from'),
    stream_id: Id('Stream'),
    status: Type.Union([Type.Literal('created'), Type.Literal('failed')]),
    start: EpochMs('Window start'),
    end: EpochMs('Window end'),
    outputs: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1024 }), {
        description: 'Output name (mp4, vertical, thumbnail, sprite) → object key',
      }),
    ),
    duration_ms: Type.Optional(Type.Integer({ minimum: 0 })),
    reason: Type.Optional(Type.String({ maxLength: 1024 })),
    finished_at: EpochMs('When the job finished'),
  },
  { additionalProperties: false, $id: 'ClipEvent' },
);
export type ClipEvent = Static<typeof ClipEvent>;

export const highlightValidator = createValidator(Highlight);
export const clipEventValidator = createValidator(ClipEvent);
