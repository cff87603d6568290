import type { PlayerEvent, PlayerEventType, PlayerState } from '../../core/schemas/player-event.ts';
import { SeededRandom } from './seeded-random.ts';

/**
 * Scripted viewers: who joins which stream when, how long startup takes, when they rebuffer,
 * pause, switch quality, fail or leave, rendered into the player events a Mux-style SDK would
 * send, with exact cumulative counters. Pure and seeded: the same options give the same events,
 * which is what the ground truth is computed from.
 *
 * Every event of a view happens on that view's 5-second grid: `startAt + phase + k·5 s`, with
 * the phase between 0.5 and 1.5 s. Window boundaries, the 25 s inactivity and the 60 s silence are
 * all multiples of 5 s, so an event stays on the same side of every boundary even when the
 * collector's clock-skew correction moves it by the request's transit time (up to 3.5 s).
 */
export const STEP_MS = 5_000;

export const SCENARIOS = [
  'watch',
  'watch_with_pauses',
  'silent_leave',
  'exit_before_start',
  'startup_failure',
  'business_exception',
  'playback_failure',
  'stuck_rebuffering',
  'paused_leave',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

const DEFAULT_SCENARIO_WEIGHTS: Record<Scenario, number> = {
  watch: 40,
  watch_with_pauses: 12,
  silent_leave: 10,
  exit_before_start: 8,
  startup_failure: 5,
  business_exception: 3,
  playback_failure: 6,
  stuck_rebuffering: 4,
  paused_leave: 3,
};

export interface SimulationOptions {
  /** Scripted viewers; some watch twice, so there are a little more views than viewers. */
  viewers: number;
  /** Every view starts and stops within this span after `startAt`. */
  durationMs: number;
  streams?: number;
  seed?: number;
  /** Epoch ms; rounded up to a whole 10 s. Default: now plus 2 s. */
  startAt?: number;
  propertyId?: string;
  heartbeatMs?: number;
  /** Rebuffering this long or longer is "stuck" (Mux stops counting it as concurrent after 5 min). */
  maxRebufferMs?: number;
  scenarioWeights?: Partial<Record<Scenario, number>>;
  /** Share of viewers whose device clock is off by minutes to hours (the collector corrects it). */
  skewedClockShare?: number;
}

export interface ScriptedEvent {
  /** True (server) time of the event, epoch ms. */
  at: number;
  /** What the player sends: its `viewer_time` is `at` on the device's (possibly wrong) clock. */
  event: PlayerEvent;
}

export interface ScriptedView {
  viewId: string;
  viewerId: string;
  streamId: string;
  creatorId: string;
  scenario: Scenario;
  clockSkewMs: number;
  events: ScriptedEvent[];
}

export interface SimulationPlan {
  runId: string;
  propertyId: string;
  startAt: number;
  durationMs: number;
  views: ScriptedView[];
}

type Transition =
  | { kind: 'start'; ttffMs: number | null }
  | { kind: 'rebufferstart' }
  | { kind: 'rebufferend' }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'rendition'; rendition: Rendition }
  | { kind: 'fatal'; business: boolean }
  | { kind: 'viewend' }
  | { kind: 'stop' };

const RENDITIONS = { '1080p': 1080, '720p': 720, '480p': 480, '360p': 360 } as const;
type Rendition = keyof typeof RENDITIONS;

interface Device {
  device: string;
  os: string;
  browser: string;
  playerHeight: number;
}
const DEVICES: ReadonlyArray<readonly [Device, number]> = [
  [{ device: 'desktop', os: 'Windows', browser: 'Chrome', playerHeight: 1080 }, 30],
  [{ device: 'desktop', os: 'macOS', browser: 'Safari', playerHeight: 1080 }, 15],
  [{ device: 'mobile', os: 'iOS', browser: 'Mobile Safari', playerHeight: 720 }, 25],
  [{ device: 'mobile', os: 'Android', browser: 'Chrome Mobile', playerHeight: 720 }, 20],
  [{ device: 'tv', os: 'Tizen', browser: 'Samsung Internet', playerHeight: 1080 }, 10],
];
const PLAYERS = ['hls.js', 'shaka-player', 'video.js'] as const;
const CDNS = ['cloudfront', 'fastly', 'akamai'] as const;
const COUNTRIES = ['US', 'DE', 'BR', 'JP', 'IN', undefined] as const;

export function planSimulation(options: SimulationOptions): SimulationPlan {
  const seed = options.seed ?? 1;
  const random = new SeededRandom(seed);
  const runId = `${seed.toString(36)}${random
    .int(0, 36 ** 4 - 1)
    .toString(36)
    .padStart(4, '0')}`;
  const propertyId = options.propertyId ?? 'demo';
  const startAt = Math.ceil((options.startAt ?? Date.now() + 2_000) / 10_000) * 10_000;
  const totalSteps = Math.floor(options.durationMs / STEP_MS);
  if (totalSteps < 4) throw new RangeError(`durationMs must be at least ${4 * STEP_MS} ms`);
  const streams = Math.max(1, options.streams ?? Math.ceil(options.viewers / 50));
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const maxRebufferMs = options.maxRebufferMs ?? 300_000;
  const weights = { ...DEFAULT_SCENARIO_WEIGHTS, ...options.scenarioWeights };
  const scenarioChoices = SCENARIOS.map((s) => [s, weights[s]] as const).filter(([, w]) => w > 0);
  const skewedShare = options.skewedClockShare ?? 0.15;

  const views: ScriptedView[] = [];
  for (let v = 0; v < options.viewers; v++) {
    const viewerId = `sim-${runId}-viewer-${v}`;
    const device = random.weighted(DEVICES);
    const player = random.pick(PLAYERS);
    const cdn = random.pick(CDNS);
    const country = random.pick(COUNTRIES);
    const clockSkewMs = random.chance(skewedShare) ? random.pick([-1, 1]) * random.int(60_000, 6 * 3_600_000) : 0;
    const phase = random.int(500, 1_499);
    let step = random.int(0, Math.max(0, totalSteps - 4));
    // A viewer who comes back watches again (a second view of the same or another stream).
    const watches = random.chance(0.15) ? 2 : 1;
    for (let w = 0; w < watches && step < totalSteps - 2; w++) {
      const stream = random.int(0, streams - 1);
      const scenario = fittingScenario(random.weighted(scenarioChoices), totalSteps - step, maxRebufferMs);
      const transitions = scriptTransitions(random, scenario, totalSteps - step, maxRebufferMs, player);
      const viewId = `sim-${runId}-view-${views.length}`;
      const events = renderEvents({
        random,
        transitions,
        at0: startAt + phase + step * STEP_MS,
        clockSkewMs,
        heartbeatMs,
        base: {
          view_id: viewId,
          viewer_id: viewerId,
          session_id: `sim-${runId}-session-${v}`,
          stream_id: `sim-${runId}-stream-${stream}`,
          creator_id: `sim-${runId}-creator-${stream % Math.max(1, Math.ceil(streams / 2))}`,
          is_live: true,
        },
        dimensions: {
          player_name: player,
          player_version: '1.0.0',
          cdn,
          device: device.device,
          os: device.os,
          browser: device.browser,
          ...(country ? { country } : {}),
        },
        playerHeight: device.playerHeight,
      });
      views.push({
        viewId,
        viewerId,
        streamId: `sim-${runId}-stream-${stream}`,
        creatorId: events[0]!.event.creator_id!,
        scenario,
        clockSkewMs,
        events,
      });
      step = Math.floor((events.at(-1)!.at - startAt) / STEP_MS) + random.int(2, 4);
    }
  }
  return { runId, propertyId, startAt, durationMs: options.durationMs, views };
}

/** The longest scenarios need room; fall back to a plain watch when they do not fit. */
function fittingScenario(scenario: Scenario, stepsLeft: number, maxRebufferMs: number): Scenario {
  if (scenario === 'stuck_rebuffering' && stepsLeft < stuckRebufferSteps(maxRebufferMs) + 4) return 'watch';
  if (
    (scenario === 'watch_with_pauses' || scenario === 'paused_leave' || scenario === 'playback_failure') &&
    stepsLeft < 8
  )
    return 'watch';
  return scenario;
}

function stuckRebufferSteps(maxRebufferMs: number): number {
  return Math.ceil(maxRebufferMs / STEP_MS) + 3;
}

/** Transitions by step index (0 = the view's start), at most one per step. */
function scriptTransitions(
  random: SeededRandom,
  scenario: Scenario,
  stepsLeft: number,
  maxRebufferMs: number,
  player: string,
): Map<number, Transition> {
  const t = new Map<number, Transition>();
  const ttff = () => random.int(250, 4_500);
  const noFrame = () => t.set(0, { kind: 'start', ttffMs: null });
  switch (scenario) {
    case 'exit_before_start':
      noFrame();
      t.set(random.int(1, 2), { kind: 'viewend' });
      return t;
    case 'startup_failure':
    case 'business_exception':
      noFrame();
      t.set(1, { kind: 'fatal', business: scenario === 'business_exception' });
      t.set(2, { kind: 'viewend' });
      return t;
    case 'stuck_rebuffering': {
      t.set(0, { kind: 'start', ttffMs: ttff() });
      const stuck = stuckRebufferSteps(maxRebufferMs);
      t.set(2, { kind: 'rebufferstart' });
      t.set(2 + stuck, { kind: 'viewend' });
      return t;
    }
    default:
      break;
  }
  const minLength = Math.min(stepsLeft, scenario === 'watch' || scenario === 'silent_leave' ? 4 : 8);
  const length = random.int(minLength, Math.max(minLength, Math.min(stepsLeft, 24)));
  t.set(0, { kind: 'start', ttffMs: ttff() });
  // Quality switches and short stalls, on free steps between the start and the end.
  const free = (step: number) => step > 1 && step < length - 1 && !t.has(step) && !t.has(step - 1) && !t.has(step + 1);
  if (scenario === 'watch_with_pauses' || scenario === 'paused_leave') {
    const pauseAt = random.int(2, length - 4);
    t.set(pauseAt, { kind: 'pause' });
    if (scenario === 'paused_leave') {
      t.set(pauseAt + 1, { kind: 'stop' });
      return t;
    }
    t.set(pauseAt + random.int(2, Math.min(5, length - 2 - pauseAt)), { kind: 'resume' });
  }
  for (let i = 0; i < random.int(0, 2); i++) {
    const at = random.int(2, length - 2);
    if (!free(at)) continue;
    t.set(at, { kind: 'rebufferstart' });
    const end = at + random.int(1, 2);
    if (end < length - 1 && !t.has(end)) t.set(end, { kind: 'rebufferend' });
    else t.delete(at);
  }
  for (let i = 0; i < random.int(0, 2); i++) {
    const at = random.int(2, length - 2);
    if (free(at)) t.set(at, { kind: 'rendition', rendition: random.pick(Object.keys(RENDITIONS) as Rendition[]) });
  }
  if (scenario === 'playback_failure') {
    const failAt = Math.max(...t.keys()) + 1;
    t.set(failAt, { kind: 'fatal', business: false });
    t.set(failAt + 1, random.chance(0.5) ? { kind: 'viewend' } : { kind: 'stop' });
    return t;
  }
  const last = Math.max(length, Math.max(...t.keys()) + 1);
  t.set(
    last,
    scenario === 'silent_leave' || (player === 'video.js' && random.chance(0.2))
      ? { kind: 'stop' }
      : { kind: 'viewend' },
  );
  return t;
}

interface RenderInput {
  random: SeededRandom;
  transitions: Map<number, Transition>;
  at0: number;
  clockSkewMs: number;
  heartbeatMs: number;
  base: Pick<PlayerEvent, 'view_id' | 'viewer_id' | 'session_id' | 'stream_id' | 'creator_id' | 'is_live'>;
  dimensions: NonNullable<PlayerEvent['dimensions']>;
  playerHeight: number;
}

/** Exact cumulative counters of a player whose state changes at known instants. */
class CounterModel {
  watch = 0;
  playing = 0;
  rebuffer = 0;
  rebufferCount = 0;
  upscaleWeighted = 0;
  maxUpscalePct = 0;
  ttff: number | undefined;
  private since: number;

  constructor(
    private state: PlayerState,
    at: number,
    private upscale: number,
  ) {
    this.since = at;
  }

  advanceTo(at: number): void {
    const ms = at - this.since;
    if (ms <= 0) return;
    if (this.state !== 'paused' && this.state !== 'quit' && this.state !== 'fatal_error') this.watch += ms;
    if (this.state === 'playing') {
      this.playing += ms;
      this.upscaleWeighted += Math.round(this.upscale * ms);
      if (this.upscale > 0) this.maxUpscalePct = Math.max(this.maxUpscalePct, Math.round(this.upscale * 100));
    }
    if (this.state === 'rebuffering') this.rebuffer += ms;
    this.since = at;
  }

  enter(state: PlayerState, at: number): void {
    this.advanceTo(at);
    if (state === 'rebuffering' && this.state !== 'rebuffering') this.rebufferCount += 1;
    this.state = state;
  }

  setUpscale(upscale: number, at: number): void {
    this.advanceTo(at);
    this.upscale = upscale;
  }

  get current(): PlayerState {
    return this.state;
  }

  snapshot(): PlayerEvent['counters'] {
    return {
      watch_ms: this.watch,
      playing_ms: this.playing,
      rebuffer_count: this.rebufferCount,
      rebuffer_ms: this.rebuffer,
      upscale_weighted_ms: this.upscaleWeighted,
      max_upscale_pct: this.maxUpscalePct,
      ...(this.ttff !== undefined ? { ttff_ms: this.ttff } : {}),
    };
  }
}

function upscaleFactor(playerHeight: number, rendition: Rendition): number {
  return Math.max(0, playerHeight / RENDITIONS[rendition] - 1);
}

function renderEvents(input: RenderInput): ScriptedEvent[] {
  const { random, transitions, at0, clockSkewMs, heartbeatMs, base, playerHeight } = input;
  let rendition: Rendition = playerHeight >= 1080 ? '1080p' : '720p';
  const start = transitions.get(0);
  if (start?.kind !== 'start') throw new RangeError('a script starts with a start transition');
  const model = new CounterModel('starting', at0, upscaleFactor(playerHeight, rendition));
  const firstFrameAt = start.ttffMs === null ? undefined : at0 + start.ttffMs;
  const lastStep = Math.max(...transitions.keys());
  const events: ScriptedEvent[] = [];
  let seq = 0;
  let lastEventAt = -Infinity;
  const emit = (at: number, type: PlayerEventType, extra: Partial<PlayerEvent> = {}) => {
    model.advanceTo(at);
    events.push({
      at,
      event: {
        schema_v: 1,
        event_id: random.uuid(),
        event: type,
        ...base,
        view_seq: seq++,
        viewer_time: at + clockSkewMs,
        player_state: model.current,
        counters: model.snapshot(),
        dimensions: {
          ...input.dimensions,
          rendition,
          player_height: playerHeight,
          player_width: Math.round((playerHeight * 16) / 9),
          source_height: RENDITIONS[rendition],
          source_width: Math.round((RENDITIONS[rendition] * 16) / 9),
        },
        ...extra,
      },
    });
    lastEventAt = at;
  };

  for (let step = 0; step <= lastStep; step++) {
    const at = at0 + step * STEP_MS;
    if (firstFrameAt !== undefined && model.ttff === undefined && firstFrameAt <= at) {
      model.enter('playing', firstFrameAt);
      model.ttff = firstFrameAt - at0;
    }
    const transition = transitions.get(step);
    if (!transition) {
      if (model.current !== 'paused' && at - lastEventAt >= heartbeatMs) emit(at, 'heartbeat');
      else if (step === 1 && model.ttff !== undefined) emit(at, 'playing');
      continue;
    }
    switch (transition.kind) {
      case 'start':
        emit(at, 'viewstart');
        break;
      case 'rebufferstart':
        model.enter('rebuffering', at);
        emit(at, 'rebufferstart');
        break;
      case 'rebufferend':
        model.enter('playing', at);
        emit(at, 'rebufferend');
        break;
      case 'pause':
        model.enter('paused', at);
        emit(at, 'pause');
        break;
      case 'resume':
        model.enter('playing', at);
        emit(at, 'playing');
        break;
      case 'rendition':
        model.setUpscale(upscaleFactor(playerHeight, transition.rendition), at);
        rendition = transition.rendition;
        emit(at, 'renditionchange');
        break;
      case 'fatal':
        model.enter('fatal_error', at);
        emit(at, 'error', {
          error: transition.business
            ? {
                code: 'GEO_BLOCKED',
                message: 'not available in this region',
                severity: 'fatal',
                business_exception: true,
              }
            : { code: 'MEDIA_ERR_NETWORK', message: 'manifest load failed', severity: 'fatal' },
        });
        break;
      case 'viewend':
        model.enter('quit', at);
        emit(at, 'viewend');
        break;
      case 'stop':
        return events;
    }
  }
  return events;
}
