/**
 * An AI content classifier: many chat texts in, one classification per text out, in order.
 * Implementations: OpenAI's moderation endpoint, and a Llama-Guard-style guard model over chat
 * completions for OpenAI-compatible servers without `/moderations` (Ollama, vLLM).
 */
export interface Classification {
  flagged: boolean;
  /** Categories that apply, in OpenAI's names where one exists (`harassment`, `hate/threatening`, …). */
  categories: Array<{ name: string; score: number }>;
}

export interface ContentClassifier {
  /** The model that decides; recorded as the verdict's actor. */
  readonly model: string;
  readonly kind: 'moderations' | 'guard-chat';
  classify(texts: string[]): Promise<Classification[]>;
}

/** The classifier answered, but not in a shape we can read. */
export class ClassifierOutputError extends Error {
  constructor(
    readonly model: string,
    reason: string,
  ) {
    super(`${model} answered in an unexpected shape: ${reason}`);
    this.name = 'ClassifierOutputError';
  }
}
