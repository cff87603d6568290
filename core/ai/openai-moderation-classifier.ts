import type { OpenAI } from 'openai';
import { ClassifierOutputError, type Classification, type ContentClassifier } from './content-classifier.ts';

/**
 * OpenAI's moderation endpoint with array input: one request classifies a whole batch (the
 * endpoint is free; the 13 categories of `omni-moderation-latest`). Timeouts and retries with
 * backoff are the SDK's, configured on the client.
 */
export class OpenAiModerationClassifier implements ContentClassifier {
  readonly kind = 'moderations';

  constructor(
    private readonly client: OpenAI,
    readonly model: string,
  ) {}

  async classify(texts: string[]): Promise<Classification[]> {
    if (texts.length === 0) return [];
    const response = await this.client.moderations.create({ model: this.model, input: texts });
    if (response.results.length !== texts.length) {
      throw new ClassifierOutputError(this.model, `${response.results.length} results for ${texts.length} inputs`);
    }
    return response.results.map((result) => {
      const flags = result.categories as unknown as Record<string, boolean | null>;
      const scores = result.category_scores as unknown as Record<string, number>;
      return {
        flagged: result.flagged,
        categories: Object.entries(flags)
          .filter(([, on]) => on === true)
          .map(([name]) => ({ name, score: scores[name] ?? 1 })),
      };
    });
  }
}
