import type { OpenAI } from 'openai';
import { SuggestionOutputError, type SuggestionRequest } from './suggestion-request.ts';

/** What one model call produced and what it cost. */
export interface SuggestionCompletion {
  content: string;
  usage: { promptTokens: number; completionTokens: number };
}

/** The model behind AI host prompts; the OpenAI SDK against OpenAI or any compatible server. */
export interface PromptSuggester {
  readonly model: string;
  complete(request: SuggestionRequest): Promise<SuggestionCompletion>;
}

/** Thrown with what the call cost, so tokens spent on an unusable answer are still counted. */
export class CostlySuggestionError extends SuggestionOutputError {
  constructor(
    reason: string,
    readonly usage: SuggestionCompletion['usage'],
  ) {
    super(reason);
  }
}

/**
 * Chat completions with a strict JSON-schema response format. Timeouts and retries with backoff
 * are the SDK's, configured on the client; an answer cut off at the token limit or refused is an
 * error, never half-read.
 */
export class OpenAiPromptSuggester implements PromptSuggester {
  constructor(
    private readonly client: OpenAI,
    readonly model: string,
  ) {}

  async complete(request: SuggestionRequest): Promise<SuggestionCompletion> {
    const completion = await this.client.chat.completions.create({ ...request.body, model: this.model });
    const usage = {
      promptTokens: completion.usage?.prompt_tokens ?? 0,
      completionTokens: completion.usage?.completion_tokens ?? 0,
    };
    const choice = completion.choices[0];
    if (!choice) throw new CostlySuggestionError('no choices', usage);
    if (choice.finish_reason === 'length')
      throw new CostlySuggestionError(`cut off at ${request.body.max_completion_tokens} completion tokens`, usage);
    if (choice.message.refusal)
      throw new CostlySuggestionError(`refused: ${choice.message.refusal.slice(0, 200)}`, usage);
    if (typeof choice.message.content !== 'string') throw new CostlySuggestionError('no content', usage);
    return { content: choice.message.content, usage };
  }
}
