import { describe, expect, it } from 'vitest';
import { playerEventValidator } from '../../core/schemas/player-event.ts';
import { computeGroundTruth } from './ground-truth.ts';
import { planSimulation, SCENARIOS, STEP_MS } from './viewer-scripts.ts';

const settings = {
  windowMs: 10_000,
  inactiveAfterMs: 25_000,
  endAfterSilenceMs: 60_000,
  pausedEndAfterMs: 120_000,
  maxRebufferMs: 30_000,
};

describe('simulator', () => {
  const plan = planSimulation({
    viewers: 300,
    durationMs: 180_000,
    seed: 42,
    startAt: Date.UTC(2026, 5, 1, 9, 0, 3),
    maxRebufferMs: settings.maxRebufferMs,
  });

  it('is deterministic for a seed', () => {
    expect(
      planSimulation({
        viewers: 300,
        durationMs: 180_000,
        seed: 42,
        startAt: Date.UTC(2026, 5, 1, 9, 0, 3),
        maxRebufferMs: settings.maxRebufferMs,
      }),
    ).toEqual(plan);
    expect(plan.startAt % 10_000).toBe(0);
  });

  it('plays every scenario, and every event is a valid player event on its view’s grid', () => {
    expect(new Set(plan.views.map((v) => v.scenario))).toEqual(new Set(SCENARIOS));
    for (const view of plan.views) {
      const phase = (view.events[0]!.at - plan.startAt) % STEP_MS;
      expect(phase).toBeGreaterThanOrEqual(500);
      expect(phase).toBeLessThan(1_500);
      view.events.forEach(({ at, event }, i) => {
        expect(playerEventValidator.errors(event), `${view.viewId} #${i}`).toEqual([]);
        expect((at - plan.startAt) % STEP_MS).toBe(phase);
        expect(event.view_seq).toBe(i);
        expect(event.viewer_time - at).toBe(view.clockSkewMs);
      });
    }
    expect(plan.views.some((v) => v.clockSkewMs !== 0)).toBe(true);
  });

  it('sends cumulative counters that never go down, and startup only once the first frame showed', () => {
    for (const view of plan.views) {
      for (let i = 1; i < view.events.length; i++) {
        const [a, b] = [view.events[i - 1]!.event.counters, view.events[i]!.event.counters];
        for (const key of ['watch_ms', 'playing_ms', 'rebuffer_ms', 'rebuffer_count', 'upscale_weighted_ms'] as const)
          expect(b[key]!).toBeGreaterThanOrEqual(a[key]!);
      }
      const last = view.events.at(-1)!.event.counters;
      if (
        view.scenario === 'exit_before_start' ||
        view.scenario === 'startup_failure' ||
        view.scenario === 'business_exception'
      )
        expect(last.ttff_ms).toBeUndefined();
      else expect(last.ttff_ms).toBeGreaterThan(0);
      // Watch time is wall time minus pauses: never more than the view lasted.
      expect(last.watch_ms).toBeLessThanOrEqual(view.events.at(-1)!.at - view.events[0]!.at);
    }
  });

  it('states a ground truth consistent with itself', () => {
    const truth = computeGroundTruth(plan, settings);
    expect(truth.views).toBe(plan.views.length);
    let views = 0;
    for (const stream of Object.values(truth.streams)) {
      views += stream.totals.views;
      const started = stream.windows.filter((w) => w.dimension === 'all').reduce((n, w) => n + w.views_started, 0);
      expect(started).toBe(stream.totals.views);
      const watched = stream.windows.filter((w) => w.dimension === 'all').reduce((n, w) => n + w.watch_ms, 0);
      expect(watched).toBe(stream.totals.watch_ms);
      expect(Object.values(stream.by_dimension.device).reduce((n, t) => n + t.views, 0)).toBe(stream.totals.views);
      expect(stream.engagement_by_start_minute.reduce((n, m) => n + m.views, 0)).toBe(stream.totals.views);
      expect(stream.qoe_by_end_minute.reduce((n, m) => n + m.views, 0)).toBe(stream.totals.views);
      expect(
        stream.totals.exits_before_start +
          stream.totals.views_with_startup +
          stream.totals.startup_failures +
          stream.totals.business_exceptions,
      ).toBeGreaterThanOrEqual(stream.totals.views);
    }
    expect(views).toBe(truth.views);
  });
});
