import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultChannelSettings } from '../channel-settings.ts';
import type { Finding } from '../findings.ts';
import { ChatModerator, compileChannelRules } from '../moderate-message.ts';
import { EncoderHead } from './encoder-head.ts';
import {
  CLASSIFIER_MIN_WORDS,
  CLASSIFIER_RULE,
  committedHateClassifier,
  type HateClassifier,
} from './hate-classifier.ts';
import { SentenceEncoder } from './sentence-encoder.ts';

/**
 * The encoder layer of chat moderation: the sentence encoder's embedding through the head, stacked
 * with the n-gram model's logit (encoder-head.ts), flagged at the head's threshold — on texts of
 * three words or more whose context leaves a model's finding standing (not counter-speech or
 * quotation, not a homonym; context-rules.ts), exactly as the n-gram model's finding is treated
 * inline. Runs in the moderation processor, in batches (docs/moderation.md).
 */

export const ENCODER_HEAD_FILE = fileURLToPath(new URL('./encoder-head.bin', import.meta.url));
export const ENCODER_RULE = 'identity.encoder';

const DEFAULT_RULES = compileChannelRules(defaultChannelSettings({ anonymousViewers: true }), [], 0);

/** A stand-in classifier that always finds, so the moderator shows whether the context lets a model's finding stand. */
const ALWAYS_FINDS = {
  finding: (folded: string) =>
    folded.split(' ').length >= CLASSIFIER_MIN_WORDS
      ? { rule: CLASSIFIER_RULE, severity: 3 as const, detail: 'model' }
      : null,
};
const contextProbe = new ChatModerator(undefined, ALWAYS_FINDS);

/** The folded text, and whether a model's finding on it would stand (length and context rules). */
export function modelFindingStands(text: string): { folded: string; stands: boolean } {
  const outcome = contextProbe.moderate(text, DEFAULT_RULES);
  return { folded: outcome.folded, stands: outcome.findings.some((f) => f.rule === CLASSIFIER_RULE) };
}

export interface EncoderScore {
  /** The stacked logit (head + weighted n-gram logit). */
  logit: number;
  /** A finding when the score reaches the threshold and the context lets it stand. */
  finding: Finding | null;
}

export class EncoderHateClassifier {
  constructor(
    readonly encoder: SentenceEncoder,
    readonly head: EncoderHead,
    private readonly ngram: HateClassifier = committedHateClassifier(),
  ) {
    if (head.header.dimensions !== encoder.dimensions)
      throw new RangeError(
        `the head takes ${head.header.dimensions} dimensions, the encoder gives ${encoder.dimensions}`,
      );
  }

  static async load(options: { headFile?: string; threads?: number } = {}): Promise<EncoderHateClassifier> {
    const encoder = await SentenceEncoder.load(undefined, {
      ...(options.threads !== undefined && { threads: options.threads }),
    });
    return new EncoderHateClassifier(
      encoder,
      EncoderHead.fromBytes(readFileSync(options.headFile ?? ENCODER_HEAD_FILE)),
    );
  }

  /** The model that decides, recorded as a verdict's actor. */
  get model(): string {
    return 'all-MiniLM-L6-v2+head';
  }

  /** Scores from precomputed embeddings (one per text), for training and evaluation. */
  scoreEmbedded(texts: readonly string[], embeddings: readonly Float32Array[]): EncoderScore[] {
    return texts.map((text, i) => {
      const { folded, stands } = modelFindingStands(text);
      const logit = this.head.stackedLogit(embeddings[i]!, this.ngram.model.logit(folded));
      const flagged = stands && logit >= this.head.header.threshold;
      return {
        logit,
        finding: flagged
          ? { rule: ENCODER_RULE, severity: 3, detail: `p=${(1 / (1 + Math.exp(-logit))).toFixed(2)}` }
          : null,
      };
    });
  }

  /** One score per text, in order: one encoder run for the batch. */
  async score(texts: readonly string[]): Promise<EncoderScore[]> {
    return this.scoreEmbedded(texts, await this.encoder.embed(texts));
  }

  async close(): Promise<void> {
    await this.encoder.close();
  }
}
