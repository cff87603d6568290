import type { Bus, MessageBatch, Subscription } from '../../core/bus/bus.ts';
import type { Metrics } from '../../core/metrics.ts';
import {
  chatMessageValidator,
  chatVerdictValidator,
  type ChatMessage,
  type ChatVerdict,
} from '../../core/schemas/chat.ts';
import {
  clipEventValidator,
  highlightValidator,
  type ClipEvent,
  type Highlight,
} from '../../core/schemas/highlight.ts';
import { TOPICS } from '../../core/topics.ts';
import { aggregatesMessageValidator } from '../../core/analytics/aggregate-messages.ts';
import { FACET_FIELDS, type LiveBoardStore } from './live-board-store.ts';
import {
  foldChat,
  foldClips,
  foldHighlights,
  foldSourceProgress,
  foldVerdicts,
  foldViewerWindows,
  peakAfter,
  sourceProgressOf,
  viewerWindowUpdates,
  type Positioned,
  type SourceProgress,
  type StreamFacets,
  type ViewerWindowUpdate,
} from './live-stream-state.ts';

/** The topics the live board folds into per-stream state. */
export const LIVE_BOARD_TOPICS = [
  TOPICS.analyticsAggregates,
  TOPICS.chatMessages,
  TOPICS.chatVerdicts,
  TOPICS.highlights,
  TOPICS.clips,
];

export interface StreamInputs {
  viewers: ViewerWindowUpdate[];
  chat: Positioned<ChatMessage>[];
  verdicts: Positioned<ChatVerdict>[];
  highlights: Highlight[];
  clips: ClipEvent[];
}

export interface ReadBatch {
  streams: Map<string, StreamInputs>;
  /** Each source partition's newest progress in the batch. */
  sources: Map<string, SourceProgress>;
  /** Messages that are not what their topic carries. Their owners dead-letter them; the board skips them. */
  skipped: number;
}

function parseJson(value: Buffer): unknown {
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Sorts one partition's messages by stream, keeping only what the board shows. */
export function readBatch(batch: MessageBatch): ReadBatch {
  const streams = new Map<string, StreamInputs>();
  const inputsOf = (streamId: string) => {
    let inputs = streams.get(streamId);
    if (!inputs) {
      inputs = { viewers: [], chat: [], verdicts: [], highlights: [], clips: [] };
      streams.set(streamId, inputs);
    }
    return inputs;
  };
  const sources = new Map<string, SourceProgress>();
  let skipped = 0;
  for (const message of batch.messages) {
    const value = parseJson(message.value);
    const position = { partition: message.partition, offset: message.offset };
    if (batch.topic === TOPICS.analyticsAggregates) {
      // Other processors' aggregates share the topic; only viewer window rows count viewers.
      if (!aggregatesMessageValidator.check(value)) continue;
      const progress = sourceProgressOf(value);
      if (progress) sources.set(progress[0], foldSourceProgress(sources.get(progress[0]), progress[1]));
      for (const [streamId, update] of viewerWindowUpdates(value)) inputsOf(streamId).viewers.push(update);
    } else if (batch.topic === TOPICS.chatMessages && chatMessageValidator.check(value)) {
      inputsOf(value.stream_id).chat.push({ ...position, value });
    } else if (batch.topic === TOPICS.chatVerdicts && chatVerdictValidator.check(value)) {
      inputsOf(value.stream_id).verdicts.push({ ...position, value });
    } else if (batch.topic === TOPICS.highlights && highlightValidator.check(value)) {
      inputsOf(value.stream_id).highlights.push(value);
    } else if (batch.topic === TOPICS.clips && clipEventValidator.check(value)) {
      inputsOf(value.stream_id).clips.push(value);
    } else {
      skipped += 1;
    }
  }
  return { streams, sources, skipped };
}

/** Folds one stream's inputs into its facets; returns the fields that changed, encoded for the store. */
export function foldStream(facets: StreamFacets, inputs: StreamInputs): Record<string, string> {
  const fields: Record<string, string> = {};
  if (inputs.viewers.length > 0) {
    const viewers = { ...facets.viewers };
    const touched = new Set<string>();
    for (const update of inputs.viewers) {
      viewers[update.source] = foldViewerWindows(viewers[update.source], update);
      touched.add(update.source);
    }
    for (const source of touched) {
      const facet = viewers[source]!;
      fields[FACET_FIELDS.viewers(source)] = JSON.stringify({ ...facet, peak: peakAfter(viewers, facet.peak) });
    }
  }
  if (inputs.chat.length > 0) fields[FACET_FIELDS.chat] = JSON.stringify(foldChat(facets.chat, inputs.chat));
  if (inputs.verdicts.length > 0)
    fields[FACET_FIELDS.moderation] = JSON.stringify(foldVerdicts(facets.moderation, inputs.verdicts));
  if (inputs.highlights.length > 0)
    fields[FACET_FIELDS.highlights] = JSON.stringify(foldHighlights(facets.highlights, inputs.highlights));
  if (inputs.clips.length > 0) fields[FACET_FIELDS.clips] = JSON.stringify(foldClips(facets.clips, inputs.clips));
  return fields;
}

export const LIVE_BOARD_GROUP = 'live-board';

/**
 * One member of the shared `live-board` consumer group: reads each batch's streams from the
 * store, folds, writes the changed fields back. Any API instance then reads the same state.
 * Starts from the latest offsets: a board shows what happens from now on.
 */
export async function subscribeLiveBoard({
  bus,
  store,
  metrics,
  now = Date.now,
}: {
  bus: Bus;
  store: LiveBoardStore;
  metrics: Metrics;
  now?: () => number;
}): Promise<Subscription> {
  const folded = metrics.counter(
    'live_board_messages_total',
    'Messages the live board folded into stream state, by topic',
    ['topic'],
  );
  const skipped = metrics.counter(
    'live_board_skipped_messages_total',
    'Messages the live board could not read (their owners dead-letter them), by topic',
    ['topic'],
  );
  return bus.subscribe({
    groupId: LIVE_BOARD_GROUP,
    topics: LIVE_BOARD_TOPICS,
    startFrom: 'latest',
    handleBatch: async (batch) => {
      const { streams, sources, skipped: unreadable } = readBatch(batch);
      if (unreadable > 0) skipped.inc({ topic: batch.topic }, unreadable);
      const streamIds = [...streams.keys()];
      const facets = await store.load(streamIds);
      const writes = new Map<string, Record<string, string>>();
      streamIds.forEach((streamId, index) => {
        const fields = foldStream(facets[index]!, streams.get(streamId)!);
        if (Object.keys(fields).length > 0) writes.set(streamId, fields);
      });
      await store.save(writes, now());
      // After the rows: a reader that sees how far a source got has its rows up to there.
      if (sources.size > 0) {
        const stored = await store.sources();
        await store.saveSources(
          Object.fromEntries(
            [...sources].map(([source, progress]) => [source, foldSourceProgress(stored[source], progress)]),
          ),
        );
      }
      folded.inc({ topic: batch.topic }, batch.messages.length - unreadable);
    },
  });
}
