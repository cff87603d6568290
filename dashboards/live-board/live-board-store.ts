import type { LiveState } from '../../core/live-state/live-state.ts';
import type { Logger } from '../../core/logger.ts';
import type { StreamOwnerLookup } from '../../core/streams/stream-registry.ts';
import type { SourceProgress, StreamFacets, ViewerPartitionFacet } from './live-stream-state.ts';
import { liveStreamView, type LiveStreamView } from './live-stream-view.ts';

/**
 * Where the live board keeps its state in the live-state port (memory embedded, Redis
 * distributed): one hash per stream, one field per facet (see live-stream-state.ts), one hash of
 * how far each viewer-analytics source partition has got (shared by all streams), and a recency
 * index of the streams that changed lately, for the overview. A view's owner comes from the
 * stream registry, never from the facets.
 */
export const LIVE_BOARD_KEYS = {
  streams: 'live-board:streams',
  sources: 'live-board:viewer-sources',
  stream: (streamId: string) => `live-board:stream:${streamId}`,
} as const;

const VIEWERS_FIELD_PREFIX = 'viewers:';
const LEGACY_CREATOR_FIELD = 'creator';

export const FACET_FIELDS = {
  chat: 'chat',
  moderation: 'moderation',
  highlights: 'highlights',
  clips: 'clips',
  viewers: (source: string) => `${VIEWERS_FIELD_PREFIX}${source}`,
} as const;

export interface LiveBoardStoreOptions {
  /** A stream's state is dropped this long after its last change. */
  streamTtlMs: number;
  /** A stream is listed on the overview while it changed within this long. */
  activeStreamMs: number;
}

export const DEFAULT_STORE_OPTIONS: LiveBoardStoreOptions = { streamTtlMs: 6 * 3_600_000, activeStreamMs: 2 * 60_000 };

export class LiveBoardStore {
  constructor(
    private readonly liveState: LiveState,
    private readonly owners: StreamOwnerLookup,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly options: LiveBoardStoreOptions = DEFAULT_STORE_OPTIONS,
  ) {}

  async load(streamIds: string[]): Promise<StreamFacets[]> {
    const hashes = await this.liveState.getAllFields(streamIds.map(LIVE_BOARD_KEYS.stream));
    return hashes.map((fields, index) => this.decode(streamIds[index]!, fields));
  }

  /** How far each source partition has got. */
  async sources(): Promise<Record<string, SourceProgress>> {
    const [fields] = await this.liveState.getAllFields([LIVE_BOARD_KEYS.sources]);
    return this.decodeSources(fields ?? {});
  }

  /** Records sources' progress; call after saving the rows it vouches for. */
  async saveSources(progress: Record<string, SourceProgress>): Promise<void> {
    const fields = Object.fromEntries(Object.entries(progress).map(([source, p]) => [source, JSON.stringify(p)]));
    if (Object.keys(fields).length > 0)
      await this.liveState.setFields(LIVE_BOARD_KEYS.sources, fields, this.options.streamTtlMs);
  }

  /** Writes each stream's changed fields and marks the streams active at `atMs`. */
  async save(fieldsByStream: Map<string, Record<string, string>>, atMs: number): Promise<void> {
    const streams = [...fieldsByStream.keys()];
    if (streams.length === 0) return;
    await Promise.all(
      streams.map((id) =>
        this.liveState.setFields(LIVE_BOARD_KEYS.stream(id), fieldsByStream.get(id)!, this.options.streamTtlMs),
      ),
    );
    await this.liveState.markRecent(LIVE_BOARD_KEYS.streams, streams, atMs);
  }

  /** Streams that changed within `activeStreamMs`, most recent first. */
  activeStreams(nowMs: number): Promise<string[]> {
    return this.liveState.recentMembers(LIVE_BOARD_KEYS.streams, nowMs - this.options.activeStreamMs);
  }

  /** Each stream's live view with its registered owner, or null for a stream with no live state. */
  async views(streamIds: string[], nowMs: number): Promise<Array<LiveStreamView | null>> {
    const [[sourceFields, ...hashes], owners] = await Promise.all([
      this.liveState.getAllFields([LIVE_BOARD_KEYS.sources, ...streamIds.map(LIVE_BOARD_KEYS.stream)]),
      this.owners.ownersOf(streamIds),
    ]);
    const sources = this.decodeSources(sourceFields ?? {});
    return hashes.map((fields, index) => {
      const streamId = streamIds[index]!;
      return Object.keys(fields).length === 0
        ? null
        : liveStreamView(
            streamId,
            { ...this.decode(streamId, fields), sources },
            nowMs,
            owners.get(streamId)?.creator_id ?? null,
          );
    });
  }

  private decodeSources(fields: Record<string, string>): Record<string, SourceProgress> {
    const sources: Record<string, SourceProgress> = {};
    for (const [source, raw] of Object.entries(fields)) {
      try {
        sources[source] = JSON.parse(raw) as SourceProgress;
      } catch (error) {
        // Rewritten by the source's next watermark; meanwhile its rows count as they are.
        this.logger.warn({ err: error, source }, 'live board source progress is not JSON; ignoring it');
      }
    }
    return sources;
  }

  private decode(streamId: string, fields: Record<string, string>): StreamFacets {
    const facets: StreamFacets = { viewers: {} };
    for (const [field, raw] of Object.entries(fields)) {
      // Earlier versions kept a player's creator hint here; ownership is the registry's now.
      if (field === LEGACY_CREATOR_FIELD) continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        // A damaged facet is rebuilt from the next events; the rest of the stream still shows.
        this.logger.warn({ err: error, streamId, field }, 'live board facet is not JSON; ignoring it');
        continue;
      }
      if (field.startsWith(VIEWERS_FIELD_PREFIX))
        facets.viewers[field.slice(VIEWERS_FIELD_PREFIX.length)] = value as ViewerPartitionFacet;
      else if (field === FACET_FIELDS.chat) facets.chat = value as StreamFacets['chat'];
      else if (field === FACET_FIELDS.moderation) facets.moderation = value as StreamFacets['moderation'];
      else if (field === FACET_FIELDS.highlights) facets.highlights = value as StreamFacets['highlights'];
      else if (field === FACET_FIELDS.clips) facets.clips = value as StreamFacets['clips'];
    }
    return facets;
  }
}
