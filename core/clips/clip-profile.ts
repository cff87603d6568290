import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';

export interface LoudnessTarget {
  /** Integrated loudness, LUFS (EBU R128 is -23; social platforms play around -14). */
  integratedLufs: number;
  /** Ceiling for the true peak after the gain, dBTP. */
  truePeakDb: number;
}

export interface VerticalProfile {
  width: number;
  height: number;
  crf: number;
  preset: string;
}

export interface SpriteProfile {
  intervalMs: number;
  tileWidth: number;
  columns: number;
}

/**
 * What a clip is made of. Its fingerprint is part of every clip id, so changing any setting
 * makes new clips under new keys instead of overwriting (or being mistaken for) old ones.
 */
export interface ClipProfile {
  /** A copied clip may start up to this much before the requested start (the keyframe before it). */
  maxCopyEarlyStartMs: number;
  /** Shortest clip worth making when the window is clamped to what was recorded. */
  minDurationMs: number;
  loudness: LoudnessTarget;
  audioBitrateKbps: number;
  /** Settings of the landscape clip when it has to be re-encoded for exact edges. */
  landscape: { crf: number; preset: string };
  vertical: VerticalProfile;
  posterWidth: number;
  sprite: SpriteProfile;
  /** Allowed difference between a produced clip's duration and the planned one. */
  durationToleranceMs: number;
}

export const DEFAULT_CLIP_PROFILE: ClipProfile = {
  maxCopyEarlyStartMs: 1_500,
  minDurationMs: 3_000,
  loudness: { integratedLufs: -14, truePeakDb: -1 },
  audioBitrateKbps: 128,
  landscape: { crf: 20, preset: 'veryfast' },
  vertical: { width: 720, height: 1280, crf: 23, preset: 'veryfast' },
  posterWidth: 640,
  sprite: { intervalMs: 2_000, tileWidth: 160, columns: 5 },
  durationToleranceMs: 500,
};

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Short, stable hash of the profile's settings (key order does not matter). */
export function profileVersion(profile: ClipProfile): string {
  return createHash('sha256')
    .update(`clip-profile-1\u0000${canonical(profile)}`)
    .digest('hex')
    .slice(0, 12);
}

/** The profile the configuration asks for (CLIP_* settings); every service that names clips derives their ids from it. */
export function clipProfileFromConfig(settings: Config['clips']): ClipProfile {
  return {
    ...DEFAULT_CLIP_PROFILE,
    loudness: { ...DEFAULT_CLIP_PROFILE.loudness, integratedLufs: settings.loudnessLufs },
    landscape: { ...DEFAULT_CLIP_PROFILE.landscape, preset: settings.x264Preset },
    vertical: { ...DEFAULT_CLIP_PROFILE.vertical, ...settings.vertical, preset: settings.x264Preset },
  };
}
