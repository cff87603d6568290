import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from '../logger.ts';
import { ObjectNotFoundError, type ObjectStore } from '../object-store/object-store.ts';
import { EpochMs, Id } from '../schemas/common.ts';
import { Highlight } from '../schemas/highlight.ts';
import { createValidator } from '../schemas/validate.ts';

/**
 * The clip worker's durable records, all in the object store beside the media:
 *
 *   clip-jobs/<clip_id>.json     an open job (queued, retrying or running); deleted when finished
 *   clip-jobs-unreadable/…       job records that failed validation, moved out of the queue
 *   clips/<clip_id>/…            the outputs, under a key derived only from the clip id
 *   clips/<clip_id>/manifest.json  written after the outputs it lists: the commit marker
 *   clips/<clip_id>/failure.json   a permanent failure, so a redelivered highlight is not retried
 */

/**
 * Deterministic clip id: the same stream, window and profile always give the same id, so a
 * redelivered or repeated highlight lands on the same keys and the manifest says it is done.
 * The recording is not an input: it follows from the stream and the window (an IVS stream
 * belongs to one recording), and the id must exist before the recording is found, to dedupe and
 * to report a failure when there is none.
 */
export function clipId({
  streamId,
  startMs,
  endMs,
  profileVersion,
}: {
  streamId: string;
  startMs: number;
  endMs: number;
  profileVersion: string;
}): string {
  const digest = createHash('sha256')
    .update(`clip-v1\u0000${streamId}\u0000${startMs}\u0000${endMs}\u0000${profileVersion}`)
    .digest('hex');
  return `clip_${digest.slice(0, 32)}`;
}

export const OUTPUT_FILES = {
  mp4: 'clip.mp4',
  thumbnail: 'poster.jpg',
  vertical: 'vertical.mp4',
  sprite: 'sprite.jpg',
  sprite_vtt: 'sprite.vtt',
} as const;
export type OutputName = keyof typeof OUTPUT_FILES;

export const JOBS_PREFIX = 'clip-jobs/';

export const clipKeys = {
  job: (id: string) => `${JOBS_PREFIX}${id}.json`,
  output: (id: string, name: OutputName) => `clips/${id}/${OUTPUT_FILES[name]}`,
  manifest: (id: string) => `clips/${id}/manifest.json`,
  failure: (id: string) => `clips/${id}/failure.json`,
};

export function jobIdFromKey(key: string): string | null {
  const match = /^clip-jobs\/(clip_[0-9a-f]{32})\.json$/.exec(key);
  return match ? match[1]! : null;
}

export const ClipJobRecord = Type.Object(
  {
    schema_v: Type.Literal(1),
    clip_id: Id('Clip id'),
    highlight: Highlight,
    enqueued_at: EpochMs('When the highlight was taken in'),
    /** Failed attempts so far; preemptions (shutdown, lost lease) and waits do not count. */
    attempts: Type.Integer({ minimum: 0 }),
    /** Not to be claimed before this time (retry backoff, or waiting for the recording). */
    not_before: EpochMs('Earliest next attempt'),
    last_error: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false, $id: 'ClipJobRecord' },
);
export type ClipJobRecord = Static<typeof ClipJobRecord>;
export const clipJobRecordValidator = createValidator(ClipJobRecord);

const OutputDescription = Type.Object(
  {
    key: Type.String({ maxLength: 1024 }),
    content_type: Type.String({ maxLength: 128 }),
    bytes: Type.Integer({ minimum: 0 }),
    duration_ms: Type.Optional(Type.Integer({ minimum: 0 })),
    width: Type.Optional(Type.Integer({ minimum: 0 })),
    height: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type OutputDescription = Static<typeof OutputDescription>;

export const ClipManifest = Type.Object(
  {
    schema_v: Type.Literal(1),
    clip_id: Id('Clip id'),
    highlight_id: Id('Highlight it came from'),
    stream_id: Id('Stream'),
    profile_version: Type.String({ maxLength: 32 }),
    requested: Type.Object(
      { start: EpochMs('Requested start'), end: EpochMs('Requested end') },
      { additionalProperties: false },
    ),
    /** What the clip covers: the request clamped to the recording, and for a copy, from the keyframe. */
    covered: Type.Object(
      { start: EpochMs('Covered start'), end: EpochMs('Covered end') },
      { additionalProperties: false },
    ),
    recording: Type.Object(
      {
        prefix: Type.String({ maxLength: 1024 }),
        rendition: Type.String({ maxLength: 64 }),
        byte_range_playlist: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    cut: Type.Object(
      {
        mode: Type.Union([Type.Literal('copy'), Type.Literal('reencode')]),
        early_start_ms: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    loudness: Type.Optional(
      Type.Object(
        {
          measured_lufs: Type.Number(),
          measured_true_peak_db: Type.Number(),
          gain_db: Type.Number(),
          target_lufs: Type.Number(),
        },
        { additionalProperties: false },
      ),
    ),
    outputs: Type.Record(Type.String({ maxLength: 32 }), OutputDescription),
    /** Outputs of the second phase that could not be made, with why; the clip itself stands. */
    failed_outputs: Type.Optional(Type.Record(Type.String({ maxLength: 32 }), Type.String({ maxLength: 1024 }))),
    /** False after the fast phase (copy + poster), true when every output is written or failed. */
    complete: Type.Boolean(),
    created_at: EpochMs('When the first outputs were committed'),
    updated_at: EpochMs('Last change'),
  },
  { additionalProperties: false, $id: 'ClipManifest' },
);
export type ClipManifest = Static<typeof ClipManifest>;
export const clipManifestValidator = createValidator(ClipManifest);

/** A clip's manifest, or null when there is none yet (or it is unreadable and the clip will be made again). */
export async function readManifest(store: ObjectStore, id: string, logger: Logger): Promise<ClipManifest | null> {
  let raw: Buffer;
  try {
    raw = await store.get(clipKeys.manifest(id));
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!clipManifestValidator.check(parsed)) {
    // A manifest we cannot read commits nothing: the clip is made again over the same keys.
    logger.warn({ clipId: id }, 'clip manifest is unreadable; the clip will be made again');
    return null;
  }
  return parsed;
}

export const ClipFailure = Type.Object(
  {
    schema_v: Type.Literal(1),
    clip_id: Id('Clip id'),
    highlight_id: Id('Highlight'),
    reason: Type.String({ maxLength: 2048 }),
    failed_at: EpochMs('When it was given up'),
  },
  { additionalProperties: false, $id: 'ClipFailure' },
);
export type ClipFailure = Static<typeof ClipFailure>;

/** What `GET /v1/clips/:clipId` reports while a job runs (live state, expiring). */
export interface ClipStatus {
  clip_id: string;
  stream_id: string;
  state: 'queued' | 'waiting' | 'running' | 'retrying' | 'created' | 'completed' | 'failed';
  /** Which step is running: fetching, fast (copy + poster) or full (vertical + sprite). */
  phase?: 'resolving' | 'waiting_for_recording' | 'fetching' | 'fast' | 'full';
  /** ffmpeg's progress through the current phase, 0–1. */
  progress?: number;
  /** ffmpeg's speed (× realtime) in the current phase. */
  speed?: number;
  attempts: number;
  reason?: string;
  worker?: string;
  updated_at: number;
}
