import type { MediaProbe } from './ffmpeg/ffmpeg.ts';

/**
 * What every produced file must satisfy before it is uploaded: the streams it should have, the
 * planned duration within tolerance, and the planned size. (Decodability is checked apart, by
 * decoding it: Ffmpeg.decodeCheck.)
 */
export interface MediaExpectation {
  durationMs?: number;
  toleranceMs: number;
  video: boolean;
  audio: boolean;
  width?: number;
  height?: number;
}

export function mediaProblems(probe: MediaProbe, expected: MediaExpectation): string[] {
  const problems: string[] = [];
  const video = probe.streams.find((s) => s.codecType === 'video');
  const audio = probe.streams.find((s) => s.codecType === 'audio');
  if (expected.video && !video) problems.push('no video stream');
  if (expected.audio && !audio) problems.push('no audio stream');
  if (!expected.audio && audio) problems.push('an audio stream where none was expected');
  if (video && expected.width !== undefined && video.width !== expected.width)
    problems.push(`video is ${video.width} wide, expected ${expected.width}`);
  if (video && expected.height !== undefined && video.height !== expected.height)
    problems.push(`video is ${video.height} high, expected ${expected.height}`);
  if (expected.durationMs !== undefined) {
    for (const [name, stream] of [
      ['video', video],
      ['audio', audio],
    ] as const) {
      const duration = stream?.durationMs ?? (stream ? probe.durationMs : undefined);
      if (duration === undefined) continue;
      if (Math.abs(duration - expected.durationMs) > expected.toleranceMs) {
        problems.push(
          `${name} lasts ${Math.round(duration)} ms, planned ${Math.round(expected.durationMs)} ms (±${expected.toleranceMs} ms)`,
        );
      }
    }
  }
  return problems;
}
