import { describe, expect, it } from 'vitest';
import { isHype } from '../../stream-processors/highlights/chat-signals.ts';
import {
  DEFAULT_DETECTOR_SETTINGS,
  detectInBucket,
  initialDetectorState,
} from '../../stream-processors/highlights/spike-detector.ts';
import { hypeSpikeTimes, planChatScript } from '../simulator/chat-scripts.ts';
import { computeGroundTruth } from '../simulator/ground-truth.ts';
import { STEP_MS } from '../simulator/viewer-scripts.ts';
import { playerEventValidator } from '../../core/schemas/player-event.ts';
import { FIRST_HYPE_SPIKE_MS, planDemoAudience, ROUND_MS } from './plan.ts';

const START = Date.UTC(2026, 10, 23, 18, 0, 0);
const settings = {
  windowMs: 10_000,
  inactiveAfterMs: 25_000,
  endAfterSilenceMs: 60_000,
  pausedEndAfterMs: 3_600_000,
  maxRebufferMs: 300_000,
};
const audienceOf = (seed: number) =>
  planDemoAudience({
    streamId: 'st-demo',
    creatorId: 'demo-creator',
    startAt: START,
    durationMs: ROUND_MS,
    viewers: 80,
    seed,
  });

describe('planDemoAudience', () => {
  const plan = audienceOf(7);

  it('is deterministic and puts every view on the demo stream, each a valid player event on its 5 s grid', () => {
    expect(audienceOf(7)).toEqual(plan);
    for (const view of plan.views) {
      expect(view).toMatchObject({ streamId: 'st-demo', creatorId: 'demo-creator' });
      const phase = (view.events[0]!.at - plan.startAt) % STEP_MS;
      view.events.forEach(({ at, event }) => {
        expect(playerEventValidator.errors(event)).toEqual([]);
        expect(event).toMatchObject({ stream_id: 'st-demo', creator_id: 'demo-creator' });
        expect((at - plan.startAt) % STEP_MS).toBe(phase);
        expect(event.viewer_time - at).toBe(view.clockSkewMs);
        expect(at).toBeGreaterThanOrEqual(plan.startAt);
      });
    }
  });

  it('brings arrivals forward: over half of the viewers are in within the first quarter, and a viewer’s views never overlap', () => {
    const firstStart = new Map<string, number>();
    for (const view of plan.views)
      firstStart.set(view.viewerId, Math.min(firstStart.get(view.viewerId) ?? Infinity, view.events[0]!.at));
    const early = [...firstStart.values()].filter((at) => at < plan.startAt + plan.durationMs / 4).length;
    expect(early / firstStart.size).toBeGreaterThan(0.5);
    const byViewer = new Map<string, typeof plan.views>();
    for (const view of plan.views) byViewer.set(view.viewerId, [...(byViewer.get(view.viewerId) ?? []), view]);
    for (const views of byViewer.values()) {
      for (let i = 1; i < views.length; i++)
        expect(views[i]!.events[0]!.at).toBeGreaterThan(views[i - 1]!.events.at(-1)!.at);
    }
  });

  it.each([1, 2, 3, 4])(
    'with the chat script, makes the highlight detector fire at the first hype spike (seed %i)',
    (seed) => {
      // What the detector sees: complete viewer windows (ground truth) and 5 s chat buckets, chat opening 5 s after the audience.
      const audience = audienceOf(seed);
      const windows = new Map(
        computeGroundTruth(audience, settings)
          .streams['st-demo']!.windows.filter((w) => w.dimension === 'all')
          .map((w) => [w.window_start, w.concurrent_views]),
      );
      const chatStart = audience.startAt + 5_000 + 1_234;
      const script = planChatScript({
        chatters: 30,
        durationMs: 140_000,
        seed,
        hypeSpikesAtMs: hypeSpikeTimes(140_000, { firstAtMs: FIRST_HYPE_SPIKE_MS, everyMs: 150_000 }),
      });
      const bucketMs = DEFAULT_DETECTOR_SETTINGS.bucketMs;
      const buckets = new Map<number, { messages: number; chatters: Set<number>; hype: number }>();
      for (const line of script.lines.filter((l) => l.repeatOf === undefined)) {
        const start = Math.floor((chatStart + line.atMs) / bucketMs) * bucketMs;
        const bucket = buckets.get(start) ?? { messages: 0, chatters: new Set<number>(), hype: 0 };
        bucket.messages++;
        bucket.chatters.add(line.chatter);
        if (isHype(line.text)) bucket.hype++;
        buckets.set(start, bucket);
      }
      let state = initialDetectorState();
      const onsets: number[] = [];
      const first = Math.min(...buckets.keys());
      for (let start = first; start <= Math.max(...buckets.keys()); start += bucketMs) {
        const b = buckets.get(start);
        const viewers = windows.get(Math.floor((start + bucketMs) / 10_000) * 10_000);
        const step = detectInBucket(
          state,
          {
            startMs: start,
            messages: b?.messages ?? 0,
            uniqueChatters: b?.chatters.size ?? 0,
            hypeMessages: b?.hype ?? 0,
            ...(viewers ? { viewers } : {}),
          },
          DEFAULT_DETECTOR_SETTINGS,
        );
        if (step.detection?.score.chatSpike) onsets.push(start - chatStart);
        state = step.state;
      }
      expect(onsets).toHaveLength(1);
      expect(onsets[0]).toBeGreaterThanOrEqual(FIRST_HYPE_SPIKE_MS - bucketMs);
      expect(onsets[0]).toBeLessThan(FIRST_HYPE_SPIKE_MS + 6_000);
    },
  );
});
