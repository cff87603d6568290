import { describe, expect, it } from 'vitest';
import {
  landscapeClipInvocation,
  loudnessFilter,
  loudnessGainDb,
  loudnessMeasureInvocation,
  LoudnessMeasurementError,
  parseEbur128Summary,
  posterInvocation,
  spriteLayout,
  spriteVtt,
  verticalAndSpriteInvocation,
} from './commands.ts';

// What ffmpeg 5.1's ebur128 filter prints at the end of a run.
const EBUR128_SUMMARY = [
  '[Parsed_ebur128_0 @ 0x55e0fd9f5580] t: 9.9     TARGET:-23 LUFS    M: -20.7 S: -20.7     I: -20.7 LUFS       LRA:   0.1 LU  FTPK:  -7.4 dBFS  TPK:  -7.4 dBFS',
  '[Parsed_ebur128_0 @ 0x55e0fd9f5580] Summary:',
  '',
  '  Integrated loudness:',
  '    I:         -20.7 LUFS',
  '    Threshold: -30.7 LUFS',
  '',
  '  Loudness range:',
  '    LRA:         0.1 LU',
  '    Threshold: -40.7 LUFS',
  '    LRA low:   -20.7 LUFS',
  '    LRA high:  -20.6 LUFS',
  '',
  '  True peak:',
  '    Peak:       -7.4 dBFS',
].map((line) => line.trim());

describe('loudness', () => {
  it('reads the ebur128 summary', () => {
    expect(parseEbur128Summary(EBUR128_SUMMARY)).toEqual({ integratedLufs: -20.7, rangeLu: 0.1, truePeakDb: -7.4 });
  });

  it('reads silence as -inf', () => {
    const silent = EBUR128_SUMMARY.map((l) =>
      l
        .replace('-20.7 LUFS', '-70.0 LUFS')
        .replace('I:         -70.0 LUFS', 'I:         -inf LUFS')
        .replace('-7.4 dBFS', '-inf dBFS'),
    );
    expect(parseEbur128Summary(silent)).toMatchObject({ integratedLufs: -Infinity, truePeakDb: -Infinity });
  });

  it('refuses output without a summary', () => {
    expect(() => parseEbur128Summary(['frame=1'])).toThrow(LoudnessMeasurementError);
  });

  it.each([
    ['raises quiet audio to the target', { integratedLufs: -20.7, truePeakDb: -9, rangeLu: 1 }, 6.7],
    ['lowers loud audio', { integratedLufs: -8, truePeakDb: -0.5, rangeLu: 1 }, -6],
    ['stops at the true-peak ceiling', { integratedLufs: -24, truePeakDb: -3, rangeLu: 1 }, 2],
    ['leaves silence alone', { integratedLufs: -Infinity, truePeakDb: -Infinity, rangeLu: 0 }, null],
  ])('%s', (_what, measured, gain) => {
    expect(loudnessGainDb({ integratedLufs: -14, truePeakDb: -1 }, measured)).toBe(gain);
  });

  it('turns a gain into a volume filter', () => {
    expect(loudnessFilter(6.7)).toBe('volume=6.7dB');
    expect(loudnessFilter(null)).toBeNull();
  });

  it('measures only the cut, audio only', () => {
    const invocation = loudnessMeasureInvocation('in.ts', { offsetMs: 3_000, durationMs: 30_000 });
    expect(invocation.inputs[0]).toEqual({ path: 'in.ts', options: ['-ss', '3.000', '-t', '30.000'] });
    expect(invocation.outputs[0]!.options).toEqual(['-map', '0:a:0', '-af', 'ebur128=peak=true', '-f', 'null']);
    expect(invocation.logLevel).toBe('info');
  });
});

describe('landscapeClipInvocation', () => {
  const audio = { present: true, filter: 'volume=2dB', bitrateKbps: 128 };
  const reencode = { crf: 20, preset: 'veryfast', gopFrames: 60 };

  it('copies video from the keyframe, normalises audio and moves the index to the front', () => {
    const invocation = landscapeClipInvocation({
      input: 'in.ts',
      output: 'clip.mp4',
      cut: { mode: 'copy', offsetMs: 2_000, durationMs: 30_400, earlyByMs: 400 },
      audio,
      reencode,
    });
    expect(invocation.inputs).toEqual([{ path: 'in.ts', options: ['-ss', '2.000'] }]);
    const options = invocation.outputs[0]!.options;
    expect(options.slice(0, 6)).toEqual(['-t', '30.400', '-map', '0:v:0', '-c:v', 'copy']);
    expect(options).toEqual(expect.arrayContaining(['-af', 'volume=2dB', '-movflags', '+faststart']));
    expect(invocation.expectedDurationMs).toBe(30_400);
  });

  it('re-encodes with x264 when the cut says so, and drops audio when there is none', () => {
    const invocation = landscapeClipInvocation({
      input: 'in.ts',
      output: 'clip.mp4',
      cut: { mode: 'reencode', offsetMs: 2_400, durationMs: 30_000, reason: 'far keyframe' },
      audio: { ...audio, present: false },
      reencode,
    });
    const options = invocation.outputs[0]!.options;
    expect(options).toEqual(expect.arrayContaining(['-c:v', 'libx264', '-crf', '20', '-preset', 'veryfast', '-an']));
    expect(options).not.toContain('0:a:0');
  });
});

describe('poster', () => {
  it('takes one frame, scaled to the width with an even height', () => {
    const invocation = posterInvocation({ input: 'in.ts', output: 'poster.jpg', offsetMs: 15_000, width: 640 });
    expect(invocation.inputs[0]!.options).toEqual(['-ss', '15.000']);
    expect(invocation.outputs[0]!.options).toEqual(expect.arrayContaining(['-frames:v', '1', '-vf', 'scale=640:-2']));
  });
});

describe('sprite', () => {
  it.each([
    [30_000, 1280, 720, { columns: 5, rows: 3, tiles: 15, tileHeight: 90 }],
    [9_500, 640, 360, { columns: 5, rows: 1, tiles: 5, tileHeight: 90 }],
    [3_000, 320, 180, { columns: 2, rows: 1, tiles: 2, tileHeight: 90 }],
    [60_000, 1920, 1080, { columns: 5, rows: 6, tiles: 30, tileHeight: 90 }],
    [10_000, 640, 480, { columns: 5, rows: 1, tiles: 5, tileHeight: 120 }],
  ])('lays out %i ms of %ix%i', (durationMs, width, height, expected) => {
    expect(spriteLayout(durationMs, width, height, { intervalMs: 2_000, tileWidth: 160, columns: 5 })).toEqual({
      tileWidth: 160,
      ...expected,
    });
  });

  it('writes a WebVTT cue per tile pointing into the sheet', () => {
    const layout = spriteLayout(7_000, 1280, 720, { intervalMs: 2_000, tileWidth: 160, columns: 3 });
    expect(spriteVtt('sprite.jpg', layout, 7_000, 2_000)).toBe(
      [
        'WEBVTT',
        '',
        '00:00:00.000 --> 00:00:02.000',
        'sprite.jpg#xywh=0,0,160,90',
        '',
        '00:00:02.000 --> 00:00:04.000',
        'sprite.jpg#xywh=160,0,160,90',
        '',
        '00:00:04.000 --> 00:00:06.000',
        'sprite.jpg#xywh=320,0,160,90',
        '',
        '00:00:06.000 --> 00:00:07.000',
        'sprite.jpg#xywh=0,90,160,90',
        '',
      ].join('\n'),
    );
  });
});

describe('verticalAndSpriteInvocation', () => {
  it('decodes once, trims in the graph, and crops the centre 9:16 to the vertical size', () => {
    const layout = spriteLayout(30_000, 1280, 720, { intervalMs: 2_000, tileWidth: 160, columns: 5 });
    const invocation = verticalAndSpriteInvocation({
      input: 'in.ts',
      verticalOutput: 'vertical.mp4',
      spriteOutput: 'sprite.jpg',
      offsetMs: 2_400,
      durationMs: 30_000,
      audio: { present: true, filter: 'volume=1.5dB', bitrateKbps: 128 },
      vertical: { width: 720, height: 1280, crf: 23, preset: 'veryfast' },
      sprite: { intervalMs: 2_000, tileWidth: 160, columns: 5 },
      layout,
    });
    expect(invocation.inputs).toEqual([{ path: 'in.ts', options: ['-ss', '2.400'] }]);
    expect(invocation.complexFilter!.split(';')).toEqual([
      '[0:v]trim=duration=30.000,setpts=PTS-STARTPTS,split=2[vsrc][ssrc]',
      '[vsrc]crop=trunc(ih*9/16/2)*2:ih,scale=720:1280,setsar=1[vertical]',
      '[ssrc]fps=1/2,scale=160:90,tile=5x3[sprite]',
      '[0:a:0]atrim=duration=30.000,asetpts=PTS-STARTPTS,volume=1.5dB[audio]',
    ]);
    expect(invocation.outputs.map((o) => o.path)).toEqual(['vertical.mp4', 'sprite.jpg']);
    expect(invocation.outputs[0]!.options).toEqual(
      expect.arrayContaining(['-map', '[vertical]', '-map', '[audio]', '-preset', 'veryfast', '-crf', '23']),
    );
    expect(invocation.outputs[1]!.options).toEqual(expect.arrayContaining(['-map', '[sprite]', '-frames:v', '1']));
  });
});
