import type { AnalyticsSettings } from '../core/config.ts';

/** Settings that would take a process out of embedded mode or pin its port; a test's own settings replace them. */
const DISTRIBUTED_OR_PROCESS_SETTINGS =
  /^(KAFKA_|CLICKHOUSE_|REDIS_|S3_|OPENAI_|SNOWFLAKE_|LIVEPULSE_|PORT$|HOST$|CLIP_|HIGHLIGHT_|CHAT_|ANALYTICS_|EMBEDDED_)/;

/** The environment of a `livepulse` process in embedded mode on `dataDir`, whatever the test runner's environment holds. */
export function embeddedEnvironment(dataDir: string, settings: Record<string, string> = {}): Record<string, string> {
  const inherited = Object.entries(process.env).filter(
    (entry): entry is [string, string] => entry[1] !== undefined && !DISTRIBUTED_OR_PROCESS_SETTINGS.test(entry[0]),
  );
  return { ...Object.fromEntries(inherited), LIVEPULSE_DATA_DIR: dataDir, ...settings };
}

/** The ANALYTICS_* variables that configure a process with these analytics settings. */
export function analyticsSettingsEnvironment(settings: AnalyticsSettings): Record<string, string> {
  return {
    ANALYTICS_WINDOW_MS: String(settings.windowMs),
    ANALYTICS_ALLOWED_LATENESS_MS: String(settings.allowedLatenessMs),
    ANALYTICS_VIEW_INACTIVE_MS: String(settings.inactiveAfterMs),
    ANALYTICS_VIEW_END_SILENCE_MS: String(settings.endAfterSilenceMs),
    ANALYTICS_PAUSED_VIEW_END_MS: String(settings.pausedEndAfterMs),
    ANALYTICS_MAX_REBUFFER_MS: String(settings.maxRebufferMs),
    ANALYTICS_EMIT_INTERVAL_MS: String(settings.emitIntervalMs),
    ANALYTICS_CATCH_UP_INTERVAL_MS: String(settings.catchUpIntervalMs),
    ANALYTICS_CATCH_UP_LAG_MS: String(settings.catchUpLagMs),
    ANALYTICS_IDLE_ADVANCE_MS: String(settings.idleAdvanceMs),
  };
}
