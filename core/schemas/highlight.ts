import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { EpochMs, Id } from './common.ts';
import { createValidator } from './validate.ts';

/** Longest clip a highlight may ask for (YouTube and Twitch clips are 5–60 s). */
export const MAX_HIGHLIGHT_MS = 60_000;

/** A highlight's deterministic id: the same stream and window always name the same highlight. */
export function highlightId(streamId: string, startMs: number, endMs: number): string {
  return `hl_${createHash('sha256').update(`${streamId}\u0000${startMs}\u0000${endMs}`).digest('hex').slice(0, 32)}`;
}

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
    clip_id: Id(
      'Deterministic id: hash of stream, window and profile version (the recording follows from stream and window)',
    ),
    highlight_id: Id('Highlight it came from'),
    stream_id: Id('Stream'),
    status: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('failed')], {
      description:
        'created: the clip is playable (mp4 + thumbnail); updated: more outputs (vertical, sprite) were added; failed: no clip, see reason',
    }),
    start: EpochMs('Window start'),
    end: EpochMs('Window end'),
    outputs: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1024 }), {
        description: 'Output name (mp4, thumbnail, vertical, sprite, sprite_vtt, manifest) → object key',
      }),
    ),
    duration_ms: Type.Optional(Type.Integer({ minimum: 0 })),
    reason: Type.Optional(
      Type.String({ maxLength: 1024, description: 'Why it failed, or which outputs could not be made' }),
    ),
    finished_at: EpochMs('When the job finished'),
  },
  { additionalProperties: false, $id: 'ClipEvent' },
);
export type ClipEvent = Static<typeof ClipEvent>;

export const highlightValidator = createValidator(Highlight);
export const clipEventValidator = createValidator(ClipEvent);
