import { describe, expect, it } from 'vitest';
import { PlaylistParseError } from '../core/ivs/hls-playlist.ts';
import { ObjectNotFoundError } from '../core/object-store/object-store.ts';
import {
  classifyFailure,
  ClipVerificationError,
  CorruptRecordingError,
  JobPreemptedError,
  NoRecordingError,
  RecordingNotReadyError,
  retryDelayMs,
  WindowOutsideRecordingError,
} from './clip-errors.ts';
import { FfmpegAbortedError, FfmpegFailedError, MediaDecodeError, MediaProbeError } from './ffmpeg/ffmpeg.ts';

describe('classifyFailure', () => {
  it.each([
    ['a shutdown', new JobPreemptedError('the worker is shutting down'), 'preempted'],
    ['a killed ffmpeg on abort', new FfmpegAbortedError('clip.mp4', new Error('shutdown')), 'preempted'],
    ['a recording not indexed yet', new RecordingNotReadyError('recording', 'not yet', 10_000), 'deferred'],
    ['a live playlist short of the window', new RecordingNotReadyError('coverage', 'short', 5_000), 'deferred'],
    ['no recording', new NoRecordingError('st-1'), 'permanent'],
    ['a window outside the recording', new WindowOutsideRecordingError('ivs/v1/…', 'ends before'), 'permanent'],
    ['a corrupt recording', new CorruptRecordingError('0.ts is not MPEG-TS'), 'permanent'],
    ['a clip that fails verification', new ClipVerificationError('clip.mp4', ['no audio stream']), 'permanent'],
    ['an unreadable playlist', new PlaylistParseError(3, 'bad'), 'permanent'],
    ['undecodable media', new MediaDecodeError('clip.mp4', 'error while decoding'), 'permanent'],
    [
      'ffmpeg refusing invalid data',
      new FfmpegFailedError('clip.mp4', 'ffmpeg exited with code 1', 'in.ts: Invalid data found when processing input'),
      'permanent',
    ],
    [
      'ffprobe refusing invalid data',
      new MediaProbeError('in.ts', 'Invalid data found when processing input'),
      'permanent',
    ],
    [
      'ffmpeg dying for another reason',
      new FfmpegFailedError('clip.mp4', 'ffmpeg was killed with signal SIGSEGV', ''),
      'transient',
    ],
    ['a segment not uploaded yet', new ObjectNotFoundError('ivs/v1/…/3.ts'), 'transient'],
    ['a network error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'transient'],
  ])('%s is %s', (_what, error, kind) => {
    expect(classifyFailure(error)).toBe(kind);
  });
});

describe('retryDelayMs', () => {
  it('doubles from 2 s with jitter in the upper half, capped at a minute', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, { random: () => 0 }))).toEqual([
      1_000, 2_000, 4_000, 8_000,
    ]);
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, { random: () => 1 }))).toEqual([
      2_000, 4_000, 8_000, 16_000,
    ]);
    expect(retryDelayMs(20, { random: () => 1 })).toBe(60_000);
    expect(retryDelayMs(20, { random: () => 0 })).toBe(30_000);
  });
});
