import { z } from 'zod';
import {
  boolean,
  configSection,
  intBetween,
  nonNegativeInt,
  optionalString,
  positiveInt,
  whenUnset,
} from './fields.ts';

/** The clip worker (clip-worker/): ffmpeg, job slots, leases and waits, and the output profile. */
export const clipsSection = configSection({
  variables: z.object({
    FFMPEG_PATH: z.string().trim().min(1).default('ffmpeg').describe('the ffmpeg binary'),
    FFPROBE_PATH: z.string().trim().min(1).default('ffprobe').describe('the ffprobe binary'),
    CLIP_WORKER_CONCURRENCY: positiveInt(2).describe(
      'clip jobs one worker runs at once (each runs one ffmpeg at a time)',
    ),
    CLIP_MAX_ATTEMPTS: positiveInt(5).describe(
      'attempts that fail for a passing reason before a job is given up (dead-lettered)',
    ),
    CLIP_LEASE_MS: intBetween(3_000, 600_000, 30_000).describe(
      "a worker that stops renewing a job's lease (renewed every third of it) for this long loses the job to another",
    ),
    CLIP_SCAN_INTERVAL_MS: positiveInt(2_000).describe(
      'how often open jobs are scanned: due retries, jobs of dead workers',
    ),
    CLIP_LIVE_WAIT_MS: nonNegativeInt(45_000).describe(
      "how long a job waits in its slot for a live recording to reach the window's end before yielding the slot",
    ),
    CLIP_RECORDING_GRACE_MS: positiveInt(600_000).describe(
      "how long after a window's end its recording may still appear (IVS events can be late) before the clip fails",
    ),
    CLIP_WORK_DIR: whenUnset(
      optionalString.describe('where jobs keep their temporary files'),
      "the system's temporary directory",
    ),
    CLIP_VERTICAL_SIZE: z
      .string()
      .trim()
      .regex(/^\d{2,4}x\d{2,4}$/, 'must be WIDTHxHEIGHT, e.g. 720x1280')
      .default('720x1280')
      .describe('size of the vertical 9:16 version, `WIDTHxHEIGHT` (even numbers)'),
    CLIP_X264_PRESET: z
      .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'])
      .default('veryfast')
      .describe('x264 preset of re-encoded outputs'),
    CLIP_LOUDNESS_LUFS: z.coerce
      .number()
      .min(-70)
      .max(-5)
      .default(-14)
      .describe('integrated loudness clips are normalised to (-70 to -5)'),
    CLIP_PUT_METADATA: boolean(false).describe(
      'mark each new clip in the live stream with IVS timed metadata (PutMetadata)',
    ),
  }),
  rules: (e) => {
    const { width, height } = verticalSize(e.CLIP_VERTICAL_SIZE);
    return width % 2 !== 0 || height % 2 !== 0
      ? ['CLIP_VERTICAL_SIZE: width and height must be even (H.264 4:2:0)']
      : [];
  },
  toConfig: (e) => ({
    clips: {
      ffmpegPath: e.FFMPEG_PATH,
      ffprobePath: e.FFPROBE_PATH,
      concurrency: e.CLIP_WORKER_CONCURRENCY,
      maxAttempts: e.CLIP_MAX_ATTEMPTS,
      leaseMs: e.CLIP_LEASE_MS,
      scanIntervalMs: e.CLIP_SCAN_INTERVAL_MS,
      liveWaitMs: e.CLIP_LIVE_WAIT_MS,
      recordingGraceMs: e.CLIP_RECORDING_GRACE_MS,
      /** Where jobs keep their temporary files; the system's temporary directory by default. */
      workDirectory: e.CLIP_WORK_DIR,
      vertical: verticalSize(e.CLIP_VERTICAL_SIZE),
      x264Preset: e.CLIP_X264_PRESET,
      loudnessLufs: e.CLIP_LOUDNESS_LUFS,
      /** Mark each new clip in the live stream with IVS timed metadata (PutMetadata). */
      putMetadata: e.CLIP_PUT_METADATA,
    },
  }),
});

function verticalSize(size: string): { width: number; height: number } {
  const [width, height] = size.split('x').map(Number) as [number, number];
  return { width, height };
}
