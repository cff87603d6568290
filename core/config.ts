import type { z } from 'zod';
import { resolveAuth } from './config/auth.ts';
import { type ConfigSections, configSections } from './config/sections.ts';

/**
 * The one typed configuration of Livepulse, read from the environment.
 * With nothing set, every port uses its embedded adapter. Setting a port's variable switches
 * that port to the real system; a bad value fails at start with a message naming the variable.
 *
 * Each area's variables, their descriptions and the part of `Config` they make are one section in
 * core/config/; docs/configuration.md is generated from them (npm run docs:config).
 */

export type { WriteKey } from './config/auth.ts';
export { tokenSigningSecret } from './config/auth.ts';

export type Config = OptionalWhereUndefined<ReturnType<typeof assembleConfig>>;
export type IngestSettings = Config['ingest'];
export type AnalyticsSettings = Config['analytics'];
export type HostPromptSettings = Config['hostPrompts'];

/**
 * `{ a: string | undefined }` as `{ a?: string }`: a setting that may be unset may also be left
 * out, as fixtures and tests do when they build part of a configuration.
 */
type OptionalWhereUndefined<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? {
        [K in keyof T as undefined extends T[K] ? K : never]?: OptionalWhereUndefined<T[K]>;
      } & { [K in keyof T as undefined extends T[K] ? never : K]: OptionalWhereUndefined<T[K]> } extends infer O
      ? { [K in keyof O]: O[K] }
      : never
    : T;

type SectionValues = { [Name in keyof ConfigSections]: z.output<ConfigSections[Name]['variables']> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const values = readSections(env);
  const problems: string[] = [];
  const distributed = isDistributed(values);
  const auth = resolveAuth(values.auth, distributed, problems);
  for (const [name, section] of Object.entries(configSections)) {
    const rules = section.rules as ((values: unknown) => string[]) | undefined;
    problems.push(...(rules?.(values[name as keyof SectionValues]) ?? []));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return assembleConfig(values, distributed ? 'distributed' : 'embedded', auth);
}

/** Every section's variables, or every malformed variable of every section at once. */
function readSections(env: Record<string, string | undefined>): SectionValues {
  const values: Record<string, unknown> = {};
  const issues: string[] = [];
  for (const [name, section] of Object.entries(configSections)) {
    const parsed = section.variables.safeParse(env);
    if (parsed.success) values[name] = parsed.data;
    else issues.push(...parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  // A variable that several sections read is reported once.
  if (issues.length > 0) throw new ConfigError([...new Set(issues)]);
  return values as SectionValues;
}

/** Setting any port's real system (Kafka, ClickHouse, Redis, S3) makes the whole process distributed. */
function isDistributed(values: SectionValues): boolean {
  return Boolean(
    values.bus.KAFKA_BROKERS ||
      values.analyticsStore.CLICKHOUSE_URL ||
      values.liveState.REDIS_URL ||
      values.objectStore.S3_BUCKET,
  );
}

// The order of the parts is the order `livepulse config` prints them in.
function assembleConfig(values: SectionValues, mode: 'embedded' | 'distributed', auth: ReturnType<typeof resolveAuth>) {
  const sections = configSections;
  return {
    mode,
    ...sections.server.toConfig(values.server),
    auth,
    ...sections.ingest.toConfig(values.ingest),
    ...sections.ivs.toConfig(values.ivs),
    ...sections.clips.toConfig(values.clips),
    ...sections.highlights.toConfig(values.highlights),
    ...sections.analytics.toConfig(values.analytics),
    ...sections.bus.toConfig(values.bus),
    ...sections.analyticsStore.toConfig(values.analyticsStore),
    ...sections.liveState.toConfig(values.liveState),
    ...sections.objectStore.toConfig(values.objectStore),
    ...sections.ai.toConfig(values.ai),
    ...sections.chat.toConfig(values.chat),
    ...sections.moderation.toConfig(values.moderation),
    ...sections.hostPrompts.toConfig(values.hostPrompts),
    ...sections.warehouse.toConfig(values.warehouse),
  };
}
