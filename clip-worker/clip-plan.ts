import type { MediaPlaylist, MediaSegment } from '../core/ivs/hls-playlist.ts';

/**
 * Clip planning, pure: which recorded media covers a wall-clock window (by program date-time),
 * which bytes to fetch, and whether the fast path (stream copy from a keyframe) meets the
 * requested edges or the clip must be re-encoded.
 */
export interface ClipWindow {
  startMs: number;
  endMs: number;
}

export type PlannedPiece = MediaSegment & { programDateTimeMs: number };

export type SourceSelection =
  /** The recording holds the window (clamped to what was recorded, when the recording has ended). */
  | { kind: 'covered'; window: ClipWindow; pieces: PlannedPiece[]; clamped: boolean }
  /** Live: the window ends after the last recorded media; wait for the playlist to grow. */
  | { kind: 'pending'; recordedUntilMs: number | null; missingMs: number }
  | { kind: 'outside'; reason: string };

export interface SelectionOptions {
  /** Shortest clip worth making once the window is clamped to the recording. */
  minDurationMs: number;
  /** A jump in program date-time larger than this between segments splits the recording. */
  gapToleranceMs?: number;
}

function endOf(piece: PlannedPiece): number {
  return piece.programDateTimeMs + piece.durationMs;
}

/** Contiguous runs of media: split at discontinuities and at program date-time gaps. */
export function contiguousRuns(pieces: PlannedPiece[], gapToleranceMs: number): PlannedPiece[][] {
  const runs: PlannedPiece[][] = [];
  for (const piece of pieces) {
    const run = runs.at(-1);
    const previous = run?.at(-1);
    if (
      !run ||
      !previous ||
      piece.discontinuity ||
      Math.abs(piece.programDateTimeMs - endOf(previous)) > gapToleranceMs
    )
      runs.push([piece]);
    else run.push(piece);
  }
  return runs;
}

export function selectSource(
  playlist: MediaPlaylist,
  window: ClipWindow,
  { minDurationMs, gapToleranceMs = 1_500 }: SelectionOptions,
): SourceSelection {
  if (window.endMs <= window.startMs)
    return { kind: 'outside', reason: `the window is empty (${window.startMs}–${window.endMs})` };
  if (playlist.segments.length === 0) {
    return playlist.endList
      ? { kind: 'outside', reason: 'the recording has no media' }
      : { kind: 'pending', recordedUntilMs: null, missingMs: window.endMs - window.startMs };
  }
  const unstamped = playlist.segments.findIndex((s) => s.programDateTimeMs === undefined);
  if (unstamped !== -1)
    return {
      kind: 'outside',
      reason: `segment ${playlist.segments[unstamped]!.uri} has no program date-time, so it cannot be placed in time`,
    };
  const runs = contiguousRuns(playlist.segments as PlannedPiece[], gapToleranceMs);

  const recordedUntil = endOf(runs.at(-1)!.at(-1)!);
  if (!playlist.endList && window.endMs > recordedUntil) {
    return { kind: 'pending', recordedUntilMs: recordedUntil, missingMs: window.endMs - recordedUntil };
  }

  const overlapOf = (run: PlannedPiece[]) =>
    Math.max(0, Math.min(window.endMs, endOf(run.at(-1)!)) - Math.max(window.startMs, run[0]!.programDateTimeMs));
  const best = runs.reduce((a, b) => (overlapOf(b) > overlapOf(a) ? b : a));
  const overlap = overlapOf(best);
  const recordedFrom = runs[0]![0]!.programDateTimeMs;
  if (overlap === 0) {
    if (window.endMs <= recordedFrom) return { kind: 'outside', reason: 'the window ends before the recording starts' };
    if (window.startMs >= recordedUntil)
      return { kind: 'outside', reason: 'the window starts after the recording ended' };
    return { kind: 'outside', reason: 'the window falls in a gap of the recording' };
  }
  if (overlap < minDurationMs)
    return { kind: 'outside', reason: `only ${overlap} ms of the window were recorded (minimum ${minDurationMs} ms)` };
  const clampedWindow = {
    startMs: Math.max(window.startMs, best[0]!.programDateTimeMs),
    endMs: Math.min(window.endMs, endOf(best.at(-1)!)),
  };
  const pieces = best.filter((p) => p.programDateTimeMs < clampedWindow.endMs && endOf(p) > clampedWindow.startMs);
  return {
    kind: 'covered',
    window: clampedWindow,
    pieces,
    clamped: clampedWindow.startMs !== window.startMs || clampedWindow.endMs !== window.endMs,
  };
}

/** One GET: a whole object, or one contiguous byte range of it. */
export interface FetchRange {
  uri: string;
  range?: { start: number; end: number };
}

/** Merges neighbouring sub-ranges of the same file, so a clip costs one GET per segment file. */
export function fetchRanges(pieces: PlannedPiece[]): FetchRange[] {
  const ranges: FetchRange[] = [];
  for (const piece of pieces) {
    const last = ranges.at(-1);
    if (!piece.byteRange) {
      if (last?.uri !== piece.uri || last.range) ranges.push({ uri: piece.uri });
      continue;
    }
    const start = piece.byteRange.offset;
    const end = start + piece.byteRange.length - 1;
    if (last && last.uri === piece.uri && last.range && last.range.end + 1 === start) last.range.end = end;
    else ranges.push({ uri: piece.uri, range: { start, end } });
  }
  return ranges;
}

export type Cut =
  /** Stream copy from a keyframe at or before the window start: fast, starts up to `earlyByMs` early. */
  | { mode: 'copy'; offsetMs: number; durationMs: number; earlyByMs: number }
  /** Re-encode: frame-exact edges. */
  | { mode: 'reencode'; offsetMs: number; durationMs: number; reason: string };

export interface CutInput {
  /** Program date-time of the first fetched piece: offset 0 of the assembled input. */
  inputStartMs: number;
  /** Keyframe offsets in the assembled input (ms from its first timestamp), ascending. */
  keyframeOffsetsMs: number[];
  window: ClipWindow;
  /** How much earlier than requested a copied clip may start. */
  maxEarlyStartMs: number;
}

export function decideCut({ inputStartMs, keyframeOffsetsMs, window, maxEarlyStartMs }: CutInput): Cut {
  const startOffset = Math.max(0, window.startMs - inputStartMs);
  const endOffset = window.endMs - inputStartMs;
  const exact = { offsetMs: startOffset, durationMs: endOffset - startOffset };
  const keyframe = [...keyframeOffsetsMs].reverse().find((k) => k <= startOffset + 1);
  if (keyframe === undefined)
    return { mode: 'reencode', ...exact, reason: 'no keyframe at or before the window start' };
  const earlyBy = Math.max(0, startOffset - keyframe);
  if (earlyBy > maxEarlyStartMs) {
    return {
      mode: 'reencode',
      ...exact,
      reason: `the nearest keyframe is ${Math.round(earlyBy)} ms before the start (limit ${maxEarlyStartMs} ms)`,
    };
  }
  return { mode: 'copy', offsetMs: keyframe, durationMs: endOffset - keyframe, earlyByMs: earlyBy };
}
