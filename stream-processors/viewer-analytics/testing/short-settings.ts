import type { AnalyticsSettings } from '../../../core/config.ts';

/**
 * Analytics settings with timeouts short enough for a test or a seeded dataset to see views end
 * and windows close within a simulation of a few minutes (production defaults: core/config.ts).
 */
export const SHORT_ANALYTICS_SETTINGS: AnalyticsSettings = {
  windowMs: 10_000,
  allowedLatenessMs: 15_000,
  inactiveAfterMs: 25_000,
  endAfterSilenceMs: 30_000,
  pausedEndAfterMs: 45_000,
  maxRebufferMs: 20_000,
  emitIntervalMs: 200,
  catchUpIntervalMs: 1_000,
  catchUpLagMs: 60_000,
  idleAdvanceMs: 500,
  maxViewsPerPartition: 100_000,
};
