import { Type, type Static } from '@sinclair/typebox';
import { Count, DurationMs, EpochMs, Id, ShortText } from './common.ts';
import { createValidator } from './validate.ts';

/**
 * Player events, Mux-compatible and CMCD-aligned (see shared research qoe.md §5).
 * Counters are cumulative for the view, so the latest `view_seq` wins downstream and
 * retries or reordering can never double-count.
 */
export const PLAYER_EVENT_TYPES = [
  'playerready',
  'viewstart',
  'play',
  'playing',
  'pause',
  'seeking',
  'seeked',
  'rebufferstart',
  'rebufferend',
  'renditionchange',
  'error',
  'ended',
  'heartbeat',
  'viewend',
] as const;
export type PlayerEventType = (typeof PLAYER_EVENT_TYPES)[number];

/** CMCD v2 `sta` tokens spelled out. */
export const PLAYER_STATES = [
  'starting',
  'playing',
  'seeking',
  'rebuffering',
  'paused',
  'waiting',
  'ended',
  'fatal_error',
  'quit',
  'preloading',
] as const;
export type PlayerState = (typeof PLAYER_STATES)[number];

const literalUnion = <T extends readonly string[]>(values: T, description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );

export const PlayerCounters = Type.Object(
  {
    watch_ms: DurationMs('Playing + startup + rebuffering + seeking; excludes paused (Mux watch time)'),
    playing_ms: DurationMs('Time with the playhead progressing'),
    rebuffer_count: Count('Rebuffer events so far (seek stalls excluded)'),
    rebuffer_ms: DurationMs('Time spent rebuffering so far'),
    seek_count: Type.Optional(Count('Seeks so far')),
    seek_ms: Type.Optional(DurationMs('Time spent seeking so far')),
    ttff_ms: Type.Optional(DurationMs('Video startup time: play requested to first frame; absent until known')),
    upscale_weighted_ms: Type.Optional(DurationMs('Σ upscale factor × playhead delta (Mux upscale %)')),
    downscale_weighted_ms: Type.Optional(DurationMs('Σ downscale factor × playhead delta')),
    max_upscale_pct: Type.Optional(
      Type.Number({ minimum: 0, maximum: 10_000, description: 'Largest upscale seen, %' }),
    ),
    live_latency_ms: Type.Optional(DurationMs('Distance from the live edge (program-date-time vs now)')),
    dropped_frames: Type.Optional(Count('Dropped frames so far')),
  },
  { additionalProperties: false, description: 'Cumulative per-view counters' },
);

export const PlayerDimensions = Type.Object(
  {
    player_name: Type.Optional(ShortText('Player software, e.g. hls.js', 64)),
    player_version: Type.Optional(ShortText('Player version', 64)),
    player_width: Type.Optional(Type.Integer({ minimum: 0, maximum: 16_384 })),
    player_height: Type.Optional(Type.Integer({ minimum: 0, maximum: 16_384 })),
    source_width: Type.Optional(Type.Integer({ minimum: 0, maximum: 16_384 })),
    source_height: Type.Optional(Type.Integer({ minimum: 0, maximum: 16_384 })),
    source_bitrate_kbps: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    rendition: Type.Optional(ShortText('Rendition name, e.g. 720p', 64)),
    cdn: Type.Optional(ShortText('CDN serving the media', 64)),
    device: Type.Optional(ShortText('Device type (filled by the collector from the user agent)', 64)),
    os: Type.Optional(ShortText('Operating system', 64)),
    browser: Type.Optional(ShortText('Browser', 64)),
    country: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' })),
    custom_1: Type.Optional(ShortText('Custom dimension')),
    custom_2: Type.Optional(ShortText('Custom dimension')),
    custom_3: Type.Optional(ShortText('Custom dimension')),
    custom_4: Type.Optional(ShortText('Custom dimension')),
    custom_5: Type.Optional(ShortText('Custom dimension')),
  },
  { additionalProperties: false },
);

export const PlayerError = Type.Object(
  {
    code: ShortText('Player error code', 64),
    message: Type.Optional(ShortText('Error message', 1024)),
    context: Type.Optional(ShortText('Error context', 1024)),
    severity: literalUnion(['fatal', 'warning'] as const, 'Fatal errors end playback'),
    business_exception: Type.Optional(
      Type.Boolean({ description: 'Expected errors (geo block, paywall) excluded from failure %' }),
    ),
  },
  { additionalProperties: false },
);

/** What a player (SDK or CMCD mapping) sends. */
export const PlayerEvent = Type.Object(
  {
    schema_v: Type.Literal(1),
    event_id: Type.String({
      format: 'uuid',
      minLength: 36,
      maxLength: 36,
      description: 'Client-generated UUID, the dedupe key',
    }),
    event: literalUnion(PLAYER_EVENT_TYPES, 'Event type'),
    view_id: Id('One attempt to play; the bus key'),
    view_seq: Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'Per-view sequence number; latest wins' }),
    viewer_id: Id('Anonymous, stable viewer id (hashed cookie id)'),
    session_id: Type.Optional(Id('Browser session')),
    stream_id: Id('Live stream (IVS stream / channel session)'),
    creator_id: Type.Optional(Id('Creator who owns the stream')),
    is_live: Type.Optional(Type.Boolean()),
    viewer_time: EpochMs('Device clock at the event, epoch ms'),
    playhead_ms: Type.Optional(DurationMs('Playhead position')),
    player_state: literalUnion(PLAYER_STATES, 'Player state after this event'),
    counters: PlayerCounters,
    dimensions: Type.Optional(PlayerDimensions),
    error: Type.Optional(PlayerError),
  },
  { additionalProperties: false, $id: 'PlayerEvent', description: 'One player event as sent by a player' },
);
export type PlayerEvent = Static<typeof PlayerEvent>;

/** A player event after the collector: property known, clock corrected, enriched. This is what `player.events` carries. */
export const EnrichedPlayerEvent = Type.Composite(
  [
    PlayerEvent,
    Type.Object({
      property_id: Id('Player app that owns the write key'),
      event_time: EpochMs('viewer_time corrected for clock skew using the batch sent_at'),
      received_at: EpochMs('When the collector accepted the event'),
      source: literalUnion(['sdk', 'cmcd'] as const, 'How the event arrived'),
      client_ip_hash: Type.Optional(
        Type.String({ maxLength: 64, description: 'Salted hash of the truncated client IP; never the IP' }),
      ),
    }),
  ],
  { additionalProperties: false, $id: 'EnrichedPlayerEvent' },
);
export type EnrichedPlayerEvent = Static<typeof EnrichedPlayerEvent>;

export const playerEventValidator = createValidator(PlayerEvent);
export const enrichedPlayerEventValidator = createValidator(EnrichedPlayerEvent);
