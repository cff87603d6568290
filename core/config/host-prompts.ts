import { z } from 'zod';
import { configSection, intBetween, nonNegativeInt, positiveInt } from './fields.ts';

/** Host prompts (stream-processors/host-prompts): the chat window, its cadence and the AI's cost limits. */
export const hostPromptsSection = configSection({
  variables: z.object({
    HOST_PROMPTS_WINDOW_MS: intBetween(5_000, 600_000, 90_000).describe(
      'the sliding window of chat a prompt is built from (5000–600000)',
    ),
    HOST_PROMPTS_INTERVAL_MS: intBetween(1_000, 600_000, 30_000).describe(
      "how often each stream's window closes (1000–600000)",
    ),
    HOST_PROMPTS_MIN_MESSAGES: positiveInt(5).describe('new messages a window needs; quieter windows are skipped'),
    HOST_PROMPTS_MAX_SUGGESTIONS: intBetween(1, 10, 3).describe('suggestions per window (1–10)'),
    HOST_PROMPTS_AI_CALLS_PER_STREAM_PER_MINUTE: positiveInt(2).describe(
      'model calls one stream may make a minute; past it, heuristic prompts',
    ),
    HOST_PROMPTS_AI_CALLS_PER_MINUTE: positiveInt(60).describe('model calls all streams together may make a minute'),
    HOST_PROMPTS_AI_TOKENS_PER_MINUTE: positiveInt(100_000).describe(
      'tokens a minute, reserved before each call (estimated prompt + completion limit)',
    ),
    HOST_PROMPTS_AI_MAX_COMPLETION_TOKENS: intBetween(64, 4_096, 600).describe(
      'completion limit per call (64–4096); a longer answer is discarded',
    ),
    HOST_PROMPTS_AI_TIMEOUT_MS: positiveInt(10_000).describe('per model request'),
    HOST_PROMPTS_AI_MAX_RETRIES: nonNegativeInt(1).describe('SDK retries (with backoff) per call'),
  }),
  toConfig: (e) => ({
    hostPrompts: {
      windowMs: e.HOST_PROMPTS_WINDOW_MS,
      intervalMs: e.HOST_PROMPTS_INTERVAL_MS,
      minMessages: e.HOST_PROMPTS_MIN_MESSAGES,
      maxSuggestions: e.HOST_PROMPTS_MAX_SUGGESTIONS,
      ai: {
        callsPerStreamPerMinute: e.HOST_PROMPTS_AI_CALLS_PER_STREAM_PER_MINUTE,
        callsPerMinute: e.HOST_PROMPTS_AI_CALLS_PER_MINUTE,
        /** Estimated prompt tokens plus the completion limit, reserved before each call. */
        tokensPerMinute: e.HOST_PROMPTS_AI_TOKENS_PER_MINUTE,
        maxCompletionTokens: e.HOST_PROMPTS_AI_MAX_COMPLETION_TOKENS,
        timeoutMs: e.HOST_PROMPTS_AI_TIMEOUT_MS,
        maxRetries: e.HOST_PROMPTS_AI_MAX_RETRIES,
      },
    },
  }),
});
