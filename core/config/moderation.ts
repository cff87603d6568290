import { z } from 'zod';
import { chatModelVariable } from './ai.ts';
import {
  boolean,
  configSection,
  intBetween,
  nonNegativeInt,
  optionalString,
  positiveInt,
  whenUnset,
} from './fields.ts';

/** The moderation processor's AI layer (its backend, batching, budget and breaker) and its encoder layer. */
export const moderationSection = configSection({
  variables: z.object({
    MODERATION_AI_BACKEND: z
      .enum(['auto', 'moderations', 'chat'])
      .default('auto')
      .describe(
        "`moderations` (OpenAI's endpoint), `chat` (a guard model over chat completions), or `auto`: the endpoint, switching to the guard model on a 404",
      ),
    MODERATION_AI_GUARD_MODEL: whenUnset(
      optionalString.describe('the guard model (Llama Guard style) for the `chat` backend'),
      '`OPENAI_CHAT_MODEL`',
    ),
    MODERATION_AI_TIMEOUT_MS: positiveInt(5_000).describe('per request'),
    MODERATION_AI_MAX_RETRIES: nonNegativeInt(2).describe('SDK retries with backoff'),
    MODERATION_AI_BATCH_SIZE: intBetween(1, 256, 32).describe('messages per moderation request (1–256)'),
    MODERATION_AI_CONCURRENCY: positiveInt(4).describe('guard-model requests at once'),
    MODERATION_AI_BUDGET_PER_MINUTE: positiveInt(600).describe(
      'messages classified a minute, shared by every instance through live state',
    ),
    MODERATION_AI_BREAKER_FAILURES: positiveInt(5).describe('failures in a row that open the circuit breaker'),
    MODERATION_AI_BREAKER_COOLDOWN_MS: positiveInt(30_000).describe(
      'how long the breaker stays open before one trial request',
    ),
    MODERATION_ENCODER: boolean(true).describe(
      'the sentence-encoder layer in the moderation service (local, no network; [moderation.md](moderation.md#the-encoder-layer))',
    ),
    MODERATION_ENCODER_BATCH_SIZE: intBetween(1, 256, 32).describe('messages per encoder batch (1–256)'),
    OPENAI_CHAT_MODEL: chatModelVariable,
  }),
  toConfig: (e) => ({
    moderation: {
      ai: {
        /** `auto` tries /moderations and falls back to a guard model over chat completions when the server has none. */
        backend: e.MODERATION_AI_BACKEND,
        /** Model for chat-completions classification (Llama Guard style); defaults to the chat model. */
        guardModel: e.MODERATION_AI_GUARD_MODEL ?? e.OPENAI_CHAT_MODEL,
        timeoutMs: e.MODERATION_AI_TIMEOUT_MS,
        maxRetries: e.MODERATION_AI_MAX_RETRIES,
        batchSize: e.MODERATION_AI_BATCH_SIZE,
        concurrency: e.MODERATION_AI_CONCURRENCY,
        budgetPerMinute: e.MODERATION_AI_BUDGET_PER_MINUTE,
        breaker: {
          failureThreshold: e.MODERATION_AI_BREAKER_FAILURES,
          cooldownMs: e.MODERATION_AI_BREAKER_COOLDOWN_MS,
        },
      },
      /** The sentence-encoder layer in the moderation processor (local, no network; docs/moderation.md). */
      encoder: { enabled: e.MODERATION_ENCODER, batchSize: e.MODERATION_ENCODER_BATCH_SIZE },
    },
  }),
});
