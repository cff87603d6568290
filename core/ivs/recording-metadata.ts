import { Type, type Static } from '@sinclair/typebox';
import { createValidator } from '../schemas/validate.ts';

/**
 * The JSON files IVS writes under `<prefix>/events/` (real samples:
 * aws-samples/amazon-ivs-clip-manifest, doc/sample-recs). Only the fields Livepulse reads are
 * constrained; AWS adds fields over time, so unknown ones are allowed.
 */
export const RecordingRendition = Type.Object({
  path: Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9_-]+$',
    description: 'Rendition folder, e.g. 720p30',
  }),
  playlist: Type.String({ minLength: 1, maxLength: 128 }),
  byte_range_playlist: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  resolution_width: Type.Integer({ minimum: 1, maximum: 16_384 }),
  resolution_height: Type.Integer({ minimum: 1, maximum: 16_384 }),
});
export type RecordingRendition = Static<typeof RecordingRendition>;

export const RecordingMetadata = Type.Object({
  version: Type.String({ maxLength: 16 }),
  // ISO 8601; TypeBox's compiler knows no `date-time` format, so readers parse it (Date.parse).
  recording_started_at: Type.String({ minLength: 20, maxLength: 40 }),
  recording_ended_at: Type.Optional(Type.String({ minLength: 20, maxLength: 40 })),
  channel_arn: Type.String({ maxLength: 2048 }),
  recording_status: Type.Union([
    Type.Literal('RECORDING_STARTED'),
    Type.Literal('RECORDING_ENDED'),
    Type.Literal('RECORDING_FAILED'),
  ]),
  recording_status_message: Type.Optional(Type.String({ maxLength: 2048 })),
  media: Type.Object({
    hls: Type.Object({
      duration_ms: Type.Optional(Type.Integer({ minimum: 0 })),
      path: Type.String({ maxLength: 256 }),
      playlist: Type.String({ maxLength: 128 }),
      byte_range_playlist: Type.Optional(Type.String({ maxLength: 128 })),
      renditions: Type.Array(RecordingRendition, { minItems: 1, maxItems: 32 }),
    }),
    thumbnails: Type.Optional(Type.Object({ path: Type.String({ maxLength: 256 }) })),
  }),
});
export type RecordingMetadata = Static<typeof RecordingMetadata>;

export const recordingMetadataValidator = createValidator(RecordingMetadata);
