import type { ChatMessage, ChatVerdict } from '../../core/schemas/chat.ts';
import type { ClipEvent, Highlight } from '../../core/schemas/highlight.ts';
import type { AggregatesMessage } from '../../core/analytics/aggregate-messages.ts';
import { liveEdgeSeries } from '../../core/analytics/live-edge.ts';

/**
 * The live state of one stream, as facets. Each facet has exactly one writer at a time: the
 * consumer-group member that owns the bus partition its input comes from (a stream's chat,
 * verdicts, highlights and clips are keyed by stream; viewer window rows by the processor's
 * source partition, so there is one viewers facet per source partition). The live-state port
 * stores the facets as fields of one hash per stream, so writers never overwrite each other.
 *
 * Every fold is pure and idempotent: a redelivered batch changes nothing. Viewer rows carry
 * versions (later wins); highlights and clips carry ids; chat and verdict counts remember the
 * last offset they applied from their partition.
 */

/** Viewer windows kept per source partition: five minutes of 10 s windows. */
export const RETAINED_VIEWER_WINDOWS = 30;
/** Chat is counted per second; this many seconds are kept (the velocity chart's span). */
export const RETAINED_CHAT_SECONDS = 300;
export const RETAINED_HIGHLIGHTS = 20;
export const RETAINED_CLIPS = 12;

/** One source partition's view of a stream: its latest count per window. */
export interface ViewerPartitionFacet {
  creator_id: string;
  /** [window start (epoch ms), concurrent views, version], ascending by window start. */
  windows: Array<[number, number, string]>;
  /** Highest total over all partitions this writer has computed for the stream. */
  peak: number;
}

export interface ChatFacet {
  /** Last offset applied, per partition of `chat.messages`. */
  applied: Record<string, string>;
  total: number;
  held_inline: number;
  blocked_inline: number;
  /** [second (epoch s), messages], ascending. */
  per_second: Array<[number, number]>;
}

export interface ModerationFacet {
  /** Last offset applied, per partition of `chat.verdicts`. */
  applied: Record<string, string>;
  /** Verdicts by action (remove, timeout, ban, hold, …). */
  actions: Record<string, number>;
}

export interface HighlightsFacet {
  /** Newest detection first. */
  highlights: Highlight[];
}

/** What the board shows of a clip; files are served by name from `/v1/clips/:clipId/files/:name`. */
export interface ClipSummary {
  clip_id: string;
  highlight_id: string;
  status: ClipEvent['status'];
  start: number;
  end: number;
  duration_ms?: number;
  /** Output names (mp4, thumbnail, vertical, …), never object keys. */
  outputs: string[];
  reason?: string;
  finished_at: number;
}

export interface ClipsFacet {
  /** Newest first. */
  clips: ClipSummary[];
}

/** A stream's live facets. Who owns the stream is not among them: that is the stream registry's (core/streams/). */
export interface StreamFacets {
  /** Source (`group:partition`) → that partition's viewer windows. */
  viewers: Record<string, ViewerPartitionFacet>;
  /** Source → how far it has got (shared by every stream: one record per source partition). */
  sources?: Record<string, SourceProgress>;
  chat?: ChatFacet;
  moderation?: ModerationFacet;
  highlights?: HighlightsFacet;
  clips?: ClipsFacet;
}

/** How far a source partition has got: the window its watermark is in, from its `viewer_watermark` messages. */
export interface SourceProgress {
  reached: number;
  version: string;
}

/** A validated message with where it sat on the bus. */
export interface Positioned<T> {
  partition: number;
  offset: string;
  value: T;
}

/** The stream's windows as one source partition reported them in one message. */
export interface ViewerWindowUpdate {
  source: string;
  creatorId: string;
  version: string;
  /** [window start, concurrent views]. */
  windows: Array<[number, number]>;
}

/** The source and its progress when the message is a watermark, else undefined. */
export function sourceProgressOf(message: AggregatesMessage): [string, SourceProgress] | undefined {
  if (message.type !== 'viewer_watermark') return undefined;
  return [
    `${message.group}:${message.source_partition}`,
    { reached: message.watermark_window_start, version: message.version },
  ];
}

/** Splits an aggregates message into per-stream updates (only `all` rows count viewers). */
export function viewerWindowUpdates(message: AggregatesMessage): Map<string, ViewerWindowUpdate> {
  const updates = new Map<string, ViewerWindowUpdate>();
  if (message.type === 'viewer_watermark') return updates;
  const source = `${message.group}:${message.source_partition}`;
  for (const row of message.rows) {
    if (row.dimension !== 'all') continue;
    let update = updates.get(row.stream_id);
    if (!update) {
      update = { source, creatorId: row.creator_id, version: message.version, windows: [] };
      updates.set(row.stream_id, update);
    }
    update.windows.push([row.window_start, row.concurrent_views]);
  }
  return updates;
}

const newerOrSameVersion = (candidate: string, current: string) => BigInt(candidate) >= BigInt(current);

/** A source's progress after an update: a redelivered older watermark never moves it back. */
export function foldSourceProgress(current: SourceProgress | undefined, next: SourceProgress): SourceProgress {
  return !current || newerOrSameVersion(next.version, current.version) ? next : current;
}

export function foldViewerWindows(
  facet: ViewerPartitionFacet | undefined,
  update: ViewerWindowUpdate,
): ViewerPartitionFacet {
  const byStart = new Map<number, [number, number, string]>((facet?.windows ?? []).map((w) => [w[0], w]));
  for (const [start, concurrent] of update.windows) {
    const current = byStart.get(start);
    if (!current || newerOrSameVersion(update.version, current[2]))
      byStart.set(start, [start, concurrent, update.version]);
  }
  const windows = [...byStart.values()].sort((a, b) => a[0] - b[0]).slice(-RETAINED_VIEWER_WINDOWS);
  return { creator_id: update.creatorId, windows, peak: facet?.peak ?? 0 };
}

/**
 * Concurrent viewers of a stream per window, at the live edge: summed over source partitions
 * (exact, because every view lives in one partition), a partition that has not reached a window
 * yet counting with its newest figure rather than as empty (live-edge.ts). `sources` says how far
 * each partition has got; without it, only the rows present are summed.
 */
export function viewerTotals(
  viewers: Record<string, ViewerPartitionFacet>,
  sources: Record<string, SourceProgress> = {},
): Array<[number, number]> {
  return liveEdgeSeries(
    Object.entries(viewers).map(([source, facet]) => ({ windows: facet.windows, reached: sources[source]?.reached })),
  );
}

/**
 * The writer's peak after an update: the best total it can see, and never lower than before. Only
 * rows present are summed (a window some partition has not reported yet can only read lower, so
 * it never raises the peak).
 */
export function peakAfter(viewers: Record<string, ViewerPartitionFacet>, previousPeak: number): number {
  return viewerTotals(viewers).reduce((peak, [, total]) => Math.max(peak, total), previousPeak);
}

/** Messages past the last offset applied from their partition, so a redelivery is not counted twice. */
function unapplied<T>(applied: Record<string, string>, items: Positioned<T>[]): Positioned<T>[] {
  return items.filter((item) => {
    const last = applied[item.partition];
    return last === undefined || BigInt(item.offset) > BigInt(last);
  });
}

function markApplied<T>(applied: Record<string, string>, items: Positioned<T>[]): Record<string, string> {
  const next = { ...applied };
  for (const item of items) {
    const last = next[item.partition];
    if (last === undefined || BigInt(item.offset) > BigInt(last)) next[item.partition] = item.offset;
  }
  return next;
}

export function foldChat(facet: ChatFacet | undefined, messages: Positioned<ChatMessage>[]): ChatFacet {
  const base: ChatFacet = facet ?? { applied: {}, total: 0, held_inline: 0, blocked_inline: 0, per_second: [] };
  const fresh = unapplied(base.applied, messages);
  if (fresh.length === 0) return base;
  const perSecond = new Map(base.per_second);
  let { total, held_inline: held, blocked_inline: blocked } = base;
  for (const { value } of fresh) {
    total += 1;
    if (value.heuristic_decision === 'hold') held += 1;
    if (value.heuristic_decision === 'block') blocked += 1;
    const second = Math.floor(value.sent_at / 1_000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  const newest = Math.max(...perSecond.keys());
  const per_second = [...perSecond]
    .filter(([second]) => second > newest - RETAINED_CHAT_SECONDS)
    .sort((a, b) => a[0] - b[0]);
  return { applied: markApplied(base.applied, fresh), total, held_inline: held, blocked_inline: blocked, per_second };
}

export function foldVerdicts(facet: ModerationFacet | undefined, verdicts: Positioned<ChatVerdict>[]): ModerationFacet {
  const base: ModerationFacet = facet ?? { applied: {}, actions: {} };
  const fresh = unapplied(base.applied, verdicts);
  if (fresh.length === 0) return base;
  const actions = { ...base.actions };
  for (const { value } of fresh) actions[value.action] = (actions[value.action] ?? 0) + 1;
  return { applied: markApplied(base.applied, fresh), actions };
}

export function foldHighlights(facet: HighlightsFacet | undefined, highlights: Highlight[]): HighlightsFacet {
  const byId = new Map((facet?.highlights ?? []).map((h) => [h.highlight_id, h]));
  for (const highlight of highlights) byId.set(highlight.highlight_id, highlight);
  const sorted = [...byId.values()].sort(
    (a, b) => b.detected_at - a.detected_at || (a.highlight_id < b.highlight_id ? -1 : 1),
  );
  return { highlights: sorted.slice(0, RETAINED_HIGHLIGHTS) };
}

export function clipSummary(event: ClipEvent): ClipSummary {
  const summary: ClipSummary = {
    clip_id: event.clip_id,
    highlight_id: event.highlight_id,
    status: event.status,
    start: event.start,
    end: event.end,
    // The manifest is the clip worker's bookkeeping, not something to show.
    outputs: Object.keys(event.outputs ?? {})
      .filter((name) => name !== 'manifest')
      .sort(),
    finished_at: event.finished_at,
  };
  if (event.duration_ms !== undefined) summary.duration_ms = event.duration_ms;
  if (event.reason !== undefined) summary.reason = event.reason;
  return summary;
}

/** Later events about a clip replace earlier ones ('updated' adds outputs to 'created'). */
export function foldClips(facet: ClipsFacet | undefined, events: ClipEvent[]): ClipsFacet {
  const byId = new Map((facet?.clips ?? []).map((c) => [c.clip_id, c]));
  for (const event of events) {
    const current = byId.get(event.clip_id);
    if (!current || event.finished_at >= current.finished_at) byId.set(event.clip_id, clipSummary(event));
  }
  const sorted = [...byId.values()].sort((a, b) => b.finished_at - a.finished_at || (a.clip_id < b.clip_id ? -1 : 1));
  return { clips: sorted.slice(0, RETAINED_CLIPS) };
}
