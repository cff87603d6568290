import { createHash } from 'node:crypto';
import { modelFindingStands } from '../core/moderation/classifier/encoder-classifier.ts';
import { committedHateClassifier } from '../core/moderation/classifier/hate-classifier.ts';
import {
  ENCODER_HEAD_FORMAT_VERSION,
  EncoderHead,
  encodeEncoderHead,
  type EncoderHeadHeader,
} from '../core/moderation/classifier/encoder-head.ts';
import { seededRandom, shuffled, thresholdForFlagBudget } from '../core/moderation/classifier/logistic-regression.ts';
import type { SentenceEncoder } from '../core/moderation/classifier/sentence-encoder.ts';
import { ChatModerator } from '../core/moderation/moderate-message.ts';
import { loadHateCorpus, SPLIT_SEED, type CorpusRow } from '../eval/hate-corpus.ts';
import { EVALUATED_RULES, hateVerdict } from '../eval/moderation-layers.ts';
import { embedTexts } from './encoder-embeddings.ts';
import { balancedWeights, splitFigures, type SplitFigures } from './hate-model-training.ts';

/**
 * The second half of `train:moderation`: the head over the sentence encoder's embeddings of the
 * train split (cached, see encoder-embeddings.ts), then — on the validation split — the weight of
 * the n-gram model's logit in the stacked score and the threshold, both for the verdict the
 * processor gives: the rules' hate verdict or the stacked score, at most `validationMaxFpr` of the
 * non-hateful rows flagged, the rules' own false positives counted first.
 */

export interface HeadTraining {
  hidden: number;
  epochs: number;
  learningRate: number;
  l2: number;
  seed: number;
  /**
   * Weights of the n-gram logit tried on the validation split; the one whose weakest dataset is
   * caught best wins (pickByWeakestDataset).
   */
  ngramWeights: readonly number[];
  /**
   * Factors on the balanced weights (balancedWeights) of a dataset's training rows, for the head
   * only (the n-gram model keeps its own): a set the shared threshold under-serves is weighted up.
   */
  datasetWeights: Readonly<Record<string, number>>;
  validationMaxFpr: number;
  /** Only the first `limit` training rows (a quick deterministic run for tests). */
  limit?: number;
}

export const DEFAULT_HEAD_TRAINING: HeadTraining = {
  hidden: 128,
  epochs: 8,
  learningRate: 0.05,
  l2: 1e-6,
  seed: 20261207,
  ngramWeights: [0, 0.125, 0.25, 0.375, 0.5, 0.75, 1, 1.5, 2],
  datasetWeights: { edos: 6 },
  validationMaxFpr: 0.08,
};

/** balancedWeights, each row's times its dataset's factor in `factors` (1 when absent). */
export function headWeights(rows: readonly CorpusRow[], factors: Readonly<Record<string, number>>): number[] {
  const balanced = balancedWeights(rows);
  return rows.map((row, i) => balanced[i]! * (factors[row.dataset] ?? 1));
}

/** Each dataset's figures, in `datasets`' order (by default every dataset, in order of first appearance). */
function figuresByDataset(
  rows: readonly CorpusRow[],
  flagged: readonly boolean[],
  datasets: readonly string[] = [...new Set(rows.map((r) => r.dataset))],
): Record<string, SplitFigures> {
  return Object.fromEntries(
    datasets.map((dataset) => {
      const picked = rows.flatMap((row, i) => (row.dataset === dataset ? [i] : []));
      return [
        dataset,
        splitFigures(
          picked.map((i) => rows[i]!),
          picked.map((i) => flagged[i]!),
        ),
      ];
    }),
  );
}

/** Recall on each dataset's hateful rows, for the datasets that have any (YouTube has none). */
export function recallByDataset(rows: readonly CorpusRow[], flagged: readonly boolean[]): Record<string, number> {
  const datasets = [...new Set(rows.filter((r) => r.hateful).map((r) => r.dataset))];
  const figures = figuresByDataset(rows, flagged, datasets);
  return Object.fromEntries(datasets.map((dataset) => [dataset, figures[dataset]!.recall]));
}

/**
 * The candidate whose weakest dataset is caught best (the highest minimum per-dataset recall, all
 * candidates at the same false-positive budget), then the one with the most recall overall, then
 * the earlier one. Most recall overall alone spends the budget on the sets that are already easy.
 */
export function pickByWeakestDataset<T extends { recall: number; byDataset: Readonly<Record<string, number>> }>(
  candidates: readonly T[],
): T {
  if (candidates.length === 0) throw new RangeError('no candidates');
  const weakest = (c: T) => Math.min(...Object.values(c.byDataset));
  return candidates.reduce((a, b) =>
    weakest(b) > weakest(a) || (weakest(b) === weakest(a) && b.recall > a.recall) ? b : a,
  );
}

export interface DenseExample {
  x: Float32Array;
  positive: boolean;
  weight: number;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * One hidden layer of ReLU units and a logit, trained by AdaGrad on the weighted log loss, one
 * example at a time in a seeded order; initial weights seeded too. Same examples, settings and
 * seed: the same weights, bit for bit.
 */
export function trainDenseHead(
  examples: readonly DenseExample[],
  settings: Pick<HeadTraining, 'hidden' | 'epochs' | 'learningRate' | 'l2' | 'seed'>,
): { input: Float64Array; hiddenBias: Float64Array; output: Float64Array; bias: number } {
  if (examples.length === 0) throw new RangeError('no training examples');
  const dimensions = examples[0]!.x.length;
  const { hidden } = settings;
  const random = seededRandom(settings.seed);
  const uniform = (limit: number) => (2 * random() - 1) * limit;
  const input = Float64Array.from({ length: hidden * dimensions }, () => uniform(Math.sqrt(6 / (dimensions + hidden))));
  const hiddenBias = new Float64Array(hidden);
  const output = Float64Array.from({ length: hidden }, () => uniform(Math.sqrt(6 / (hidden + 1))));
  let bias = 0;
  const inputSquared = new Float64Array(input.length).fill(1e-8);
  const hiddenBiasSquared = new Float64Array(hidden).fill(1e-8);
  const outputSquared = new Float64Array(hidden).fill(1e-8);
  let biasSquared = 1e-8;
  const activation = new Float64Array(hidden);
  const rate = settings.learningRate;

  for (let epoch = 0; epoch < settings.epochs; epoch++) {
    for (const { x, positive, weight } of shuffled(examples, random)) {
      let z = bias;
      for (let h = 0; h < hidden; h++) {
        let a = hiddenBias[h]!;
        const row = h * dimensions;
        for (let d = 0; d < dimensions; d++) a += input[row + d]! * x[d]!;
        activation[h] = a > 0 ? a : 0;
        z += output[h]! * activation[h]!;
      }
      const g = (sigmoid(z) - (positive ? 1 : 0)) * weight;
      for (let h = 0; h < hidden; h++) {
        const a = activation[h]!;
        if (a > 0) {
          // Back through the unit before its output weight moves.
          const delta = g * output[h]!;
          const row = h * dimensions;
          for (let d = 0; d < dimensions; d++) {
            const gradient = delta * x[d]! + settings.l2 * input[row + d]!;
            inputSquared[row + d] = inputSquared[row + d]! + gradient * gradient;
            input[row + d] = input[row + d]! - (rate * gradient) / Math.sqrt(inputSquared[row + d]!);
          }
          hiddenBiasSquared[h] = hiddenBiasSquared[h]! + delta * delta;
          hiddenBias[h] = hiddenBias[h]! - (rate * delta) / Math.sqrt(hiddenBiasSquared[h]!);
        }
        const gradient = g * a + settings.l2 * output[h]!;
        outputSquared[h] = outputSquared[h]! + gradient * gradient;
        output[h] = output[h]! - (rate * gradient) / Math.sqrt(outputSquared[h]!);
      }
      biasSquared += g * g;
      bias -= (rate * g) / Math.sqrt(biasSquared);
    }
  }
  return { input, hiddenBias, output, bias };
}

/** What the local layers say of each validation row, for the stacked threshold. */
function localSignals(rows: readonly CorpusRow[]): Array<{ byRules: boolean; ngramLogit: number; eligible: boolean }> {
  const ngram = committedHateClassifier();
  const rulesOnly = new ChatModerator(undefined, null);
  return rows.map((row) => {
    const byRules = hateVerdict(rulesOnly.moderate(row.text, EVALUATED_RULES)).decision !== 'allow';
    const { folded, stands } = modelFindingStands(row.text);
    return { byRules, ngramLogit: ngram.model.logit(folded), eligible: stands };
  });
}

export async function trainEncoderHead(
  dataDir: string,
  encoder: SentenceEncoder,
  settings: HeadTraining,
  options: { corpus?: readonly CorpusRow[]; progress?: (done: number, total: number) => void } = {},
): Promise<{ bytes: Buffer; head: EncoderHead }> {
  const corpus = options.corpus ?? (await loadHateCorpus(dataDir));
  let train = corpus.filter((row) => row.split === 'train');
  if (settings.limit !== undefined) train = train.slice(0, settings.limit);
  const validation = corpus.filter((row) => row.split === 'validation');
  const embeddings = await embedTexts(
    encoder,
    [...train, ...validation].map((r) => r.text),
    { ...(options.progress && { progress: options.progress }) },
  );
  const weights = headWeights(train, settings.datasetWeights);
  const trained = trainDenseHead(
    train.map((row, i) => ({ x: embeddings[i]!, positive: row.hateful, weight: weights[i]! })),
    settings,
  );
  const draft = new EncoderHead(
    {
      version: ENCODER_HEAD_FORMAT_VERSION,
      dimensions: encoder.dimensions,
      hidden: settings.hidden,
      bias: Math.fround(trained.bias),
      ngramWeight: 0,
      threshold: 0,
      about: {},
    },
    {
      input: Float32Array.from(trained.input),
      hiddenBias: Float32Array.from(trained.hiddenBias),
      output: Float32Array.from(trained.output),
    },
  );

  const signals = localSignals(validation);
  const headLogits = validation.map((_, i) => draft.logit(embeddings[train.length + i]!));
  const negatives = validation.flatMap((row, i) => (row.hateful ? [] : [i]));
  const budget =
    Math.floor(settings.validationMaxFpr * negatives.length) - negatives.filter((i) => signals[i]!.byRules).length;
  const candidates = settings.ngramWeights.map((ngramWeight) => {
    const stacked = validation.map((_, i) => headLogits[i]! + ngramWeight * signals[i]!.ngramLogit);
    const threshold = thresholdForFlagBudget(
      negatives.filter((i) => !signals[i]!.byRules && signals[i]!.eligible).map((i) => stacked[i]!),
      budget,
    );
    const flagged = validation.map((_, i) => signals[i]!.byRules || (signals[i]!.eligible && stacked[i]! >= threshold));
    return {
      ngramWeight,
      threshold,
      flagged,
      recall: splitFigures(validation, flagged).recall,
      byDataset: recallByDataset(validation, flagged),
    };
  });
  const best = pickByWeakestDataset(candidates);
  const byDataset = figuresByDataset(validation, best.flagged);

  const { limit: _limit, ...recorded } = settings;
  const header: EncoderHeadHeader = {
    ...draft.header,
    ngramWeight: best.ngramWeight,
    threshold: best.threshold,
    about: {
      task: 'hateful vs not, over all-MiniLM-L6-v2 sentence embeddings, stacked with the n-gram model',
      encoderSha256: encoder.manifest.sha256['encoder-int8.onnx'],
      training: { ...recorded, ...(settings.limit !== undefined && { limit: settings.limit }) },
      splitSeed: SPLIT_SEED,
      trainRows: train.length,
      trainRowsDigest: createHash('sha256')
        .update(train.map((r) => `${r.hateful ? 1 : 0}${r.text}`).join('\n'))
        .digest('hex'),
      validationRecallByNgramWeight: Object.fromEntries(
        candidates.map((c) => [String(c.ngramWeight), { all: c.recall, ...c.byDataset }]),
      ),
      validationWithRules: { all: splitFigures(validation, best.flagged), ...byDataset },
    },
  };
  const bytes = encodeEncoderHead(header, draft.weights);
  return { bytes, head: new EncoderHead(header, draft.weights) };
}
