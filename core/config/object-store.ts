import { join } from 'node:path';
import { z } from 'zod';
import { boolean, configSection, optionalString, url, whenUnset } from './fields.ts';
import { dataDirVariable } from './server.ts';

/** Recordings, clips and reports: S3 (or an S3-compatible server) when S3_BUCKET is set, else a local directory. */
export const objectStoreSection = configSection({
  variables: z.object({
    S3_BUCKET: whenUnset(optionalString.describe('bucket for recordings, clips and reports'), '— (local directory)'),
    S3_ENDPOINT: whenUnset(url(['http:', 'https:']).optional().describe('endpoint of an S3-compatible server'), 'AWS'),
    S3_REGION: z.string().trim().default('us-east-1').describe('region'),
    S3_FORCE_PATH_STYLE: boolean(false).describe('path-style addressing (most S3-compatible servers need it)'),
    S3_PREFIX: z.string().trim().default('').describe('key prefix inside the bucket'),
    LIVEPULSE_DATA_DIR: dataDirVariable,
  }),
  rules: (e) => (e.S3_ENDPOINT && !e.S3_BUCKET ? ['S3_BUCKET: required when S3_ENDPOINT is set'] : []),
  toConfig: (e) => ({
    objectStore: e.S3_BUCKET
      ? {
          kind: 's3' as const,
          bucket: e.S3_BUCKET,
          endpoint: e.S3_ENDPOINT,
          region: e.S3_REGION,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          prefix: e.S3_PREFIX,
        }
      : { kind: 'local' as const, root: join(e.LIVEPULSE_DATA_DIR, 'objects') },
  }),
});
