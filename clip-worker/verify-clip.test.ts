import { describe, expect, it } from 'vitest';
import type { MediaProbe } from './ffmpeg/ffmpeg.ts';
import { mediaProblems } from './verify-clip.ts';

const probe: MediaProbe = {
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationMs: 30_040,
  startTimeMs: 0,
  streams: [
    { index: 0, codecType: 'video', codecName: 'h264', width: 720, height: 1280, durationMs: 30_000 },
    { index: 1, codecType: 'audio', codecName: 'aac', sampleRate: 48_000, channels: 2, durationMs: 30_021 },
  ],
};

describe('mediaProblems', () => {
  it('accepts a clip with its streams, size and duration within tolerance', () => {
    expect(
      mediaProblems(probe, {
        durationMs: 30_000,
        toleranceMs: 500,
        video: true,
        audio: true,
        width: 720,
        height: 1280,
      }),
    ).toEqual([]);
  });

  it.each([
    ['a missing audio stream', { ...probe, streams: probe.streams.slice(0, 1) }, { audio: true }, 'no audio stream'],
    ['an unexpected audio stream', probe, { audio: false }, 'an audio stream where none was expected'],
    ['a missing video stream', { ...probe, streams: probe.streams.slice(1) }, {}, 'no video stream'],
    ['a wrong size', probe, { width: 1080 }, 'video is 720 wide, expected 1080'],
    ['a short clip', probe, { durationMs: 31_000 }, 'video lasts 30000 ms, planned 31000 ms (±500 ms)'],
  ])('reports %s', (_what, probed, expectation, problem) => {
    const problems = mediaProblems(probed, {
      durationMs: 30_000,
      toleranceMs: 500,
      video: true,
      audio: true,
      ...expectation,
    });
    expect(problems).toContain(problem);
  });
});
