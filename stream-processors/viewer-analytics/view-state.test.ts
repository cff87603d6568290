import { describe, expect, it } from 'vitest';
import type { EnrichedPlayerEvent } from '../../core/schemas/player-event.ts';
import {
  applyEvent,
  endCandidate,
  endView,
  foldSamplesUpTo,
  isWatchingAt,
  newView,
  asOf,
  startedAt,
  summarizeView,
  type ViewState,
} from './view-state.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const settings = {
  inactiveAfterMs: 25_000,
  maxRebufferMs: 300_000,
  endAfterSilenceMs: 60_000,
  pausedEndAfterMs: 3_600_000,
};

type EventInput = Partial<Omit<EnrichedPlayerEvent, 'counters'>> & {
  seq: number;
  at: number;
  counters?: Partial<EnrichedPlayerEvent['counters']>;
};

function event({ seq, at, counters, ...rest }: EventInput): EnrichedPlayerEvent {
  return {
    schema_v: 1,
    event_id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    event: 'heartbeat',
    view_id: 'view-1',
    view_seq: seq,
    viewer_id: 'viewer-1',
    stream_id: 'stream-1',
    creator_id: 'creator-1',
    viewer_time: T0 + at,
    player_state: 'playing',
    property_id: 'demo',
    event_time: T0 + at,
    received_at: T0 + at + 500,
    source: 'sdk',
    // Counters are cumulative: once the first frame showed, every later event carries ttff_ms.
    counters: {
      watch_ms: at,
      playing_ms: Math.max(0, at - 1_000),
      rebuffer_count: 0,
      rebuffer_ms: 0,
      ...(at >= 1_000 ? { ttff_ms: 800 } : {}),
      ...counters,
    },
    dimensions: { device: 'desktop', rendition: '720p' },
    ...rest,
  };
}

function viewOf(events: EnrichedPlayerEvent[]): ViewState {
  const view = newView(events[0]!);
  for (const e of events) applyEvent(view, e);
  return view;
}

const playing = [
  event({ seq: 0, at: 0, event: 'viewstart', player_state: 'starting', counters: { watch_ms: 0, playing_ms: 0 } }),
  event({ seq: 1, at: 1_000, event: 'playing' }),
  event({ seq: 2, at: 11_000 }),
  event({ seq: 3, at: 21_000 }),
];

describe('view state', () => {
  it('is the same whatever order and however often its events arrive', () => {
    const inOrder = viewOf(playing);
    const orders = [
      [3, 2, 1, 0],
      [2, 0, 3, 1],
      [1, 1, 3, 0, 2, 3, 0],
    ];
    for (const order of orders) {
      const shuffled = viewOf(order.map((i) => playing[i]!));
      expect(shuffled.samples).toEqual(inOrder.samples);
    }
  });

  it('keeps the earliest time of a retried event (re-corrected for clock skew), whatever arrives first', () => {
    const retried = { ...playing[2]!, event_time: playing[2]!.event_time + 300 };
    expect(viewOf([playing[0]!, playing[2]!, retried]).samples).toEqual(
      viewOf([playing[0]!, retried, playing[2]!]).samples,
    );
    expect(viewOf([playing[0]!, retried, playing[2]!]).samples[1]!.t).toBe(playing[2]!.event_time);
  });

  it('refuses an event that names another stream, viewer or property for the same view', () => {
    const view = viewOf(playing);
    expect(applyEvent(view, event({ seq: 9, at: 30_000, stream_id: 'other' }))).toBe('view_identity_mismatch');
    expect(applyEvent(view, event({ seq: 9, at: 30_000, viewer_id: 'other' }))).toBe('view_identity_mismatch');
    expect(view.samples).toHaveLength(4);
  });

  it('answers "as of" an instant with the highest view_seq timed at or before it, and the latest event time', () => {
    const view = viewOf(playing);
    expect(asOf(view, T0 - 1)).toBeUndefined();
    expect(asOf(view, T0 + 999)?.sample.seq).toBe(0);
    expect(asOf(view, T0 + 15_000)).toEqual({
      sample: expect.objectContaining({ seq: 2 }) as unknown,
      lastEventAt: T0 + 11_000,
    });
    expect(startedAt(view)).toBe(T0);
  });

  describe('concurrent viewer at an instant (Mux CCV)', () => {
    const cases: Array<[string, EnrichedPlayerEvent[], number, boolean]> = [
      ['playing, last event 5 s ago', playing, 26_000, true],
      ['starting (waiting for the first frame) counts', playing.slice(0, 1), 900, true],
      ['before its first event', playing, -1, false],
      ['24.999 s since the last event', playing, 21_000 + 24_999, true],
      ['25 s since the last event (2.5 missed heartbeats)', playing, 21_000 + 25_000, false],
      ['paused', [...playing, event({ seq: 4, at: 25_000, event: 'pause', player_state: 'paused' })], 26_000, false],
      [
        'after a viewend',
        [...playing, event({ seq: 4, at: 25_000, event: 'viewend', player_state: 'quit' })],
        26_000,
        false,
      ],
      [
        'ended (content finished)',
        [...playing, event({ seq: 4, at: 25_000, event: 'ended', player_state: 'ended' })],
        26_000,
        false,
      ],
      [
        'just failed (fatal error) still counts',
        [...playing, event({ seq: 4, at: 25_000, event: 'error', player_state: 'fatal_error' })],
        26_000,
        true,
      ],
      [
        'rebuffering for exactly 5 min',
        [
          ...playing,
          event({ seq: 4, at: 25_000, event: 'rebufferstart', player_state: 'rebuffering' }),
          ...heartbeats(5, 35_000, 325_000, 'rebuffering'),
        ],
        325_000,
        true,
      ],
      [
        'rebuffering for longer than 5 min',
        [
          ...playing,
          event({ seq: 4, at: 25_000, event: 'rebufferstart', player_state: 'rebuffering' }),
          ...heartbeats(5, 35_000, 325_000, 'rebuffering'),
        ],
        325_001,
        false,
      ],
    ];
    it.each(cases)('%s', (_name, events, at, expected) => {
      expect(isWatchingAt(viewOf(events), T0 + at, settings)).toBe(expected);
    });
  });

  describe('end of a view', () => {
    const cases: Array<[string, EnrichedPlayerEvent[], { at: number; reason: string; cut: number[] } | undefined]> = [
      [
        'still open: ends 60 s after its last event unless something comes',
        playing,
        { at: 81_000, reason: 'silence', cut: [] },
      ],
      [
        'viewend',
        [...playing, event({ seq: 4, at: 25_000, event: 'viewend', player_state: 'quit' })],
        { at: 25_000, reason: 'viewend', cut: [] },
      ],
      [
        'events after the viewend are cut',
        [
          ...playing,
          event({ seq: 4, at: 25_000, event: 'viewend', player_state: 'quit' }),
          event({ seq: 5, at: 35_000 }),
        ],
        { at: 25_000, reason: 'viewend', cut: [5] },
      ],
      [
        'a silence of 60 s ends it; what resumes later is cut',
        [...playing, event({ seq: 4, at: 81_000 }), event({ seq: 5, at: 91_000 })],
        { at: 81_000, reason: 'silence', cut: [4, 5] },
      ],
      [
        '59.999 s of silence does not',
        [...playing, event({ seq: 4, at: 80_999 })],
        { at: 140_999, reason: 'silence', cut: [] },
      ],
      [
        'a paused view survives a silence shorter than the paused timeout',
        [
          ...playing,
          event({ seq: 4, at: 25_000, event: 'pause', player_state: 'paused' }),
          event({ seq: 5, at: 25_000 + 120_000, event: 'play' }),
        ],
        { at: 25_000 + 120_000 + 60_000, reason: 'silence', cut: [] },
      ],
    ];
    it.each(cases)('%s', (_name, events, expected) => {
      const end = endCandidate(viewOf(events), settings);
      expect(end && { at: end.at - T0, reason: end.reason, cut: end.afterEnd.map((s) => s.seq) }).toEqual(expected);
    });

    it('a view the partition had no room for ends at the watermark it was evicted at', () => {
      const view = viewOf(playing);
      view.evictedAt = T0 + 15_000;
      expect(endCandidate(view, settings)).toMatchObject({
        at: T0 + 15_000,
        reason: 'capacity',
        afterEnd: [expect.objectContaining({ seq: 3 })],
      });
    });
  });

  describe('summary of an ended view', () => {
    function summaryOf(events: EnrichedPlayerEvent[]) {
      const view = viewOf(events);
      endView(view, endCandidate(view, settings)!);
      return summarizeView(view);
    }
    const fatal = (seq: number, at: number, business = false, counters?: Partial<EnrichedPlayerEvent['counters']>) =>
      event({
        seq,
        at,
        event: 'error',
        player_state: 'fatal_error',
        error: { code: 'E1', severity: 'fatal', business_exception: business },
        counters,
      });
    const noFrame = { ttff_ms: undefined, playing_ms: 0 };
    const cases: Array<[string, EnrichedPlayerEvent[], Record<string, unknown>]> = [
      [
        'played fine',
        playing,
        {
          startup_time_ms: 800,
          playback_failure: false,
          startup_failure: false,
          exit_before_start: false,
          business_exception: false,
        },
      ],
      [
        'left before the first frame (EBVS)',
        [event({ seq: 0, at: 0, event: 'viewstart', player_state: 'starting', counters: noFrame })],
        { startup_time_ms: null, exit_before_start: true, playback_failure: false },
      ],
      [
        'failed before the first frame',
        [event({ seq: 0, at: 0, player_state: 'starting', counters: noFrame }), fatal(1, 3_000, false, noFrame)],
        { playback_failure: true, startup_failure: true, exit_before_start: false, error_code: 'E1' },
      ],
      [
        'failed while playing',
        [...playing, fatal(4, 25_000)],
        { playback_failure: true, startup_failure: false, exit_before_start: false },
      ],
      [
        'business exception (geo block) is not a failure, nor an exit before start',
        [event({ seq: 0, at: 0, player_state: 'starting', counters: noFrame }), fatal(1, 1_000, true, noFrame)],
        { playback_failure: false, business_exception: true, exit_before_start: false },
      ],
    ];
    it.each(cases)('%s', (_name, events, expected) => {
      expect(summaryOf(events)).toMatchObject(expected);
    });

    it('takes totals from the highest view_seq and dimensions as last reported', () => {
      const summary = summaryOf([
        ...playing,
        event({
          seq: 4,
          at: 25_000,
          event: 'renditionchange',
          dimensions: { rendition: '1080p' },
          counters: { watch_ms: 25_000, playing_ms: 24_000, rebuffer_ms: 700, rebuffer_count: 2 },
        }),
      ]);
      expect(summary).toMatchObject({
        watch_ms: 25_000,
        playing_ms: 24_000,
        rebuffer_ms: 700,
        rebuffer_count: 2,
        rendition: '1080p',
        device: 'desktop',
        events: 5,
      });
    });
  });

  it('folding old samples away changes no answer about later instants', () => {
    const events = [
      ...playing,
      event({ seq: 4, at: 25_000, event: 'rebufferstart', player_state: 'rebuffering' }),
      ...heartbeats(5, 35_000, 95_000, 'rebuffering'),
      event({ seq: 12, at: 100_000, event: 'pause', player_state: 'paused', dimensions: { rendition: '480p' } }),
    ];
    const whole = viewOf(events);
    const folded = viewOf(events);
    foldSamplesUpTo(folded, T0 + 60_000);
    expect(folded.samples.length).toBeLessThan(whole.samples.length);
    for (let at = 60_000; at <= 200_000; at += 5_000) {
      expect(asOf(folded, T0 + at), `as of +${at}`).toEqual(asOf(whole, T0 + at));
      expect(isWatchingAt(folded, T0 + at, { ...settings, maxRebufferMs: 40_000 }), `watching at +${at}`).toBe(
        isWatchingAt(whole, T0 + at, { ...settings, maxRebufferMs: 40_000 }),
      );
    }
    expect(startedAt(folded)).toBe(startedAt(whole));
    expect(endCandidate(folded, settings)).toEqual(endCandidate(whole, settings));
  });
});

function heartbeats(
  firstSeq: number,
  from: number,
  to: number,
  state: EnrichedPlayerEvent['player_state'],
): EnrichedPlayerEvent[] {
  const events: EnrichedPlayerEvent[] = [];
  for (let at = from, seq = firstSeq; at <= to; at += 10_000, seq++)
    events.push(event({ seq, at, player_state: state }));
  return events;
}
