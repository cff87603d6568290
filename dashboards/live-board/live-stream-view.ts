import type { Highlight } from '../../core/schemas/highlight.ts';
import { viewerTotals, type ClipSummary, type StreamFacets } from './live-stream-state.ts';

/**
 * What `GET /v1/streams/:id/live` answers and the board draws, computed from a stream's facets
 * at a given time. Pure: the same facets and time always give the same view.
 */
export interface LiveStreamView {
  stream_id: string;
  /** The registered owner (core/streams/); null for an unregistered stream, which only admins see. */
  creator_id: string | null;
  viewers: {
    /**
     * Concurrent viewers in the newest window any source partition has reached, a partition not
     * there yet counting with its newest figure (never as empty: see live-edge.ts).
     */
    current: number;
    /** Start of that window (epoch ms), null before any was reported. */
    window_start: number | null;
    /** Highest concurrent viewers seen while the stream's live state lasted. */
    peak: number;
    /** Concurrent viewers per window over the last minutes, oldest first. */
    series: Array<{ window_start: number; concurrent: number }>;
  };
  chat: {
    total: number;
    /** Messages sent in the last 10 s and 60 s (whole seconds, the current one included). */
    last_10s: number;
    last_60s: number;
    /** The same as messages per minute. */
    rate_per_min_10s: number;
    rate_per_min_60s: number;
    /** Messages per minute in 10 s bins over the last five minutes, oldest first. */
    series: Array<{ at: number; per_min: number }>;
  };
  moderation: {
    /** Verdicts by action (AI, heuristics and moderators). */
    actions: Record<string, number>;
    held_inline: number;
    blocked_inline: number;
  };
  /** Highlights detected in the last ACTIVE_HIGHLIGHT_MS. */
  active_highlights: Highlight[];
  /** The latest highlights, active or not, newest first. */
  highlights: Highlight[];
  /** The latest clips, newest first. */
  clips: ClipSummary[];
}

export const ACTIVE_HIGHLIGHT_MS = 5 * 60_000;
const CHAT_BIN_SECONDS = 10;
const CHAT_SERIES_BINS = 30;

function messagesInLastSeconds(perSecond: Array<[number, number]>, nowMs: number, seconds: number): number {
  const current = Math.floor(nowMs / 1_000);
  let count = 0;
  for (const [second, messages] of perSecond) if (second > current - seconds && second <= current) count += messages;
  return count;
}

function chatSeries(perSecond: Array<[number, number]>, nowMs: number): LiveStreamView['chat']['series'] {
  const currentBin = Math.floor(nowMs / 1_000 / CHAT_BIN_SECONDS);
  const firstBin = currentBin - CHAT_SERIES_BINS + 1;
  const bins = new Array<number>(CHAT_SERIES_BINS).fill(0);
  for (const [second, messages] of perSecond) {
    const bin = Math.floor(second / CHAT_BIN_SECONDS);
    if (bin >= firstBin && bin <= currentBin) bins[bin - firstBin]! += messages;
  }
  return bins.map((messages, index) => ({
    at: (firstBin + index) * CHAT_BIN_SECONDS * 1_000,
    per_min: (messages * 60) / CHAT_BIN_SECONDS,
  }));
}

export function liveStreamView(
  streamId: string,
  facets: StreamFacets,
  nowMs: number,
  ownerId: string | null,
): LiveStreamView {
  const totals = viewerTotals(facets.viewers, facets.sources);
  const latest = totals.at(-1);
  const writerPeak = Math.max(0, ...Object.values(facets.viewers).map((v) => v.peak));
  const perSecond = facets.chat?.per_second ?? [];
  const last10 = messagesInLastSeconds(perSecond, nowMs, 10);
  const last60 = messagesInLastSeconds(perSecond, nowMs, 60);
  const highlights = facets.highlights?.highlights ?? [];
  return {
    stream_id: streamId,
    creator_id: ownerId,
    viewers: {
      current: latest?.[1] ?? 0,
      window_start: latest?.[0] ?? null,
      peak: totals.reduce((peak, [, total]) => Math.max(peak, total), writerPeak),
      series: totals.map(([window_start, concurrent]) => ({ window_start, concurrent })),
    },
    chat: {
      total: facets.chat?.total ?? 0,
      last_10s: last10,
      last_60s: last60,
      rate_per_min_10s: last10 * 6,
      rate_per_min_60s: last60,
      series: chatSeries(perSecond, nowMs),
    },
    moderation: {
      actions: facets.moderation?.actions ?? {},
      held_inline: facets.chat?.held_inline ?? 0,
      blocked_inline: facets.chat?.blocked_inline ?? 0,
    },
    active_highlights: highlights.filter((h) => h.detected_at >= nowMs - ACTIVE_HIGHLIGHT_MS),
    highlights: highlights.slice(0, 10),
    clips: facets.clips?.clips ?? [],
  };
}
