import { describe, expect, it } from 'vitest';
import { highlightId, highlightValidator, type Highlight } from '../../core/schemas/highlight.ts';
import {
  DEFAULT_DETECTOR_SETTINGS,
  detectInBucket,
  highlightFromDetection,
  highlightWindow,
  initialDetectorState,
  type ChatBucket,
  type DetectorSettings,
} from './spike-detector.ts';

const settings = DEFAULT_DETECTOR_SETTINGS;
const T0 = Date.parse('2026-05-01T20:00:00.000Z');

/** A bucket per entry: [messages, unique chatters, hype messages, viewers?]. */
type Spec = [number, number, number, number?];

function buckets(specs: Spec[]): ChatBucket[] {
  return specs.map(([messages, uniqueChatters, hypeMessages, viewers], i) => ({
    startMs: T0 + i * settings.bucketMs,
    messages,
    uniqueChatters,
    hypeMessages,
    ...(viewers !== undefined ? { viewers } : {}),
  }));
}

/** Steady chat around `level` messages per bucket (±1), from `level` chatters, a little hype. */
function steady(count: number, level = 8, viewers?: number): Spec[] {
  return Array.from({ length: count }, (_, i): Spec => [level + ((i % 3) - 1), Math.max(1, level - 2), 1, viewers]);
}

function run(specs: Spec[], overrides: Partial<DetectorSettings> = {}) {
  const s = { ...settings, ...overrides };
  let state = initialDetectorState();
  const detections: Array<{ index: number; triggers: string[]; z: number }> = [];
  buckets(specs).forEach((bucket, index) => {
    const step = detectInBucket(state, bucket, s);
    if (step.detection) {
      const triggers = [
        step.detection.score.chatSpike && 'chat_spike',
        step.detection.score.viewerSurge && 'viewer_surge',
      ].filter(Boolean) as string[];
      detections.push({ index, triggers, z: step.detection.score.z });
    }
    state = step.state;
  });
  return { detections, state };
}

describe('detectInBucket', () => {
  it.each<[string, Spec[], number[]]>([
    ['steady chat', steady(60), []],
    ['a spike after the warm-up', [...steady(20), [40, 25, 10], ...steady(10)], [20]],
    ['a spike during the warm-up', [...steady(6), [40, 25, 10], ...steady(10)], []],
    ['a rise below the rate ratio', [...steady(20, 20), [34, 20, 2], ...steady(5, 20)], []],
    ['a burst from few chatters (copy-pasta)', [...steady(20), [40, 3, 0], ...steady(5)], []],
    ['a burst below the message floor', [...steady(20, 1), [9, 9, 0], ...steady(5, 1)], []],
    ['a quiet stream coming alive', [...Array.from({ length: 20 }, (): Spec => [0, 0, 0]), [14, 8, 4]], [20]],
    ['two spikes inside the cooldown', [...steady(20), [40, 25, 10], ...steady(3), [45, 30, 10], ...steady(10)], [20]],
    ['two spikes a minute apart', [...steady(20), [40, 25, 10], ...steady(12), [50, 30, 10], ...steady(3)], [20, 33]],
  ])('%s', (_what, specs, expected) => {
    expect(run(specs).detections.map((d) => d.index)).toEqual(expected);
  });

  it('makes a lasting rise the new normal instead of a highlight every cooldown', () => {
    const { detections } = run([...steady(20, 8), ...steady(60, 30)]);
    expect(detections.map((d) => d.index)).toEqual([20]);
  });

  it('normalises by viewers: a raid that grows chat and audience alike is a viewer surge, not a chat spike', () => {
    const raid = [...steady(20, 10, 100), ...steady(10, 25, 250)];
    const { detections } = run(raid);
    expect(detections).toHaveLength(1);
    expect(detections[0]).toMatchObject({ index: 20, triggers: ['viewer_surge'] });
  });

  it('without viewer counts the same raid reads as a chat spike', () => {
    const { detections } = run([...steady(20, 10), ...steady(10, 25)]);
    expect(detections[0]).toMatchObject({ index: 20, triggers: ['chat_spike'] });
  });

  it('lets hype push a moderate rise over the threshold', () => {
    // Bursty chat (5 and 15 messages in turn) has a deviation well above Poisson noise.
    const bursty = Array.from({ length: 20 }, (_, i): Spec => [i % 2 === 0 ? 5 : 15, 8, 1]);
    const moderate: Spec = [21, 14, 2];
    const hyped: Spec = [21, 14, 19];
    expect(run([...bursty, moderate]).detections).toEqual([]);
    expect(run([...bursty, hyped]).detections.map((d) => d.index)).toEqual([20]);
  });

  it('carries the baseline over when viewer counts start arriving, so a spike right after is still seen', () => {
    // Counts lag chat by the analytics pipeline; a restarted baseline would be blind for the warm-up.
    const counted = run([...steady(20, 10), ...steady(3, 10, 200)]);
    expect(counted.detections).toEqual([]);
    expect(counted.state.baseline).toMatchObject({ perViewer: true, samples: 23 });
    expect(counted.state.baseline.rate.mean).toBeCloseTo(5, 0);
    expect(run([...steady(20, 10), ...steady(2, 10, 200), [40, 25, 10, 200]]).detections).toMatchObject([
      { index: 22, triggers: ['chat_spike'] },
    ]);
  });

  it('normalises by the last audience known when a count is zero (every view paused or ended)', () => {
    const { detections, state } = run([...steady(20, 10, 100), ...steady(2, 10, 0), [40, 25, 10, 0]]);
    expect(detections).toMatchObject([{ index: 22, triggers: ['chat_spike'] }]);
    expect(state).toMatchObject({ lastViewers: 100, baseline: { perViewer: true } });
  });
});

describe('highlight windows', () => {
  it('reaches back from the onset by the pre-roll and forward by the post-roll', () => {
    expect(highlightWindow(T0, settings)).toEqual({ start: T0 - 20_000, end: T0 + 10_000 });
  });

  it('caps the window at 60 s, keeping the end', () => {
    expect(highlightWindow(T0, { preRollMs: 55_000, postRollMs: 15_000, maxClipMs: 60_000 })).toEqual({
      start: T0 - 45_000,
      end: T0 + 15_000,
    });
  });

  it('turns a detection into a valid highlight with a deterministic id and readable reasons', () => {
    let state = initialDetectorState();
    const all = buckets([...steady(20, 8, 400), [40, 25, 20, 410]]);
    let highlight: Highlight | undefined;
    for (const bucket of all) {
      const step = detectInBucket(state, bucket, settings);
      if (step.detection) highlight = highlightFromDetection('st-AbC123', step.detection, settings, T0 + 200_000);
      state = step.state;
    }
    expect(highlight).toBeDefined();
    expect(highlightValidator.errors(highlight)).toEqual([]);
    const onset = T0 + 20 * settings.bucketMs;
    expect(highlight).toMatchObject({
      stream_id: 'st-AbC123',
      start: onset - 20_000,
      end: onset + 10_000,
      highlight_id: highlightId('st-AbC123', onset - 20_000, onset + 10_000),
    });
    expect(highlight!.score).toBeGreaterThan(3);
    expect(highlight!.reasons[0]).toMatch(
      /^chat_spike: z=\d+\.\d, 40 messages in 5 s \(\d+\.\d× baseline, per viewer\)$/,
    );
    expect(highlight!.reasons).toContain('unique_chatters: 25');
    expect(highlight!.reasons[2]).toMatch(/^hype: 50% of messages \(baseline \d+%\)$/);
  });
});
