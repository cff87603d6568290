import { z } from 'zod';
import { configSection, optionalString, url, whenUnset } from './fields.ts';

/** Shared with moderation, whose guard model defaults to it. */
export const chatModelVariable = z
  .string()
  .trim()
  .default('gpt-4o-mini')
  .describe('model for host prompts and Llama-Guard-style classification');

/** OpenAI or any OpenAI-compatible server; without a key, moderation and host prompts use heuristics only. */
export const aiSection = configSection({
  variables: z.object({
    OPENAI_API_KEY: whenUnset(
      optionalString.describe('key for OpenAI or any OpenAI-compatible server'),
      '— (AI off: heuristics only)',
    ),
    OPENAI_BASE_URL: whenUnset(
      url(['http:', 'https:']).optional().describe('e.g. a local vLLM or Ollama server'),
      'OpenAI',
    ),
    OPENAI_MODERATION_MODEL: z.string().trim().default('omni-moderation-latest').describe('moderation model'),
    OPENAI_CHAT_MODEL: chatModelVariable,
  }),
  rules: (e) =>
    e.OPENAI_BASE_URL && !e.OPENAI_API_KEY
      ? ['OPENAI_API_KEY: required when OPENAI_BASE_URL is set (any value for local servers)']
      : [],
  toConfig: (e) => ({
    ai: e.OPENAI_API_KEY
      ? {
          kind: 'openai' as const,
          apiKey: e.OPENAI_API_KEY,
          baseURL: e.OPENAI_BASE_URL,
          moderationModel: e.OPENAI_MODERATION_MODEL,
          chatModel: e.OPENAI_CHAT_MODEL,
        }
      : { kind: 'off' as const },
  }),
});
