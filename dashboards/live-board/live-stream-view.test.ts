import { describe, expect, it } from 'vitest';
import { readBatch, foldStream } from './live-board-consumer.ts';
import { chatMessage, clipEvent, highlight, rowsMessage, verdict, windowRow } from './testing/live-board-fixtures.ts';
import type { StreamFacets } from './live-stream-state.ts';
import { ACTIVE_HIGHLIGHT_MS, liveStreamView } from './live-stream-view.ts';
import { overviewFor } from './live-overview.ts';
import type { DeliveredMessage, MessageBatch } from '../../core/bus/bus.ts';
import { TOPICS } from '../../core/topics.ts';

const T0 = 1_750_000_000_000;

function batch(topic: string, partition: number, values: unknown[], firstOffset = 0): MessageBatch {
  const messages: DeliveredMessage[] = values.map((value, index) => ({
    topic,
    partition,
    offset: String(firstOffset + index),
    key: null,
    headers: {},
    timestamp: T0,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  }));
  return {
    topic,
    partition,
    messages,
    firstOffset: String(firstOffset),
    lastOffset: String(firstOffset + values.length - 1),
  };
}

/** Folds batches the way the consumer does, with the store's field encoding in between. */
function fold(batches: MessageBatch[]): Map<string, StreamFacets> {
  const facets = new Map<string, StreamFacets>();
  for (const b of batches) {
    for (const [streamId, inputs] of readBatch(b).streams) {
      const current = facets.get(streamId) ?? { viewers: {} };
      const fields = foldStream(current, inputs);
      const next: StreamFacets = { ...current, viewers: { ...current.viewers } };
      for (const [field, raw] of Object.entries(fields)) {
        if (field.startsWith('viewers:'))
          next.viewers[field.slice('viewers:'.length)] = JSON.parse(raw) as StreamFacets['viewers'][string];
        else (next as unknown as Record<string, unknown>)[field] = JSON.parse(raw);
      }
      facets.set(streamId, next);
    }
  }
  return facets;
}

describe('reading a batch', () => {
  it('sorts messages by stream and skips what its topic does not carry', () => {
    const read = readBatch(
      batch(TOPICS.chatMessages, 0, [chatMessage('s1', T0, 1), 'not json', { schema_v: 1 }, chatMessage('s2', T0, 2)]),
    );
    expect([...read.streams.keys()]).toEqual(['s1', 's2']);
    expect(read.skipped).toBe(2);
  });

  it("reads each source partition's newest progress from its watermark messages", () => {
    const watermark = (sourcePartition: number, version: number, windowStart: number) => ({
      type: 'viewer_watermark',
      group: 'viewer-analytics',
      source_partition: sourcePartition,
      version: String(version),
      emitted_at: T0,
      watermark: windowStart + 500,
      watermark_window_start: windowStart,
      closed_before: windowStart - 40_000,
    });
    const read = readBatch(
      batch(TOPICS.analyticsAggregates, 0, [
        watermark(0, 1, T0),
        rowsMessage(0, 2, [windowRow('s', T0 + 10_000, 1)]),
        watermark(0, 2, T0 + 10_000),
        watermark(1, 5, T0),
      ]),
    );
    expect(Object.fromEntries(read.sources)).toEqual({
      'viewer-analytics:0': { reached: T0 + 10_000, version: '2' },
      'viewer-analytics:1': { reached: T0, version: '5' },
    });
    expect([...read.streams.keys()]).toEqual(['s']);
  });

  it('ignores aggregates that are not viewer window rows without calling them unreadable', () => {
    const read = readBatch(batch(TOPICS.analyticsAggregates, 0, [{ type: 'something_else' }]));
    expect([read.streams.size, read.skipped]).toEqual([0, 0]);
  });
});

describe('a stream’s live view', () => {
  const now = T0 + 30_500;
  const facets = fold([
    batch(TOPICS.analyticsAggregates, 0, [
      rowsMessage(0, 1, [windowRow('s', T0, 4), windowRow('s', T0 + 10_000, 6)]),
      rowsMessage(0, 2, [windowRow('s', T0 + 20_000, 5)]),
    ]),
    batch(TOPICS.analyticsAggregates, 1, [
      rowsMessage(1, 1, [windowRow('s', T0, 3), windowRow('s', T0 + 10_000, 4), windowRow('s', T0 + 20_000, 2)]),
    ]),
    // 12 messages in the last 10 s, 3 more 40 s earlier (within the minute), 1 two minutes ago.
    batch(TOPICS.chatMessages, 0, [
      chatMessage('s', now - 120_000, 0),
      ...[1, 2, 3].map((i) => chatMessage('s', now - 40_000, i)),
      ...Array.from({ length: 12 }, (_, i) =>
        chatMessage('s', now - 9_000 + i * 500, 10 + i, i === 0 ? 'block' : 'allow'),
      ),
    ]),
    batch(TOPICS.chatVerdicts, 0, [verdict('s', 'remove', 1), verdict('s', 'timeout', 2), verdict('s', 'remove', 3)]),
    batch(TOPICS.highlights, 0, [
      highlight('s', 'old', now - ACTIVE_HIGHLIGHT_MS - 1),
      highlight('s', 'new', now - 5_000),
    ]),
    batch(TOPICS.clips, 0, [clipEvent('s', 'clip_1', 'created', now - 2_000, { mp4: 'k', thumbnail: 'p' })]),
  ]);
  const view = liveStreamView('s', facets.get('s')!, now, 'registered-owner');

  it('sums viewers over source partitions; current is the latest window, peak the highest', () => {
    expect(view.viewers).toEqual({
      current: 7,
      window_start: T0 + 20_000,
      peak: 10,
      series: [
        { window_start: T0, concurrent: 7 },
        { window_start: T0 + 10_000, concurrent: 10 },
        { window_start: T0 + 20_000, concurrent: 7 },
      ],
    });
    // The registry's owner, whatever creator_id the player events carried.
    expect(view.creator_id).toBe('registered-owner');
  });

  it('right after a window boundary, counts a partition that has not reached the new window with its newest figure', () => {
    // Partition 0 has reported the new window; partition 1 is still in the one before: 2 + 1 viewers, not 2.
    const edge = fold([
      batch(TOPICS.analyticsAggregates, 0, [
        rowsMessage(0, 1, [windowRow('e', T0, 2)]),
        rowsMessage(0, 2, [windowRow('e', T0 + 10_000, 2)]),
      ]),
      batch(TOPICS.analyticsAggregates, 1, [rowsMessage(1, 1, [windowRow('e', T0, 1)])]),
    ]).get('e')!;
    const sources = {
      'viewer-analytics:0': { reached: T0 + 10_000, version: '2' },
      'viewer-analytics:1': { reached: T0, version: '1' },
    };
    expect(liveStreamView('e', { ...edge, sources }, T0 + 11_000, null).viewers).toMatchObject({
      current: 3,
      window_start: T0 + 10_000,
    });
    // Partition 1 reached the new window without a row for the stream: its viewer has gone.
    const moved = { ...sources, 'viewer-analytics:1': { reached: T0 + 10_000, version: '2' } };
    expect(liveStreamView('e', { ...edge, sources: moved }, T0 + 12_000, null).viewers).toMatchObject({
      current: 2,
      window_start: T0 + 10_000,
    });
  });

  it('rates chat over the last 10 s and 60 s', () => {
    expect(view.chat).toMatchObject({
      total: 16,
      last_10s: 12,
      last_60s: 15,
      rate_per_min_10s: 72,
      rate_per_min_60s: 15,
    });
    expect(view.chat.series).toHaveLength(30);
    expect(view.chat.series.reduce((sum, bin) => sum + (bin.per_min * 10) / 60, 0)).toBe(16);
  });

  it('counts moderation: verdicts by action and inline decisions', () => {
    expect(view.moderation).toEqual({ actions: { remove: 2, timeout: 1 }, held_inline: 0, blocked_inline: 1 });
  });

  it('lists active highlights apart from recent ones, and the latest clips', () => {
    expect(view.active_highlights.map((h) => h.highlight_id)).toEqual(['new']);
    expect(view.highlights.map((h) => h.highlight_id)).toEqual(['new', 'old']);
    expect(view.clips.map((c) => [c.clip_id, c.outputs])).toEqual([['clip_1', ['mp4', 'thumbnail']]]);
  });

  it('is unchanged when every batch is delivered a second time', () => {
    const twice = fold([
      batch(TOPICS.chatMessages, 0, [chatMessage('s', now - 1_000, 1), chatMessage('s', now - 1_000, 2)]),
      batch(TOPICS.chatMessages, 0, [chatMessage('s', now - 1_000, 1), chatMessage('s', now - 1_000, 2)]),
      batch(TOPICS.chatVerdicts, 0, [verdict('s', 'ban', 1)]),
      batch(TOPICS.chatVerdicts, 0, [verdict('s', 'ban', 1)]),
    ]);
    const seen = liveStreamView('s', twice.get('s')!, now, null);
    expect([seen.chat.total, seen.moderation.actions]).toEqual([2, { ban: 1 }]);
  });

  it('shows zeros for a stream that only has chat', () => {
    const chatOnly = liveStreamView(
      'c',
      fold([batch(TOPICS.chatMessages, 0, [chatMessage('c', now, 1)])]).get('c')!,
      now,
      null,
    );
    expect(chatOnly.viewers).toEqual({ current: 0, window_start: null, peak: 0, series: [] });
    expect(chatOnly.creator_id).toBeNull();
  });
});

describe('the overview', () => {
  // 'd' is unregistered, and its player events claim creator-x.
  const owners: Record<string, string | null> = { a: 'creator-y', b: 'creator-y', c: 'creator-x', d: null };
  const views = ['a', 'b', 'c', 'd'].map((id, index) =>
    liveStreamView(
      id,
      { viewers: { 'g:0': { creator_id: 'creator-x', windows: [[T0, index * 10, '1']], peak: 0 } } },
      T0,
      owners[id]!,
    ),
  );

  it('puts the busiest first, capped, with totals over every readable stream', () => {
    const overview = overviewFor({ userId: 'a', role: 'analyst' }, views, T0, 2);
    expect([overview.streams.map((s) => s.stream_id), overview.active_streams, overview.total_viewers]).toEqual([
      ['c', 'b'],
      3,
      30,
    ]);
  });

  it('shows an unregistered stream to admins only', () => {
    expect(overviewFor({ userId: 'root', role: 'admin' }, views, T0).streams.map((s) => s.stream_id)).toEqual([
      'd',
      'c',
      'b',
      'a',
    ]);
  });

  it('shows a creator only their own streams', () => {
    const overview = overviewFor({ userId: 'u', role: 'creator', creatorId: 'creator-x' }, views, T0);
    expect(overview.streams.map((s) => s.stream_id)).toEqual(['c']);
    expect(overview.total_viewers).toBe(20);
  });
});
