import { describe, expect, it } from 'vitest';
import type { MediaPlaylist, MediaSegment } from '../core/ivs/hls-playlist.ts';
import { contiguousRuns, decideCut, fetchRanges, selectSource, type PlannedPiece } from './clip-plan.ts';

const T0 = Date.parse('2026-01-01T12:00:00.000Z');

/** `count` segments of `durationMs` from `startMs`, each stamped with its program date-time. */
function segments(count: number, durationMs: number, startMs = T0, firstIndex = 0): MediaSegment[] {
  return Array.from({ length: count }, (_, i) => ({
    uri: `${firstIndex + i}.ts`,
    durationMs,
    programDateTimeMs: startMs + i * durationMs,
    discontinuity: false,
  }));
}

function playlist(list: MediaSegment[], endList: boolean): MediaPlaylist {
  return { targetDurationS: 10, mediaSequence: 0, endList, segments: list };
}

const options = { minDurationMs: 3_000 };

describe('selectSource', () => {
  // A 60 s recording of 10 s segments: T0 … T0+60 s.
  const ended = playlist(segments(6, 10_000), true);
  const live = playlist(segments(6, 10_000), false);

  it.each([
    ['inside one segment', { startMs: T0 + 12_000, endMs: T0 + 18_000 }, ['1.ts'], false],
    ['across segments', { startMs: T0 + 15_000, endMs: T0 + 45_000 }, ['1.ts', '2.ts', '3.ts', '4.ts'], false],
    ['on segment edges', { startMs: T0 + 10_000, endMs: T0 + 20_000 }, ['1.ts'], false],
    ['from before the recording (clamped)', { startMs: T0 - 20_000, endMs: T0 + 10_000 }, ['0.ts'], true],
    ['past the end of an ended recording (clamped)', { startMs: T0 + 50_000, endMs: T0 + 80_000 }, ['5.ts'], true],
  ])('covers a window %s', (_what, window, uris, clamped) => {
    const selection = selectSource(ended, window, options);
    expect(selection.kind).toBe('covered');
    if (selection.kind !== 'covered') return;
    expect(selection.pieces.map((p) => p.uri)).toEqual(uris);
    expect(selection.clamped).toBe(clamped);
    expect(selection.window.startMs).toBe(Math.max(window.startMs, T0));
    expect(selection.window.endMs).toBe(Math.min(window.endMs, T0 + 60_000));
  });

  it('waits while a live recording has not reached the window end', () => {
    expect(selectSource(live, { startMs: T0 + 50_000, endMs: T0 + 75_000 }, options)).toEqual({
      kind: 'pending',
      recordedUntilMs: T0 + 60_000,
      missingMs: 15_000,
    });
    expect(selectSource(playlist([], false), { startMs: T0, endMs: T0 + 10_000 }, options)).toEqual({
      kind: 'pending',
      recordedUntilMs: null,
      missingMs: 10_000,
    });
    expect(selectSource(live, { startMs: T0 + 20_000, endMs: T0 + 50_000 }, options).kind).toBe('covered');
  });

  it.each([
    ['ends before the recording', { startMs: T0 - 30_000, endMs: T0 }, /ends before the recording starts/],
    ['starts after it ended', { startMs: T0 + 60_000, endMs: T0 + 90_000 }, /starts after the recording ended/],
    ['barely overlaps it', { startMs: T0 + 58_000, endMs: T0 + 88_000 }, /only 2000 ms of the window were recorded/],
    ['is empty', { startMs: T0 + 5_000, endMs: T0 + 5_000 }, /window is empty/],
  ])('refuses a window that %s', (_what, window, reason) => {
    const selection = selectSource(ended, window, options);
    expect(selection.kind).toBe('outside');
    if (selection.kind === 'outside') expect(selection.reason).toMatch(reason);
  });

  it('refuses a recording without program date-times, and an ended empty one', () => {
    expect(
      selectSource(
        playlist([{ uri: '0.ts', durationMs: 10_000, discontinuity: false }], true),
        { startMs: T0, endMs: T0 + 5_000 },
        options,
      ),
    ).toMatchObject({ kind: 'outside', reason: expect.stringMatching(/no program date-time/) as unknown });
    expect(selectSource(playlist([], true), { startMs: T0, endMs: T0 + 5_000 }, options)).toMatchObject({
      kind: 'outside',
    });
  });

  it('keeps to the contiguous run that holds most of the window when the stream reconnected', () => {
    // 0–20 s, a 30 s gap (reconnect merged into one recording), then 50–80 s after a discontinuity.
    const second = segments(3, 10_000, T0 + 50_000, 2).map((s, i) => ({ ...s, discontinuity: i === 0 }));
    const merged = playlist([...segments(2, 10_000), ...second], true);
    const selection = selectSource(merged, { startMs: T0 + 45_000, endMs: T0 + 70_000 }, options);
    expect(selection).toMatchObject({
      kind: 'covered',
      clamped: true,
      window: { startMs: T0 + 50_000, endMs: T0 + 70_000 },
    });
    if (selection.kind === 'covered') expect(selection.pieces.map((p) => p.uri)).toEqual(['2.ts', '3.ts']);
    expect(selectSource(merged, { startMs: T0 + 25_000, endMs: T0 + 45_000 }, options)).toMatchObject({
      kind: 'outside',
      reason: expect.stringMatching(/gap/) as unknown,
    });
  });

  it('splits runs at discontinuities and at program date-time jumps', () => {
    const pieces = segments(4, 2_000) as PlannedPiece[];
    pieces[2] = { ...pieces[2]!, programDateTimeMs: pieces[2]!.programDateTimeMs + 5_000 };
    expect(contiguousRuns(pieces, 1_500).map((run) => run.map((p) => p.uri))).toEqual([
      ['0.ts', '1.ts'],
      ['2.ts'],
      ['3.ts'],
    ]);
  });
});

describe('fetchRanges', () => {
  it('merges neighbouring sub-ranges of one file into one GET', () => {
    const pieces: PlannedPiece[] = [
      {
        uri: '0.ts',
        durationMs: 1_000,
        programDateTimeMs: T0,
        byteRange: { offset: 1_000, length: 500 },
        discontinuity: false,
      },
      {
        uri: '0.ts',
        durationMs: 1_000,
        programDateTimeMs: T0 + 1_000,
        byteRange: { offset: 1_500, length: 700 },
        discontinuity: false,
      },
      {
        uri: '1.ts',
        durationMs: 1_000,
        programDateTimeMs: T0 + 2_000,
        byteRange: { offset: 0, length: 300 },
        discontinuity: false,
      },
      {
        uri: '1.ts',
        durationMs: 1_000,
        programDateTimeMs: T0 + 3_000,
        byteRange: { offset: 400, length: 100 },
        discontinuity: false,
      },
    ];
    expect(fetchRanges(pieces)).toEqual([
      { uri: '0.ts', range: { start: 1_000, end: 2_199 } },
      { uri: '1.ts', range: { start: 0, end: 299 } },
      { uri: '1.ts', range: { start: 400, end: 499 } },
    ]);
  });

  it('fetches whole segments when the playlist has no byte ranges', () => {
    expect(fetchRanges(segments(3, 10_000) as PlannedPiece[])).toEqual([
      { uri: '0.ts' },
      { uri: '1.ts' },
      { uri: '2.ts' },
    ]);
  });
});

describe('decideCut', () => {
  const keyframes = [0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000];

  it.each([
    [
      'copies from the keyframe at the start',
      3_000,
      { mode: 'copy', offsetMs: 3_000, durationMs: 10_000, earlyByMs: 0 },
    ],
    [
      'copies from the keyframe just before the start, ending on time',
      3_400,
      { mode: 'copy', offsetMs: 3_000, durationMs: 10_000, earlyByMs: 400 },
    ],
  ])('%s', (_what, startOffset, expected) => {
    expect(
      decideCut({
        inputStartMs: T0,
        keyframeOffsetsMs: keyframes,
        window: { startMs: T0 + startOffset, endMs: T0 + 13_000 },
        maxEarlyStartMs: 1_500,
      }),
    ).toEqual(expected);
  });

  it('re-encodes for exact edges when the nearest keyframe is too early', () => {
    const cut = decideCut({
      inputStartMs: T0,
      keyframeOffsetsMs: [0, 10_000],
      window: { startMs: T0 + 6_000, endMs: T0 + 20_000 },
      maxEarlyStartMs: 1_500,
    });
    expect(cut).toMatchObject({
      mode: 'reencode',
      offsetMs: 6_000,
      durationMs: 14_000,
      reason: expect.stringMatching(/6000 ms before the start/) as unknown,
    });
  });

  it('re-encodes when the input has no keyframe before the start', () => {
    expect(
      decideCut({
        inputStartMs: T0,
        keyframeOffsetsMs: [2_000],
        window: { startMs: T0 + 500, endMs: T0 + 5_000 },
        maxEarlyStartMs: 1_500,
      }),
    ).toMatchObject({ mode: 'reencode', offsetMs: 500 });
  });

  it('tolerates a keyframe a millisecond late (timestamp rounding)', () => {
    expect(
      decideCut({
        inputStartMs: T0,
        keyframeOffsetsMs: [0, 2_000.5],
        window: { startMs: T0 + 2_000, endMs: T0 + 5_000 },
        maxEarlyStartMs: 1_500,
      }),
    ).toMatchObject({ mode: 'copy', offsetMs: 2_000.5 });
  });
});
