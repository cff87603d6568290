import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { createApiTokenVerifier, mintApiToken } from './http/api-auth.ts';

const realCredentials = {
  LIVEPULSE_WRITE_KEYS: 'shop:wk_0123456789abcdef',
  LIVEPULSE_JWT_SECRET: 'x'.repeat(32),
  LIVEPULSE_IVS_WEBHOOK_SECRET: 'ivs-secret-0123456789',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('uses every embedded adapter and development credentials when nothing is set', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('embedded');
    expect(config.bus.kind).toBe('embedded');
    expect(config.analyticsStore).toMatchObject({ kind: 'chdb', path: 'data/chdb' });
    expect(config.liveState.kind).toBe('memory');
    expect(config.objectStore).toMatchObject({ kind: 'local', root: 'data/objects' });
    expect(config.ai.kind).toBe('off');
    expect(config.warehouse.kind).toBe('off');
    expect(config.http).toEqual({ port: 8080, host: '127.0.0.1', trustedProxies: [] });
    expect(config.auth.writeKeys).toEqual([{ key: 'lp_dev_write_key', propertyId: 'demo' }]);
    expect(config.auth.developmentCredentials.map((c) => c.split('=')[0])).toEqual([
      'LIVEPULSE_WRITE_KEYS',
      'LIVEPULSE_JWT_SECRET',
      'LIVEPULSE_IVS_WEBHOOK_SECRET',
    ]);
  });

  it.each([
    [
      'KAFKA_BROKERS',
      { KAFKA_BROKERS: 'k1:9092, k2:9092' },
      (c: ReturnType<typeof loadConfig>) => c.bus.kind === 'kafka' && c.bus.brokers.length === 2,
    ],
    [
      'CLICKHOUSE_URL',
      { CLICKHOUSE_URL: 'https://ch.example:8443' },
      (c: ReturnType<typeof loadConfig>) => c.analyticsStore.kind === 'clickhouse',
    ],
    [
      'REDIS_URL',
      { REDIS_URL: 'redis://cache:6379' },
      (c: ReturnType<typeof loadConfig>) => c.liveState.kind === 'redis',
    ],
    [
      'S3_BUCKET',
      { S3_BUCKET: 'clips', S3_ENDPOINT: 'http://127.0.0.1:9000' },
      (c: ReturnType<typeof loadConfig>) => c.objectStore.kind === 's3',
    ],
  ])('switches one port to the real system with %s (distributed mode)', (_name, env, check) => {
    const config = loadConfig({ ...realCredentials, ...env });
    expect(config.mode).toBe('distributed');
    expect(check(config)).toBe(true);
    expect(config.auth.developmentCredentials).toEqual([]);
  });

  it('turns on AI and the warehouse only when configured', () => {
    const config = loadConfig({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      SNOWFLAKE_ACCOUNT: 'acct',
      SNOWFLAKE_USERNAME: 'u',
      SNOWFLAKE_PASSWORD: 'p',
    });
    expect(config.ai).toMatchObject({ kind: 'openai', baseURL: 'http://127.0.0.1:11434/v1' });
    expect(config.warehouse).toMatchObject({ kind: 'snowflake', account: 'acct', database: 'LIVEPULSE' });
  });

  it('parses write keys per property', () => {
    const config = loadConfig({ LIVEPULSE_WRITE_KEYS: 'shop:wk_0123456789abcdef, wk_fedcba9876543210' });
    expect(config.auth.writeKeys).toEqual([
      { propertyId: 'shop', key: 'wk_0123456789abcdef' },
      { propertyId: 'default', key: 'wk_fedcba9876543210' },
    ]);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ KAFKA_BROKERS: 'not a broker' }, 'KAFKA_BROKERS'],
    [{ CLICKHOUSE_URL: 'ch.example:8123' }, 'CLICKHOUSE_URL'],
    [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ KAFKA_SSL: 'maybe' }, 'KAFKA_SSL'],
    [{ BUS_LINGER_MS: '-1' }, 'BUS_LINGER_MS'],
    [{ CLICKHOUSE_DATABASE: 'db; DROP' }, 'CLICKHOUSE_DATABASE'],
    [{ LIVEPULSE_JWT_SECRET: 'short' }, 'LIVEPULSE_JWT_SECRET'],
    [{ LIVEPULSE_WRITE_KEYS: 'shop:short' }, 'LIVEPULSE_WRITE_KEYS'],
    [{ KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SASL_USERNAME'],
    [{ S3_ENDPOINT: 'http://127.0.0.1:9000' }, 'S3_BUCKET'],
    [{ OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' }, 'OPENAI_API_KEY'],
    [{ SNOWFLAKE_ACCOUNT: 'acct' }, 'SNOWFLAKE_ACCOUNT'],
  ])('rejects %o naming %s', (env, variable) => {
    const problems = problemsOf(env);
    expect(problems.some((p) => p.startsWith(variable))).toBe(true);
  });

  it('refuses distributed mode without real credentials', () => {
    const problems = problemsOf({ KAFKA_BROKERS: 'k:9092' });
    expect(problems).toEqual([
      expect.stringMatching(/^LIVEPULSE_WRITE_KEYS: required in distributed mode/),
      expect.stringMatching(/^LIVEPULSE_JWT_SECRET or LIVEPULSE_JWKS_URL/),
      expect.stringMatching(/^LIVEPULSE_IVS_WEBHOOK_SECRET: required in distributed mode/),
    ]);
  });

  it('gives the collector its documented limits by default and reads overrides', () => {
    expect(loadConfig({}).ingest).toEqual({
      maxEventsPerRequest: 300,
      maxBodyBytes: 524_288,
      bodyTimeoutMs: 10_000,
      dedupeWindowMs: 300_000,
      maxEventAgeMs: 86_400_000,
      cmcdMaxReportsPerSession: 20_000,
      publishDeadlineMs: 5_000,
      ipHashSecret: undefined,
    });
    const config = loadConfig({
      INGEST_MAX_EVENTS_PER_REQUEST: '50',
      INGEST_MAX_BODY_BYTES: '65536',
      INGEST_DEDUPE_WINDOW_MS: '60000',
      LIVEPULSE_IP_HASH_SECRET: 'ip-hash-secret-0123',
    });
    expect(config.ingest).toMatchObject({
      maxEventsPerRequest: 50,
      maxBodyBytes: 65_536,
      dedupeWindowMs: 60_000,
      ipHashSecret: 'ip-hash-secret-0123',
    });
  });

  it('uses a development IVS webhook secret only in embedded mode', () => {
    expect(loadConfig({}).auth.ivsWebhookSecret).toMatch(/dev-only/);
    expect(loadConfig(realCredentials).auth.ivsWebhookSecret).toBe('ivs-secret-0123456789');
  });

  const DEVELOPMENT_VALUES = {
    LIVEPULSE_WRITE_KEYS: 'demo:lp_dev_write_key',
    LIVEPULSE_JWT_SECRET: 'livepulse-dev-only-jwt-secret-do-not-use-in-production',
    LIVEPULSE_IVS_WEBHOOK_SECRET: 'livepulse-dev-only-ivs-webhook-secret',
  };

  it.each(Object.entries(DEVELOPMENT_VALUES))(
    'refuses distributed mode with the published development value of %s passed explicitly',
    (variable, value) => {
      expect(problemsOf({ ...realCredentials, [variable]: value, KAFKA_BROKERS: 'k:9092' })).toEqual([
        `${variable}: is the published development value; distributed mode needs one of your own`,
      ]);
    },
  );

  it("refuses distributed mode with .env.example's change-me placeholders", () => {
    const placeholders = {
      LIVEPULSE_WRITE_KEYS: 'demo:change-me-write-key-0123456789',
      LIVEPULSE_JWT_SECRET: 'change-me-jwt-secret-0123456789abcdef0123456789',
      LIVEPULSE_IVS_WEBHOOK_SECRET: 'change-me-ivs-webhook-secret-0123',
      LIVEPULSE_IP_HASH_SECRET: 'change-me-ip-hash-secret-0123456',
    };
    expect(problemsOf({ ...placeholders, KAFKA_BROKERS: 'k:9092' })).toEqual(
      Object.keys(placeholders).map(
        (variable) =>
          expect.stringMatching(new RegExp(`^${variable}: still a change-me placeholder from .env.example`)) as unknown,
      ),
    );
    expect(loadConfig(placeholders).mode).toBe('embedded');
  });

  it('lists development values passed explicitly in embedded mode as development credentials', () => {
    expect(loadConfig(DEVELOPMENT_VALUES).auth.developmentCredentials.map((c) => c.split('=')[0])).toEqual([
      'LIVEPULSE_WRITE_KEYS',
      'LIVEPULSE_JWT_SECRET',
      'LIVEPULSE_IVS_WEBHOOK_SECRET',
    ]);
    expect(loadConfig({ LIVEPULSE_WRITE_KEYS: 'shop:lp_dev_write_key' }).auth.developmentCredentials).toContain(
      'LIVEPULSE_WRITE_KEYS=shop:lp_dev_write_key',
    );
  });

  it.each([
    ['a JWT secret', { LIVEPULSE_JWT_SECRET: 'x'.repeat(32) }],
    ['a JWKS URL', { LIVEPULSE_JWKS_URL: 'https://id.example/.well-known/jwks.json' }],
    ['write keys', { LIVEPULSE_WRITE_KEYS: 'shop:wk_0123456789abcdef' }],
  ])('in embedded mode with %s set, gives the IVS webhook a random secret, not the public one', (_what, env) => {
    const first = loadConfig(env).auth;
    expect(first.ivsWebhookSecret).not.toMatch(/dev-only/);
    expect(first.ivsWebhookSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.ivsWebhookSecret).not.toBe(loadConfig(env).auth.ivsWebhookSecret);
    expect(first.randomSecrets).toContain('LIVEPULSE_IVS_WEBHOOK_SECRET');
    expect(first.developmentCredentials.some((c) => c.startsWith('LIVEPULSE_IVS_WEBHOOK_SECRET'))).toBe(false);
    expect(loadConfig({}).auth.randomSecrets).toEqual([]);
  });

  it.each([
    ['write keys', { LIVEPULSE_WRITE_KEYS: 'shop:wk_0123456789abcdef' }],
    ['an IVS webhook secret', { LIVEPULSE_IVS_WEBHOOK_SECRET: 'ivs-secret-0123456789' }],
    ['an IP hash secret', { LIVEPULSE_IP_HASH_SECRET: 'ip-hash-secret-0123' }],
  ])(
    'in embedded mode with %s set but no JWT secret, signs tokens with a random secret, not the public one',
    (_what, env) => {
      const first = loadConfig(env).auth;
      expect(first.jwtSecret).not.toBe(DEVELOPMENT_VALUES.LIVEPULSE_JWT_SECRET);
      expect(first.jwtSecret!.length).toBeGreaterThanOrEqual(32);
      expect(first.jwtSecret).not.toBe(loadConfig(env).auth.jwtSecret);
      expect(first.randomSecrets).toContain('LIVEPULSE_JWT_SECRET');
      expect(first.developmentCredentials.filter((c) => !c.startsWith('LIVEPULSE_WRITE_KEYS='))).toEqual([]);
    },
  );

  it('refuses an admin token signed with the published development secret once a real write key is set', async () => {
    const forged = await mintApiToken({
      secret: DEVELOPMENT_VALUES.LIVEPULSE_JWT_SECRET,
      sub: 'attacker',
      role: 'admin',
      ttlSeconds: 600,
    });
    await expect(
      createApiTokenVerifier(loadConfig({ LIVEPULSE_WRITE_KEYS: 'shop:wk_0123456789abcdef' }).auth).verify(forged),
    ).rejects.toThrow();
    expect(await createApiTokenVerifier(loadConfig({}).auth).verify(forged)).toMatchObject({ role: 'admin' });
  });

  it('keeps the JWT secret unset, not random, when tokens are verified with a JWKS URL', () => {
    const auth = loadConfig({ LIVEPULSE_JWKS_URL: 'https://id.example/.well-known/jwks.json' }).auth;
    expect(auth.jwtSecret).toBeUndefined();
    expect(auth.randomSecrets).toEqual(['LIVEPULSE_IVS_WEBHOOK_SECRET']);
  });

  it('parses the allowed browser origins per property', () => {
    const config = loadConfig({
      LIVEPULSE_WRITE_KEYS: 'shop:wk_0123456789abcdef,blog:wk_fedcba9876543210',
      LIVEPULSE_WRITE_KEY_ORIGINS: 'shop=https://Shop.example, https://*.cdn.example:8443/ ; blog=*',
    });
    expect(config.auth.writeKeyOrigins).toEqual({
      shop: ['https://shop.example', 'https://*.cdn.example:8443'],
      blog: ['*'],
    });
    expect(loadConfig({}).auth.writeKeyOrigins).toEqual({});
  });

  it.each([
    ['an entry without =', 'https://shop.example', /must be property=origin/],
    ['a property without a write key', 'nope=https://a.example', /property "nope" has no write key/],
    ['a URL with a path', 'demo=https://a.example/page', /is not an origin/],
    ['an empty origin list', 'demo=', /lists no origin/],
  ])('rejects LIVEPULSE_WRITE_KEY_ORIGINS with %s', (_what, value, message) => {
    const problems = problemsOf({ LIVEPULSE_WRITE_KEY_ORIGINS: value });
    expect(problems).toEqual([expect.stringMatching(message)]);
  });

  it.each([
    [{ INGEST_MAX_EVENTS_PER_REQUEST: '0' }, 'INGEST_MAX_EVENTS_PER_REQUEST'],
    [{ INGEST_MAX_BODY_BYTES: 'big' }, 'INGEST_MAX_BODY_BYTES'],
    [{ INGEST_DEDUPE_WINDOW_MS: '-5' }, 'INGEST_DEDUPE_WINDOW_MS'],
    [{ INGEST_PUBLISH_DEADLINE_MS: '0' }, 'INGEST_PUBLISH_DEADLINE_MS'],
    [{ LIVEPULSE_IVS_WEBHOOK_SECRET: 'short' }, 'LIVEPULSE_IVS_WEBHOOK_SECRET'],
    [{ LIVEPULSE_IP_HASH_SECRET: 'short' }, 'LIVEPULSE_IP_HASH_SECRET'],
    [{ LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS: '10' }, 'LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS'],
    [{ LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS: '1e20' }, 'LIVEPULSE_MAX_TOKEN_LIFETIME_SECONDS'],
  ])('rejects collector setting %o naming %s', (env, variable) => {
    expect(problemsOf(env).some((p) => p.startsWith(variable))).toBe(true);
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'y' })).toHaveLength(2);
  });

  it('defaults the clip worker, the highlight detector and IVS', () => {
    const config = loadConfig({});
    expect(config.ivs).toEqual({ region: 'us-east-1', endpoint: undefined });
    expect(config.clips).toMatchObject({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      concurrency: 2,
      maxAttempts: 5,
      leaseMs: 30_000,
      vertical: { width: 720, height: 1280 },
      x264Preset: 'veryfast',
      loudnessLufs: -14,
      putMetadata: false,
    });
    expect(config.highlights).toEqual({
      zThreshold: 3,
      minMessages: 10,
      minUniqueChatters: 5,
      cooldownMs: 45_000,
      preRollMs: 20_000,
      postRollMs: 10_000,
    });
  });

  it('reads clip, highlight and IVS settings', () => {
    const config = loadConfig({
      IVS_REGION: 'eu-west-1',
      IVS_ENDPOINT: 'http://127.0.0.1:4566',
      CLIP_WORKER_CONCURRENCY: '4',
      CLIP_VERTICAL_SIZE: '1080x1920',
      CLIP_PUT_METADATA: 'true',
      HIGHLIGHT_PRE_ROLL_MS: '25000',
      HIGHLIGHT_POST_ROLL_MS: '5000',
    });
    expect(config.ivs).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' });
    expect(config.clips).toMatchObject({ concurrency: 4, vertical: { width: 1080, height: 1920 }, putMetadata: true });
    expect(config.highlights).toMatchObject({ preRollMs: 25_000, postRollMs: 5_000 });
  });

  it.each([
    [{ IVS_REGION: 'mars' }, 'IVS_REGION'],
    [{ IVS_ENDPOINT: 'ftp://ivs' }, 'IVS_ENDPOINT'],
    [{ CLIP_WORKER_CONCURRENCY: '0' }, 'CLIP_WORKER_CONCURRENCY'],
    [{ CLIP_LEASE_MS: '100' }, 'CLIP_LEASE_MS'],
    [{ CLIP_VERTICAL_SIZE: 'tall' }, 'CLIP_VERTICAL_SIZE'],
    [{ CLIP_VERTICAL_SIZE: '721x1280' }, 'CLIP_VERTICAL_SIZE'],
    [{ CLIP_X264_PRESET: 'turbo' }, 'CLIP_X264_PRESET'],
    [{ CLIP_LOUDNESS_LUFS: '3' }, 'CLIP_LOUDNESS_LUFS'],
    [{ HIGHLIGHT_Z_THRESHOLD: '-1' }, 'HIGHLIGHT_Z_THRESHOLD'],
    [{ HIGHLIGHT_PRE_ROLL_MS: '55000' }, 'HIGHLIGHT_PRE_ROLL_MS + HIGHLIGHT_POST_ROLL_MS'],
    [
      { HIGHLIGHT_PRE_ROLL_MS: '1000', HIGHLIGHT_POST_ROLL_MS: '1000' },
      'HIGHLIGHT_PRE_ROLL_MS + HIGHLIGHT_POST_ROLL_MS',
    ],
  ])('rejects clip and highlight setting %o naming %s', (env, variable) => {
    expect(problemsOf(env).some((p) => p.startsWith(variable))).toBe(true);
  });
});

describe('chat and moderation settings', () => {
  it('defaults to Twitch-like limits, a bounded hold that denies, and AI tuning for the auto backend', () => {
    const config = loadConfig({});
    expect(config.chat).toEqual({
      maxMessageLength: 500,
      flood: { messages: 20, privilegedMessages: 100, windowMs: 30_000 },
      hold: { timeoutMs: 60_000, onTimeout: 'deny' },
      historySize: 50,
      anonymousViewers: true,
      connectionsPerMinute: 30,
      socketEventsPer10s: 40,
    });
    expect(config.moderation.ai).toMatchObject({
      backend: 'auto',
      guardModel: 'gpt-4o-mini',
      batchSize: 32,
      budgetPerMinute: 600,
    });
  });

  it('reads overrides', () => {
    const config = loadConfig({
      CHAT_MAX_MESSAGE_LENGTH: '280',
      CHAT_HOLD_TIMEOUT_MS: '5000',
      CHAT_HOLD_TIMEOUT_ACTION: 'release',
      CHAT_ANONYMOUS_VIEWERS: 'false',
      MODERATION_AI_BACKEND: 'chat',
      MODERATION_AI_GUARD_MODEL: 'llama-guard3:1b',
      MODERATION_AI_BREAKER_FAILURES: '3',
    });
    expect(config.chat).toMatchObject({
      maxMessageLength: 280,
      hold: { timeoutMs: 5_000, onTimeout: 'release' },
      anonymousViewers: false,
    });
    expect(config.moderation.ai).toMatchObject({
      backend: 'chat',
      guardModel: 'llama-guard3:1b',
      breaker: { failureThreshold: 3 },
    });
  });

  it.each([
    [{ CHAT_MAX_MESSAGE_LENGTH: '0' }, 'CHAT_MAX_MESSAGE_LENGTH'],
    [{ CHAT_MAX_MESSAGE_LENGTH: '5000' }, 'CHAT_MAX_MESSAGE_LENGTH'],
    [{ CHAT_FLOOD_MESSAGES: '0' }, 'CHAT_FLOOD_MESSAGES'],
    [{ CHAT_HOLD_TIMEOUT_MS: '100' }, 'CHAT_HOLD_TIMEOUT_MS'],
    [{ CHAT_HOLD_TIMEOUT_MS: '3600000' }, 'CHAT_HOLD_TIMEOUT_MS'],
    [{ CHAT_HOLD_TIMEOUT_ACTION: 'wait' }, 'CHAT_HOLD_TIMEOUT_ACTION'],
    [{ CHAT_ANONYMOUS_VIEWERS: 'sometimes' }, 'CHAT_ANONYMOUS_VIEWERS'],
    [{ MODERATION_AI_BACKEND: 'classify' }, 'MODERATION_AI_BACKEND'],
    [{ MODERATION_AI_BATCH_SIZE: '1000' }, 'MODERATION_AI_BATCH_SIZE'],
    [{ MODERATION_AI_MAX_RETRIES: '-1' }, 'MODERATION_AI_MAX_RETRIES'],
  ])('rejects chat and moderation setting %o naming %s', (env, variable) => {
    expect(problemsOf(env).some((p) => p.startsWith(variable))).toBe(true);
  });
});

describe('loadConfig: viewer analytics', () => {
  it('defaults to Mux-like windows and timeouts', () => {
    expect(loadConfig({}).analytics).toEqual({
      windowMs: 10_000,
      allowedLatenessMs: 30_000,
      inactiveAfterMs: 25_000,
      endAfterSilenceMs: 60_000,
      pausedEndAfterMs: 3_600_000,
      maxRebufferMs: 300_000,
      emitIntervalMs: 1_000,
      catchUpIntervalMs: 1_000,
      catchUpLagMs: 60_000,
      idleAdvanceMs: 2_000,
      maxViewsPerPartition: 200_000,
    });
  });

  it('reads overrides, and the consumer session timeout for Kafka', () => {
    const config = loadConfig({
      ...realCredentials,
      KAFKA_BROKERS: 'k:9092',
      ANALYTICS_WINDOW_MS: '5000',
      ANALYTICS_ALLOWED_LATENESS_MS: '0',
      KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000',
    });
    expect(config.analytics).toMatchObject({ windowMs: 5_000, allowedLatenessMs: 0 });
    expect(config.bus).toMatchObject({ kind: 'kafka', consumerSessionTimeoutMs: 6_000 });
  });

  it('chooses the Kafka client library: @platformatic/kafka unless KAFKA_CLIENT says kafkajs, and refuses another', () => {
    expect(loadConfig({ ...realCredentials, KAFKA_BROKERS: 'k:9092' }).bus).toMatchObject({
      kind: 'kafka',
      client: 'platformatic',
    });
    expect(loadConfig({ ...realCredentials, KAFKA_BROKERS: 'k:9092', KAFKA_CLIENT: 'kafkajs' }).bus).toMatchObject({
      kind: 'kafka',
      client: 'kafkajs',
    });
    expect(() => loadConfig({ ...realCredentials, KAFKA_BROKERS: 'k:9092', KAFKA_CLIENT: 'rdkafka' })).toThrow(
      /KAFKA_CLIENT/,
    );
  });

  it('accepts a checkpoint interval longer than the catch-up one: the longer of the two applies while catching up', () => {
    expect(
      loadConfig({ ANALYTICS_EMIT_INTERVAL_MS: '10000', ANALYTICS_CATCH_UP_INTERVAL_MS: '5000' }).analytics,
    ).toMatchObject({
      emitIntervalMs: 10_000,
      catchUpIntervalMs: 5_000,
    });
  });

  it.each([
    [{ ANALYTICS_WINDOW_MS: '7000' }, 'ANALYTICS_WINDOW_MS'],
    [{ ANALYTICS_WINDOW_MS: '1500' }, 'ANALYTICS_WINDOW_MS'],
    [{ ANALYTICS_WINDOW_MS: '120000' }, 'ANALYTICS_WINDOW_MS'],
    [{ ANALYTICS_VIEW_END_SILENCE_MS: '10000' }, 'ANALYTICS_VIEW_END_SILENCE_MS'],
    [{ ANALYTICS_PAUSED_VIEW_END_MS: '30000' }, 'ANALYTICS_PAUSED_VIEW_END_MS'],
    [{ ANALYTICS_ALLOWED_LATENESS_MS: '-1' }, 'ANALYTICS_ALLOWED_LATENESS_MS'],
    [{ ANALYTICS_CATCH_UP_INTERVAL_MS: '0' }, 'ANALYTICS_CATCH_UP_INTERVAL_MS'],
    [{ KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '1000' }, 'KAFKA_CONSUMER_SESSION_TIMEOUT_MS'],
    [{ ANALYTICS_WORKER_THREADS: '0' }, 'ANALYTICS_WORKER_THREADS'],
    [{ ANALYTICS_WORKER_THREADS: 'all' }, 'ANALYTICS_WORKER_THREADS'],
    [{ ANALYTICS_WORKER_THREADS: '2.5' }, 'ANALYTICS_WORKER_THREADS'],
  ])('rejects %o naming %s', (env, variable) => {
    expect(problemsOf(env).some((p) => p.startsWith(variable))).toBe(true);
  });

  it.each([
    [{}, 'auto'],
    [{ ANALYTICS_WORKER_THREADS: 'auto' }, 'auto'],
    [{ ANALYTICS_WORKER_THREADS: '1' }, 1],
    [{ ANALYTICS_WORKER_THREADS: ' 12 ' }, 12],
  ] as const)('reads the viewer-analytics worker threads from %o: %s', (env, threads) => {
    expect(loadConfig(env).analyticsWorkerThreads).toBe(threads);
  });
});

// Pinned before the configuration was split into sections, so the split is proven not to change them.
describe('loadConfig: derived values', () => {
  it.each([
    ['a boolean from yes', { ...realCredentials, KAFKA_BROKERS: 'k:9092', KAFKA_SSL: 'yes' }, ['bus', 'ssl'], true],
    ['a boolean from 0', { CHAT_ANONYMOUS_VIEWERS: '0' }, ['chat', 'anonymousViewers'], false],
    ['a boolean default', {}, ['moderation', 'encoder', 'enabled'], true],
    ['a number with spaces', { INGEST_MAX_BODY_BYTES: ' 1024 ' }, ['ingest', 'maxBodyBytes'], 1_024],
    ['a negative decimal', { CLIP_LOUDNESS_LUFS: '-16.5' }, ['clips', 'loudnessLufs'], -16.5],
    [
      'a size split in two',
      { CLIP_VERTICAL_SIZE: '1080x1920' },
      ['clips', 'vertical'],
      { width: 1_080, height: 1_920 },
    ],
    ['an empty string as unset', { CLIP_WORK_DIR: '  ' }, ['clips', 'workDirectory'], undefined],
    [
      'the guard model from the chat model',
      { OPENAI_CHAT_MODEL: 'llama' },
      ['moderation', 'ai', 'guardModel'],
      'llama',
    ],
    ['paths under the data directory', { LIVEPULSE_DATA_DIR: '/srv/lp' }, ['bus', 'path'], '/srv/lp/bus/log.sqlite'],
    ['the embedded bus sync default', {}, ['bus', 'synchronous'], 'full'],
    ['a trimmed host', { HOST: ' 0.0.0.0 ' }, ['http', 'host'], '0.0.0.0'],
    ['trusted proxies', { LIVEPULSE_TRUSTED_PROXIES: 'loopback' }, ['http', 'trustedProxies'], ['loopback']],
  ] as const)('reads %s', (_what, env, path, expected) => {
    let value: unknown = loadConfig(env);
    for (const key of path) value = (value as Record<string, unknown>)[key];
    expect(value).toEqual(expected);
  });

  it.each([
    [
      { CHAT_HOLD_TIMEOUT_ACTION: 'drop' },
      'CHAT_HOLD_TIMEOUT_ACTION: Invalid option: expected one of "deny"|"release"',
    ],
    [{ EMBEDDED_BUS_SYNC: 'off' }, 'EMBEDDED_BUS_SYNC: Invalid option: expected one of "full"|"normal"'],
    [{ KAFKA_PRODUCERS: '17' }, 'KAFKA_PRODUCERS: Too big: expected number to be <=16'],
    [{ IVS_REGION: 'mars' }, 'IVS_REGION: must be an AWS region such as us-west-2'],
  ])('refuses %o with the message %s', (env, message) => {
    expect(problemsOf(env)).toEqual([message]);
  });
});
