import { CommandUsageError } from '../../core/command-usage-error.ts';
import { SeededRandom } from '../simulator/seeded-random.ts';
import { planSimulation, STEP_MS, type SimulationPlan } from '../simulator/viewer-scripts.ts';

// What `livepulse demo` plays: its options, its timing and its audience (pure). run.ts plays it; progress.ts reports it.

/** The demo stream's owner in the stream registry (core/streams/). */
export const DEMO_CREATOR = 'demo-creator';

/** `livepulse demo`'s options as the command line gives them (app/cli/program.ts). */
export interface DemoOptions {
  duration?: string;
  viewers: string;
  chatters: string;
  seed?: string;
  /** Comma-separated rendition names, e.g. `720p30,360p30`. */
  renditions: string;
}

export class DemoUsageError extends CommandUsageError {
  constructor(problem: string) {
    super(problem);
    this.name = 'DemoUsageError';
  }
}

/** The highlight detector needs a minute of chat baseline; the first spike comes just after it. */
export const FIRST_HYPE_SPIKE_MS = 65_000;
export const HYPE_SPIKE_EVERY_MS = 150_000;
/** Audience and chat are planned in rounds, so a demo without --duration runs on. */
export const ROUND_MS = 300_000;
/** A new wave of viewers every 150 s: each round's audience thins out after its first minutes. */
export const AUDIENCE_ROUND_EVERY_MS = 150_000;
/** IVS's recordings use segments of a few seconds; each is probed for keyframes when the recording is finalised. */
export const SEGMENT_SECONDS = 4;

export interface DemoAudienceOptions {
  streamId: string;
  creatorId: string;
  /** Epoch ms; rounded up to a whole 10 s. */
  startAt: number;
  durationMs: number;
  viewers: number;
  seed: number;
}

/**
 * The viewers of one live stream: a scripted simulation (startup, rebuffering, quality switches,
 * failures, leaves, returns) moved onto the demo's stream, with arrivals brought forward the way
 * a go-live notification brings them: each viewer's first view at step `s` moves to `⌊s·u²⌋`
 * (u uniform), so about half the audience is in within the first quarter of the span and the
 * rest trickles in. Every event moves by whole 5 s steps, keeping each view on its 5 s grid.
 */
export function planDemoAudience(options: DemoAudienceOptions): SimulationPlan {
  const plan = planSimulation({
    viewers: options.viewers,
    durationMs: options.durationMs,
    seed: options.seed,
    startAt: options.startAt,
    streams: 1,
  });
  const random = new SeededRandom(options.seed);
  const shiftOf = new Map<string, number>();
  const views = plan.views.map((view) => {
    let shift = shiftOf.get(view.viewerId);
    if (shift === undefined) {
      const step = Math.floor((view.events[0]!.at - plan.startAt) / STEP_MS);
      const u = random.next();
      shift = (Math.floor(step * u * u) - step) * STEP_MS;
      shiftOf.set(view.viewerId, shift);
    }
    const by = shift;
    return {
      ...view,
      streamId: options.streamId,
      creatorId: options.creatorId,
      events: view.events.map(({ at, event }) => ({
        at: at + by,
        event: {
          ...event,
          viewer_time: event.viewer_time + by,
          stream_id: options.streamId,
          creator_id: options.creatorId,
        },
      })),
    };
  });
  return { ...plan, views };
}

/** The demo's settings from its command line, checked. */
export interface DemoArgs {
  durationMs: number | undefined;
  viewers: number;
  chatters: number;
  seed: number;
  renditions: string;
}

export function demoArgs(values: DemoOptions): DemoArgs {
  const positive = (name: string, value: string | undefined, min = 1): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min)
      throw new DemoUsageError(`--${name} must be an integer of at least ${min}`);
    return parsed;
  };
  return {
    durationMs: values.duration === undefined ? undefined : positive('duration', values.duration, 30) * 1_000,
    viewers: positive('viewers', values.viewers, 10),
    chatters: positive('chatters', values.chatters, 10),
    seed: values.seed === undefined ? Date.now() % 1_000_000 : positive('seed', values.seed),
    renditions: values.renditions,
  };
}
