import { z } from 'zod';
import { configSection, optionalString, url, whenUnset } from './fields.ts';

/** The Snowflake sink: on when the account, user name and password are all set. */
export const warehouseSection = configSection({
  variables: z.object({
    SNOWFLAKE_ACCOUNT: whenUnset(
      optionalString.describe('account; with the user name and password, switches the Snowflake sink on'),
      '— (off)',
    ),
    SNOWFLAKE_USERNAME: whenUnset(optionalString.describe('user name'), '— (off)'),
    SNOWFLAKE_PASSWORD: whenUnset(optionalString.describe('password'), '— (off)'),
    SNOWFLAKE_DATABASE: z.string().trim().default('LIVEPULSE').describe('target database'),
    SNOWFLAKE_SCHEMA: z.string().trim().default('PUBLIC').describe('target schema'),
    SNOWFLAKE_WAREHOUSE: optionalString.describe('warehouse'),
    SNOWFLAKE_ACCESS_URL: whenUnset(
      url(['http:', 'https:']).optional().describe('endpoint override'),
      'derived from the account',
    ),
  }),
  rules: (e) => {
    const credentials = [e.SNOWFLAKE_ACCOUNT, e.SNOWFLAKE_USERNAME, e.SNOWFLAKE_PASSWORD];
    return credentials.some(Boolean) && !credentials.every(Boolean)
      ? ['SNOWFLAKE_ACCOUNT, SNOWFLAKE_USERNAME and SNOWFLAKE_PASSWORD: set all three or none']
      : [];
  },
  toConfig: (e) => ({
    warehouse:
      e.SNOWFLAKE_ACCOUNT && e.SNOWFLAKE_USERNAME && e.SNOWFLAKE_PASSWORD
        ? {
            kind: 'snowflake' as const,
            account: e.SNOWFLAKE_ACCOUNT,
            username: e.SNOWFLAKE_USERNAME,
            password: e.SNOWFLAKE_PASSWORD,
            database: e.SNOWFLAKE_DATABASE,
            schema: e.SNOWFLAKE_SCHEMA,
            warehouse: e.SNOWFLAKE_WAREHOUSE,
            accessUrl: e.SNOWFLAKE_ACCESS_URL,
          }
        : { kind: 'off' as const },
  }),
});
