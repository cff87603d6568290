import { z } from 'zod';
import { configSection, url, whenUnset } from './fields.ts';

/** Live state (counters, presence, dedupe keys): Redis when REDIS_URL is set, else in memory. */
export const liveStateSection = configSection({
  variables: z.object({
    REDIS_URL: whenUnset(
      url(['redis:', 'rediss:']).optional().describe('`redis://` or `rediss://` URL'),
      '— (in memory)',
    ),
  }),
  toConfig: (e) => ({
    liveState: e.REDIS_URL ? { kind: 'redis' as const, url: e.REDIS_URL } : { kind: 'memory' as const },
  }),
});
