import { z } from 'zod';
import { configSection, url, whenUnset } from './fields.ts';

/** Amazon IVS control plane (`livepulse ivs …`, timed metadata); the endpoint is for IVS-compatible test servers. */
export const ivsSection = configSection({
  variables: z.object({
    IVS_REGION: z
      .string()
      .trim()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-west-2')
      .default('us-east-1')
      .describe('region of the IVS channels (`livepulse ivs …`, timed metadata)'),
    IVS_ENDPOINT: whenUnset(
      url(['http:', 'https:']).optional().describe('an IVS-compatible endpoint (the test double)'),
      'AWS',
    ),
  }),
  toConfig: (e) => ({ ivs: { region: e.IVS_REGION, endpoint: e.IVS_ENDPOINT } }),
});
