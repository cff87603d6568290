import { describe, expect, it } from 'vitest';
import { byteRangeSubSegments, syntheticEncodeInvocation, withProgramDateTimes } from './synthetic-stream.ts';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

describe('withProgramDateTimes', () => {
  it('stamps segments back to back from the start', () => {
    const stamped = withProgramDateTimes(
      [
        { uri: '0.ts', durationMs: 4_000, discontinuity: false },
        { uri: '1.ts', durationMs: 4_000, discontinuity: false },
        { uri: '2.ts', durationMs: 1_500, discontinuity: false },
      ],
      T0,
    );
    expect(stamped.map((s) => s.programDateTimeMs)).toEqual([T0, T0 + 4_000, T0 + 8_000]);
  });
});

describe('byteRangeSubSegments', () => {
  const segment = { uri: '3.ts', durationMs: 4_000, programDateTimeMs: T0 + 12_000, discontinuity: false };

  it('cuts a sub-range per keyframe, each with its program date-time', () => {
    const ranges = byteRangeSubSegments(segment, 400_000, [
      { ptsMs: 13_466.7, rangeStart: 0 },
      { ptsMs: 14_466.7, rangeStart: 98_324 },
      { ptsMs: 15_466.7, rangeStart: 201_536 },
      { ptsMs: 16_466.7, rangeStart: 297_540 },
    ]);
    expect(ranges).toEqual([
      {
        uri: '3.ts',
        durationMs: 1_000,
        programDateTimeMs: T0 + 12_000,
        byteRange: { offset: 0, length: 98_324 },
        discontinuity: false,
      },
      {
        uri: '3.ts',
        durationMs: 1_000,
        programDateTimeMs: T0 + 13_000,
        byteRange: { offset: 98_324, length: 103_212 },
        discontinuity: false,
      },
      {
        uri: '3.ts',
        durationMs: 1_000,
        programDateTimeMs: T0 + 14_000,
        byteRange: { offset: 201_536, length: 96_004 },
        discontinuity: false,
      },
      {
        uri: '3.ts',
        durationMs: 1_000,
        programDateTimeMs: T0 + 15_000,
        byteRange: { offset: 297_540, length: 102_460 },
        discontinuity: false,
      },
    ]);
    expect(ranges.reduce((sum, r) => sum + r.byteRange!.length, 0)).toBe(400_000);
  });

  it('keeps the segment whole when it has one keyframe (or none was found)', () => {
    expect(byteRangeSubSegments(segment, 50_000, [{ ptsMs: 1, rangeStart: 0 }])).toEqual([
      { ...segment, byteRange: { offset: 0, length: 50_000 } },
    ]);
    expect(byteRangeSubSegments(segment, 50_000, [])).toEqual([
      { ...segment, byteRange: { offset: 0, length: 50_000 } },
    ]);
  });
});

describe('syntheticEncodeInvocation', () => {
  it('encodes every rendition from one test pattern, with 1 s GOPs cut into HLS segments', () => {
    const invocation = syntheticEncodeInvocation({
      directory: '/tmp/b',
      renditions: [
        { name: '720p30', width: 1280, height: 720, videoKbps: 2_500 },
        { name: '360p30', width: 640, height: 360, videoKbps: 700 },
      ],
      durationSeconds: 30,
      segmentSeconds: 4,
      fps: 30,
      realtime: true,
    });
    expect(invocation.inputs[0]).toEqual({ path: 'testsrc2=size=1280x720:rate=30', options: ['-re', '-f', 'lavfi'] });
    expect(invocation.complexFilter).toBe('[0:v]split=2[s0][s1];[s0]scale=1280:720[v0];[s1]scale=640:360[v1]');
    const options = invocation.outputs[0]!.options;
    expect(options).toEqual(
      expect.arrayContaining([
        '-g',
        '30',
        '-sc_threshold',
        '0',
        '-hls_time',
        '4',
        '-var_stream_map',
        'v:0,a:0,name:720p30 v:1,a:1,name:360p30',
      ]),
    );
    expect(invocation.outputs[0]!.path).toBe('/tmp/b/%v/playlist.m3u8');
  });
});
