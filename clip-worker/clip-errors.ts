import { MpegTsError } from '../core/ivs/mpegts.ts';
import { PlaylistParseError } from '../core/ivs/hls-playlist.ts';
import { InvalidRecordingPrefixError } from '../core/ivs/recording-layout.ts';
import { ObjectNotFoundError, RangeNotSatisfiableError } from '../core/object-store/object-store.ts';
import { FfmpegAbortedError, FfmpegFailedError, MediaDecodeError, MediaProbeError } from './ffmpeg/ffmpeg.ts';

/**
 * Why a clip job stopped, and what happens next:
 * - permanent: no retry will help (no recording, window outside it, corrupt media): a `failed`
 *   clip event, a dead letter with the reason, and a tombstone so redelivery does not retry;
 * - deferred: waiting on something outside (the recording's start event, the live playlist to
 *   grow): requeued for later without counting an attempt, until its own deadline;
 * - preempted: the worker is shutting down or lost its lease: requeued at once, not counted;
 * - transient: anything else (S3 or network errors, a crashed ffmpeg): retried with backoff,
 *   and permanent after the last attempt.
 */
export type FailureKind = 'permanent' | 'deferred' | 'preempted' | 'transient';

export class PermanentClipError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentClipError';
  }
}

export class NoRecordingError extends PermanentClipError {
  constructor(readonly streamId: string) {
    super(`no recording of stream ${streamId} is known (no recording-start event arrived in time)`);
    this.name = 'NoRecordingError';
  }
}

export class WindowOutsideRecordingError extends PermanentClipError {
  constructor(
    readonly prefix: string,
    reason: string,
  ) {
    super(`the window is not in recording ${prefix}: ${reason}`);
    this.name = 'WindowOutsideRecordingError';
  }
}

export class CorruptRecordingError extends PermanentClipError {
  constructor(what: string, options?: { cause?: unknown }) {
    super(`corrupt recording: ${what}`, options);
    this.name = 'CorruptRecordingError';
  }
}

export class ClipVerificationError extends PermanentClipError {
  constructor(
    readonly output: string,
    readonly problems: string[],
  ) {
    super(`${output} failed verification: ${problems.join('; ')}`);
    this.name = 'ClipVerificationError';
  }
}

/** The recording is not indexed yet, or the live playlist does not reach the window's end yet. */
export class RecordingNotReadyError extends Error {
  constructor(
    readonly what: 'recording' | 'coverage',
    message: string,
    /** When to look again. */
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'RecordingNotReadyError';
  }
}

export class JobPreemptedError extends Error {
  constructor(reason: string) {
    super(`job preempted: ${reason}`);
    this.name = 'JobPreemptedError';
  }
}

export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof JobPreemptedError || error instanceof FfmpegAbortedError) return 'preempted';
  if (error instanceof RecordingNotReadyError) return 'deferred';
  if (error instanceof PermanentClipError) return 'permanent';
  // Media that ffmpeg or our parsers cannot read will not read better next time.
  if (
    error instanceof PlaylistParseError ||
    error instanceof MpegTsError ||
    error instanceof MediaDecodeError ||
    error instanceof InvalidRecordingPrefixError
  )
    return 'permanent';
  if (error instanceof RangeNotSatisfiableError) return 'permanent';
  if (error instanceof MediaProbeError || error instanceof FfmpegFailedError)
    return /Invalid data found|could not find codec parameters|moov atom not found|does not contain any stream/i.test(
      error.message,
    )
      ? 'permanent'
      : 'transient';
  // A segment the playlist lists but the store lacks may still be uploading.
  if (error instanceof ObjectNotFoundError) return 'transient';
  return 'transient';
}

/** Exponential backoff with "equal jitter" (half fixed, half random; AWS Architecture Blog), capped; `random` is injectable for tests. */
export function retryDelayMs(attempt: number, { baseMs = 2_000, capMs = 60_000, random = Math.random } = {}): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
