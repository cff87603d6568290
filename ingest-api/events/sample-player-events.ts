import { randomUUID } from 'node:crypto';
import type { PlayerEvent } from '../../core/schemas/player-event.ts';

/** Valid player events for tests and benchmarks: a heartbeat of a view that is playing. */
export function samplePlayerEvent(overrides: Partial<PlayerEvent> = {}, now = Date.now()): PlayerEvent {
  const event: PlayerEvent = {
    schema_v: 1,
    event_id: randomUUID(),
    event: 'heartbeat',
    view_id: 'view-1',
    view_seq: 1,
    viewer_id: 'viewer-1',
    stream_id: 'stream-1',
    viewer_time: now - 1_000,
    playhead_ms: 12_000,
    player_state: 'playing',
    counters: { watch_ms: 12_500, playing_ms: 12_000, rebuffer_count: 0, rebuffer_ms: 0, ttff_ms: 480 },
    dimensions: { player_name: 'hls.js', player_version: '1.7.4', rendition: '720p', source_bitrate_kbps: 2_500 },
    ...overrides,
  };
  // An override of `undefined` removes the field, as a player leaving it out would.
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete event[key as keyof PlayerEvent];
  return event;
}

/** `count` events spread over `views` views, each with its own event_id. */
export function samplePlayerEvents(
  count: number,
  { views = 10, now = Date.now() }: { views?: number; now?: number } = {},
): PlayerEvent[] {
  return Array.from({ length: count }, (_, i) =>
    samplePlayerEvent(
      { view_id: `view-${i % views}`, view_seq: Math.floor(i / views), viewer_time: now - 1_000 + i },
      now,
    ),
  );
}
