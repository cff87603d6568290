import { createHash } from 'node:crypto';
import { HashedFeatures } from '../core/moderation/classifier/hashed-features.ts';
import { CLASSIFIER_RULE, HateClassifier } from '../core/moderation/classifier/hate-classifier.ts';
import {
  encodeModel,
  LinearTextModel,
  MODEL_FORMAT_VERSION,
  type ModelHeader,
} from '../core/moderation/classifier/linear-model.ts';
import {
  quantise,
  thresholdForFlagBudget,
  trainLogisticRegression,
  type TrainingExample,
  type TrainingSettings,
} from '../core/moderation/classifier/logistic-regression.ts';
import { ChatModerator } from '../core/moderation/moderate-message.ts';
import { foldForMatching } from '../core/moderation/text-folding.ts';
import { loadHateCorpus, SPLIT_SEED, type CorpusRow } from '../eval/hate-corpus.ts';
import { EVALUATED_RULES, hateVerdict } from '../eval/moderation-layers.ts';

/**
 * The training pipeline behind `train:moderation`, as a function: corpus → features → weights →
 * int8 → threshold on the validation split → model file bytes.
 */

export interface HateTraining extends TrainingSettings {
  /**
   * The threshold is the lowest at which the combined local verdict (rules, then the classifier)
   * flags at most this share of the validation split's non-hateful rows.
   */
  validationMaxFpr: number;
  /** Only the first `limit` training rows (a quick deterministic run for tests); all when absent. */
  limit?: number;
}

export const DEFAULT_TRAINING: HateTraining = {
  bits: 18,
  epochs: 10,
  learningRate: 0.2,
  l2: 0,
  seed: 20261207,
  validationMaxFpr: 0.08,
};

/**
 * Each dataset's hateful and non-hateful rows weigh the same in total, so the smaller class of a
 * set (Davidson's 6 % hate, the templates' identity-neutral rows) is learnt as well as the larger,
 * and no set's base rate becomes the model's prior.
 */
export function balancedWeights(rows: readonly CorpusRow[]): number[] {
  const counts = new Map<string, number>();
  const key = (row: CorpusRow) => `${row.dataset}/${row.hateful}`;
  for (const row of rows) counts.set(key(row), (counts.get(key(row)) ?? 0) + 1);
  const datasetSize = (dataset: string) => (counts.get(`${dataset}/true`) ?? 0) + (counts.get(`${dataset}/false`) ?? 0);
  const mean = rows.length / new Set(rows.map((r) => r.dataset)).size;
  return rows.map((row) => {
    const classes = counts.has(`${row.dataset}/${!row.hateful}`) ? 2 : 1;
    // Half the dataset's weight to each class, datasets scaled towards the mean size (square root) so none dominates.
    const datasetWeight = Math.sqrt(datasetSize(row.dataset) * mean);
    return datasetWeight / classes / counts.get(key(row))!;
  });
}

export interface SplitFigures {
  rows: number;
  recall: number;
  fpr: number;
}

export function splitFigures(rows: readonly CorpusRow[], flagged: readonly boolean[]): SplitFigures {
  let tp = 0,
    fn = 0,
    fp = 0,
    tn = 0;
  rows.forEach((row, i) => {
    if (row.hateful && flagged[i]) tp++;
    else if (row.hateful) fn++;
    else if (flagged[i]) fp++;
    else tn++;
  });
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  return {
    rows: rows.length,
    recall: round(tp + fn === 0 ? 0 : tp / (tp + fn)),
    fpr: round(fp + tn === 0 ? 0 : fp / (fp + tn)),
  };
}

/**
 * The classifier's threshold calibrated for the verdict the gateway gives: the lowest at which the
 * rules and the classifier together flag at most `maxFpr` of the non-hateful rows. The rules'
 * own false positives come out of that budget first; the classifier gets the rest, on the rows its
 * finding reaches the verdict on (three words or more, not dropped by the context rules).
 * `draft` has threshold -Infinity, so its finding stands wherever the context lets it.
 */
function combinedThreshold(
  rows: readonly CorpusRow[],
  logits: readonly number[],
  draft: LinearTextModel,
  maxFpr: number,
): { threshold: number; combined: (t: number) => boolean[] } {
  const moderator = new ChatModerator(undefined, new HateClassifier(draft));
  const verdicts = rows.map((row) => {
    const outcome = hateVerdict(moderator.moderate(row.text, EVALUATED_RULES));
    const byRules =
      hateVerdict({ ...outcome, findings: outcome.findings.filter((f) => f.rule !== CLASSIFIER_RULE) }).decision !==
      'allow';
    return { byRules, classifierReaches: outcome.findings.some((f) => f.rule === CLASSIFIER_RULE) };
  });
  const negatives = rows.flatMap((row, i) => (row.hateful ? [] : [i]));
  const rulesFalsePositives = negatives.filter((i) => verdicts[i]!.byRules).length;
  const candidates = negatives
    .filter((i) => !verdicts[i]!.byRules && verdicts[i]!.classifierReaches)
    .map((i) => logits[i]!);
  const threshold = thresholdForFlagBudget(candidates, Math.floor(maxFpr * negatives.length) - rulesFalsePositives);
  const combined = (t: number) => verdicts.map((v, i) => v.byRules || (v.classifierReaches && logits[i]! >= t));
  return { threshold, combined };
}

/** `corpus`: the rows of `loadHateCorpus(dataDir)`, when the caller already has them. */
export async function trainHateModel(
  dataDir: string,
  settings: HateTraining,
  corpus?: readonly CorpusRow[],
): Promise<{ bytes: Buffer; header: ModelHeader; model: LinearTextModel }> {
  corpus ??= await loadHateCorpus(dataDir);
  const folded = new Map<CorpusRow, string>(corpus.map((row) => [row, foldForMatching(row.text)]));
  let train = corpus.filter((row) => row.split === 'train');
  if (settings.limit !== undefined) train = train.slice(0, settings.limit);
  const validation = corpus.filter((row) => row.split === 'validation');

  const extractor = new HashedFeatures(settings.bits);
  const weights = balancedWeights(train);
  const examples: TrainingExample[] = train.map((row, i) => {
    const { indices, count } = extractor.extract(folded.get(row)!);
    return { features: indices.slice(0, count), positive: row.hateful, weight: weights[i]! };
  });
  const trained = trainLogisticRegression(examples, settings);
  const { weights: int8, scale } = quantise(trained.weights);

  const draft = new LinearTextModel(
    {
      version: MODEL_FORMAT_VERSION,
      bits: settings.bits,
      weightScale: scale,
      bias: trained.bias,
      threshold: -Infinity,
      about: {},
    },
    int8,
  );
  const validationLogits = validation.map((row) => draft.logit(folded.get(row)!));
  const { threshold, combined } = combinedThreshold(validation, validationLogits, draft, settings.validationMaxFpr);
  const flagged = validationLogits.map((z) => z >= threshold);
  const byDataset = Object.fromEntries(
    [...new Set(validation.map((r) => r.dataset))].map((dataset) => {
      const picked = validation.flatMap((row, i) => (row.dataset === dataset ? [i] : []));
      return [
        dataset,
        splitFigures(
          picked.map((i) => validation[i]!),
          picked.map((i) => flagged[i]!),
        ),
      ];
    }),
  );

  const { limit: _limit, ...recorded } = settings;
  const header: ModelHeader = {
    version: MODEL_FORMAT_VERSION,
    bits: settings.bits,
    weightScale: scale,
    bias: trained.bias,
    threshold,
    about: {
      task: 'hateful (hate speech, sexism, negative group stereotypes, identity-directed insults) vs not',
      features: 'hashed word 1-2-grams and char 3-6-grams of foldForMatching(text)',
      training: { ...recorded, ...(settings.limit !== undefined && { limit: settings.limit }) },
      splitSeed: SPLIT_SEED,
      trainRows: train.length,
      trainRowsDigest: createHash('sha256')
        .update(train.map((r) => `${r.hateful ? 1 : 0}${r.text}`).join('\n'))
        .digest('hex'),
      validation: { all: splitFigures(validation, flagged), ...byDataset },
      validationWithRules: splitFigures(validation, combined(threshold)),
    },
  };
  const bytes = encodeModel(header, int8);
  return { bytes, header, model: new LinearTextModel(header, int8) };
}
