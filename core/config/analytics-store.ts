import { join } from 'node:path';
import { z } from 'zod';
import { configSection, url, whenUnset } from './fields.ts';
import { dataDirVariable } from './server.ts';

/** The analytics store: a ClickHouse server when CLICKHOUSE_URL is set, else chDB in the data directory. */
export const analyticsStoreSection = configSection({
  variables: z.object({
    CLICKHOUSE_URL: whenUnset(
      url(['http:', 'https:']).optional().describe('`http(s)://host:port` of a ClickHouse server'),
      '— (chDB under the data dir)',
    ),
    CLICKHOUSE_USER: z.string().trim().default('default').describe('user name'),
    CLICKHOUSE_PASSWORD: z.string().default('').describe('password'),
    CLICKHOUSE_DATABASE: z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
      .default('livepulse')
      .describe('database (created if missing), on the server or in chDB'),
    LIVEPULSE_DATA_DIR: dataDirVariable,
  }),
  toConfig: (e) => ({
    analyticsStore: e.CLICKHOUSE_URL
      ? {
          kind: 'clickhouse' as const,
          url: e.CLICKHOUSE_URL,
          username: e.CLICKHOUSE_USER,
          password: e.CLICKHOUSE_PASSWORD,
          database: e.CLICKHOUSE_DATABASE,
        }
      : { kind: 'chdb' as const, path: join(e.LIVEPULSE_DATA_DIR, 'chdb'), database: e.CLICKHOUSE_DATABASE },
  }),
});
