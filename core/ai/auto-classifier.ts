import { NotFoundError } from 'openai';
import type { Logger } from 'pino';
import type { Classification, ContentClassifier } from './content-classifier.ts';

/**
 * Uses the moderation endpoint and, the first time the server answers 404 (no `/moderations`,
 * as with Ollama and vLLM, or an unknown moderation model), switches to the guard model over chat
 * completions for good.
 */
export class AutoClassifier implements ContentClassifier {
  private active: ContentClassifier;

  constructor(
    primary: ContentClassifier,
    private readonly fallback: ContentClassifier,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {
    this.active = primary;
  }

  get model(): string {
    return this.active.model;
  }

  get kind(): ContentClassifier['kind'] {
    return this.active.kind;
  }

  async classify(texts: string[]): Promise<Classification[]> {
    try {
      return await this.active.classify(texts);
    } catch (error) {
      if (!(error instanceof NotFoundError) || this.active === this.fallback) throw error;
      this.logger.warn(
        { model: this.active.model, fallback: this.fallback.model },
        'no moderation endpoint here; classifying with the guard model over chat completions',
      );
      this.active = this.fallback;
      return this.active.classify(texts);
    }
  }
}
