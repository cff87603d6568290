import { testServices } from './services.ts';

/** Secrets of an embedded platform in a test (the public development ones are refused outside embedded mode). */
export const TEST_PLATFORM_SECRETS = {
  writeKey: 'test-platform-write-key-0123456789',
  jwtSecret: 'test-platform-jwt-secret-0123456789abcdef',
  ivsSecret: 'test-platform-ivs-secret',
} as const;

/**
 * The environment of an embedded platform in a test: any free port, no logs, its own data
 * directory and ClickHouse database on the test services, and the test secrets (property `demo`);
 * `more` adds or overrides settings.
 */
export function testPlatformEnv(
  dataDir: string,
  database: string,
  more: Record<string, string> = {},
): Record<string, string> {
  return {
    PORT: '0',
    LOG_LEVEL: 'silent',
    LIVEPULSE_DATA_DIR: dataDir,
    CLICKHOUSE_URL: testServices().clickhouseUrl,
    CLICKHOUSE_DATABASE: database,
    LIVEPULSE_WRITE_KEYS: `demo:${TEST_PLATFORM_SECRETS.writeKey}`,
    LIVEPULSE_JWT_SECRET: TEST_PLATFORM_SECRETS.jwtSecret,
    LIVEPULSE_IVS_WEBHOOK_SECRET: TEST_PLATFORM_SECRETS.ivsSecret,
    ...more,
  };
}
