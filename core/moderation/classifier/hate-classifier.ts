import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Finding } from '../findings.ts';
import { LinearTextModel } from './linear-model.ts';

/**
 * The local hate classifier: the committed model file (trained by `npm run train:moderation`, see
 * docs/moderation-model-card.md) read once, scoring the folded text of a message in microseconds,
 * no network. A text at or above the model's threshold is an `identity.classifier` finding of
 * severity 3: held at the default identity level (3) and above, for a moderator or the AI to
 * release or deny; never blocked on the model's word alone.
 */

export const HATE_MODEL_FILE = fileURLToPath(new URL('./hate-model.bin', import.meta.url));
export const CLASSIFIER_RULE = 'identity.classifier';
export const CLASSIFIER_SEVERITY = 3;
/**
 * Texts of fewer words are left to the word lists: a word or two gives the model a handful of
 * n-grams, not enough to judge ("sheeesh", "HYPERS" scored as hateful), and a hateful message that
 * short is a slur or a threat the rules name.
 */
export const CLASSIFIER_MIN_WORDS = 3;

function wordCount(folded: string): number {
  if (folded === '') return 0;
  let words = 1;
  for (let i = 0; i < folded.length; i++) if (folded.charCodeAt(i) === 32) words++;
  return words;
}

export class HateClassifier {
  constructor(readonly model: LinearTextModel) {}

  static fromFile(path = HATE_MODEL_FILE): HateClassifier {
    return new HateClassifier(LinearTextModel.fromBytes(readFileSync(path)));
  }

  /** The probability that the folded text is hateful. */
  probability(folded: string): number {
    return this.model.probability(folded);
  }

  /** Whether the model flags the folded text (never one of fewer than CLASSIFIER_MIN_WORDS words). */
  flags(folded: string): boolean {
    return wordCount(folded) >= CLASSIFIER_MIN_WORDS && this.model.logit(folded) >= this.model.header.threshold;
  }

  /** A finding when the model flags the folded text, with its probability as the detail. */
  finding(folded: string): Finding | null {
    if (wordCount(folded) < CLASSIFIER_MIN_WORDS) return null;
    const logit = this.model.logit(folded);
    if (logit < this.model.header.threshold) return null;
    return {
      rule: CLASSIFIER_RULE,
      severity: CLASSIFIER_SEVERITY,
      detail: `p=${(1 / (1 + Math.exp(-logit))).toFixed(2)}`,
    };
  }
}

let shared: HateClassifier | undefined;

/** The committed model, loaded on first use and shared by every moderator in the process. */
export function committedHateClassifier(): HateClassifier {
  shared ??= HateClassifier.fromFile();
  return shared;
}
