import { z } from 'zod';
import { configSection, nonNegativeInt, positiveInt } from './fields.ts';

/** The highlight detector (stream-processors/highlights/): thresholds and the clip window around a spike. */
export const highlightsSection = configSection({
  variables: z.object({
    HIGHLIGHT_Z_THRESHOLD: z.coerce
      .number()
      .positive()
      .default(3)
      .describe('score (z of the per-viewer chat rate, plus the hype bonus) a 5 s chat bucket needs to be a highlight'),
    HIGHLIGHT_MIN_MESSAGES: positiveInt(10).describe(
      'messages a bucket needs at least, so a quiet stream is not a spike',
    ),
    HIGHLIGHT_MIN_CHATTERS: positiveInt(5).describe(
      "different chatters a bucket needs at least, so one user's copy-pasta is not a spike",
    ),
    HIGHLIGHT_COOLDOWN_MS: nonNegativeInt(45_000).describe(
      'no new highlight of a stream this soon after the last onset',
    ),
    HIGHLIGHT_PRE_ROLL_MS: nonNegativeInt(20_000).describe(
      "the clip window before a spike's onset (chat reacts late); with the post-roll 5–60 s",
    ),
    HIGHLIGHT_POST_ROLL_MS: nonNegativeInt(10_000).describe(
      "the clip window after a spike's onset; with the pre-roll 5–60 s",
    ),
  }),
  rules: (e) => {
    const problems: string[] = [];
    if (e.HIGHLIGHT_PRE_ROLL_MS + e.HIGHLIGHT_POST_ROLL_MS > 60_000)
      problems.push('HIGHLIGHT_PRE_ROLL_MS + HIGHLIGHT_POST_ROLL_MS: a highlight is at most 60000 ms');
    if (e.HIGHLIGHT_PRE_ROLL_MS + e.HIGHLIGHT_POST_ROLL_MS < 5_000)
      problems.push('HIGHLIGHT_PRE_ROLL_MS + HIGHLIGHT_POST_ROLL_MS: a highlight is at least 5000 ms');
    return problems;
  },
  toConfig: (e) => ({
    highlights: {
      zThreshold: e.HIGHLIGHT_Z_THRESHOLD,
      minMessages: e.HIGHLIGHT_MIN_MESSAGES,
      minUniqueChatters: e.HIGHLIGHT_MIN_CHATTERS,
      cooldownMs: e.HIGHLIGHT_COOLDOWN_MS,
      preRollMs: e.HIGHLIGHT_PRE_ROLL_MS,
      postRollMs: e.HIGHLIGHT_POST_ROLL_MS,
    },
  }),
});
