import type { Cut } from '../clip-plan.ts';
import type { LoudnessTarget, SpriteProfile, VerticalProfile } from '../../core/clips/clip-profile.ts';
import type { FfmpegInvocation } from './ffmpeg.ts';

/**
 * The ffmpeg invocations of a clip, as pure functions of the plan and the profile, so what runs
 * is readable and tested without running it.
 */
/** The ebur128 filter's summary of the clip's audio. */
export interface LoudnessMeasurement {
  /** -Infinity for silence. */
  integratedLufs: number;
  truePeakDb: number;
  rangeLu: number;
}

export const seconds = (ms: number) => (ms / 1000).toFixed(3);

/**
 * Pass 1: measure the clip's audio with ebur128 (integrated loudness, range, true peak). It is
 * about three times cheaper than loudnorm's analysis, which resamples to 192 kHz, and the fast
 * path has a budget of seconds.
 */
export function loudnessMeasureInvocation(input: string, cut: Pick<Cut, 'offsetMs' | 'durationMs'>): FfmpegInvocation {
  return {
    label: 'loudness analysis',
    inputs: [{ path: input, options: ['-ss', seconds(cut.offsetMs), '-t', seconds(cut.durationMs)] }],
    outputs: [{ path: '-', options: ['-map', '0:a:0', '-af', 'ebur128=peak=true', '-f', 'null'] }],
    expectedDurationMs: cut.durationMs,
    logLevel: 'info',
  };
}

export class LoudnessMeasurementError extends Error {
  constructor(detail: string) {
    super(`ebur128 printed no loudness summary: ${detail}`);
    this.name = 'LoudnessMeasurementError';
  }
}

/** Reads the `Summary:` block ebur128 prints at the end (`I: -20.7 LUFS`, `LRA: 0.1 LU`, `Peak: -7.4 dBFS`). */
export function parseEbur128Summary(stderrLines: string[]): LoudnessMeasurement {
  const summaryAt = stderrLines.findLastIndex((line) => /Parsed_ebur128_\d+ @ .*\] Summary:/.test(line));
  if (summaryAt === -1) throw new LoudnessMeasurementError('no Summary block in the output');
  const summary = stderrLines.slice(summaryAt + 1);
  const figure = (pattern: RegExp, name: string) => {
    for (const line of summary) {
      const match = pattern.exec(line);
      if (match) return match[1] === '-inf' ? -Infinity : Number(match[1]);
    }
    throw new LoudnessMeasurementError(`${name} is missing`);
  };
  return {
    integratedLufs: figure(/^I:\s+(-inf|-?\d+(?:\.\d+)?) LUFS/, 'integrated loudness'),
    rangeLu: figure(/^LRA:\s+(-?\d+(?:\.\d+)?) LU/, 'loudness range'),
    truePeakDb: figure(/^Peak:\s+(-inf|-?\d+(?:\.\d+)?) dBFS/, 'true peak'),
  };
}

/**
 * Linear normalisation as one gain: up or down to the target loudness, but never so far up
 * that the true peak passes the ceiling (the clip then stays a little quieter rather than being
 * limited). Silence cannot be normalised: null, and the audio is left as it is.
 */
export function loudnessGainDb(target: LoudnessTarget, measured: LoudnessMeasurement | null): number | null {
  if (!measured || !Number.isFinite(measured.integratedLufs)) return null;
  const toTarget = target.integratedLufs - measured.integratedLufs;
  const headroom = Number.isFinite(measured.truePeakDb) ? target.truePeakDb - measured.truePeakDb : toTarget;
  return Math.round(Math.min(toTarget, headroom) * 100) / 100;
}

export function loudnessFilter(gainDb: number | null): string | null {
  return gainDb === null ? null : `volume=${gainDb}dB`;
}

export interface AudioPlan {
  present: boolean;
  filter: string | null;
  bitrateKbps: number;
}

/** The fast clip's audio: its AAC encode is most of that clip's CPU, and the "fast" coder halves it. */
function fastClipAudioOptions(audio: AudioPlan): string[] {
  if (!audio.present) return ['-an'];
  const filter = audio.filter ? ['-af', audio.filter] : [];
  return [
    '-map',
    '0:a:0',
    ...filter,
    '-c:a',
    'aac',
    '-aac_coder',
    'fast',
    '-b:a',
    `${audio.bitrateKbps}k`,
    '-ar',
    '48000',
    '-ac',
    '2',
  ];
}

/**
 * The landscape clip: video copied from the keyframe the plan chose (or re-encoded for exact
 * edges), audio loudness-normalised, `+faststart` so players start before the download ends.
 */
export function landscapeClipInvocation(options: {
  input: string;
  output: string;
  cut: Cut;
  audio: AudioPlan;
  reencode: { crf: number; preset: string; gopFrames: number };
}): FfmpegInvocation {
  const { input, output, cut, audio, reencode } = options;
  const video =
    cut.mode === 'copy'
      ? ['-c:v', 'copy']
      : [
          '-c:v',
          'libx264',
          '-preset',
          reencode.preset,
          '-crf',
          String(reencode.crf),
          '-pix_fmt',
          'yuv420p',
          '-g',
          String(reencode.gopFrames),
        ];
  return {
    label: 'clip.mp4',
    inputs: [{ path: input, options: ['-ss', seconds(cut.offsetMs)] }],
    outputs: [
      {
        path: output,
        options: [
          '-t',
          seconds(cut.durationMs),
          '-map',
          '0:v:0',
          ...video,
          ...fastClipAudioOptions(audio),
          '-avoid_negative_ts',
          'make_zero',
          '-movflags',
          '+faststart',
          '-f',
          'mp4',
          '-y',
        ],
      },
    ],
    expectedDurationMs: cut.durationMs,
  };
}

export function posterInvocation(options: {
  input: string;
  output: string;
  offsetMs: number;
  width: number;
}): FfmpegInvocation {
  return {
    label: 'poster.jpg',
    inputs: [{ path: options.input, options: ['-ss', seconds(options.offsetMs)] }],
    outputs: [
      {
        path: options.output,
        options: [
          '-map',
          '0:v:0',
          '-frames:v',
          '1',
          '-vf',
          `scale=${options.width}:-2`,
          '-q:v',
          '3',
          '-f',
          'image2',
          '-y',
        ],
      },
    ],
  };
}

export interface SpriteLayout {
  columns: number;
  rows: number;
  tiles: number;
  tileWidth: number;
  tileHeight: number;
}

/** One tile per interval, in a grid `columns` wide; tile height keeps the aspect ratio (even, as scale=-2 does). */
export function spriteLayout(
  durationMs: number,
  sourceWidth: number,
  sourceHeight: number,
  profile: SpriteProfile,
): SpriteLayout {
  const tiles = Math.max(1, Math.ceil(durationMs / profile.intervalMs));
  const columns = Math.min(profile.columns, tiles);
  return {
    columns,
    rows: Math.ceil(tiles / columns),
    tiles,
    tileWidth: profile.tileWidth,
    tileHeight: Math.max(2, Math.round((profile.tileWidth * sourceHeight) / sourceWidth / 2) * 2),
  };
}

/** WebVTT thumbnails track: one cue per tile, pointing into the sprite with a media fragment. */
export function spriteVtt(spriteFile: string, layout: SpriteLayout, durationMs: number, intervalMs: number): string {
  const stamp = (ms: number) => {
    const total = Math.max(0, Math.round(ms));
    const h = Math.floor(total / 3_600_000);
    const m = Math.floor((total % 3_600_000) / 60_000);
    const s = Math.floor((total % 60_000) / 1000);
    const millis = total % 1000;
    return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(millis).padStart(3, '0')}`;
  };
  const cues = ['WEBVTT', ''];
  for (let index = 0; index < layout.tiles; index++) {
    const from = index * intervalMs;
    const to = Math.min(durationMs, from + intervalMs);
    const x = (index % layout.columns) * layout.tileWidth;
    const y = Math.floor(index / layout.columns) * layout.tileHeight;
    cues.push(
      `${stamp(from)} --> ${stamp(to)}`,
      `${spriteFile}#xywh=${x},${y},${layout.tileWidth},${layout.tileHeight}`,
      '',
    );
  }
  return cues.join('\n');
}

/**
 * The re-encoded outputs, decoded once and split: the vertical 9:16 version (centre crop,
 * frame-exact edges) and the sprite sheet. The window is cut with trim/atrim inside the graph:
 * an input `-t` after an input seek miscounts on streams with B-frames (ffmpeg 5.1 makes a
 * 10 s cut 10.73 s long), and trimming ends every branch together.
 */
export function verticalAndSpriteInvocation(options: {
  input: string;
  verticalOutput: string;
  spriteOutput: string;
  offsetMs: number;
  durationMs: number;
  audio: AudioPlan;
  vertical: VerticalProfile;
  sprite: SpriteProfile;
  layout: SpriteLayout;
}): FfmpegInvocation {
  const { input, verticalOutput, spriteOutput, offsetMs, durationMs, audio, vertical, sprite, layout } = options;
  const framesPerTile = `1/${sprite.intervalMs / 1000}`;
  const graph = [
    `[0:v]trim=duration=${seconds(durationMs)},setpts=PTS-STARTPTS,split=2[vsrc][ssrc]`,
    // Centre 9:16 crop of the full height, width rounded down to even for yuv420p.
    `[vsrc]crop=trunc(ih*9/16/2)*2:ih,scale=${vertical.width}:${vertical.height},setsar=1[vertical]`,
    `[ssrc]fps=${framesPerTile},scale=${layout.tileWidth}:${layout.tileHeight},tile=${layout.columns}x${layout.rows}[sprite]`,
  ];
  const audioOutput: string[] = ['-an'];
  if (audio.present) {
    graph.push(
      `[0:a:0]atrim=duration=${seconds(durationMs)},asetpts=PTS-STARTPTS${audio.filter ? `,${audio.filter}` : ''}[audio]`,
    );
    audioOutput.splice(
      0,
      1,
      '-map',
      '[audio]',
      '-c:a',
      'aac',
      '-b:a',
      `${audio.bitrateKbps}k`,
      '-ar',
      '48000',
      '-ac',
      '2',
    );
  }
  return {
    label: 'vertical.mp4 + sprite.jpg',
    inputs: [{ path: input, options: ['-ss', seconds(offsetMs)] }],
    complexFilter: graph.join(';'),
    outputs: [
      {
        path: verticalOutput,
        options: [
          '-map',
          '[vertical]',
          '-c:v',
          'libx264',
          '-preset',
          vertical.preset,
          '-crf',
          String(vertical.crf),
          '-pix_fmt',
          'yuv420p',
          ...audioOutput,
          '-movflags',
          '+faststart',
          '-f',
          'mp4',
          '-y',
        ],
      },
      { path: spriteOutput, options: ['-map', '[sprite]', '-frames:v', '1', '-q:v', '4', '-f', 'image2', '-y'] },
    ],
    expectedDurationMs: durationMs,
  };
}
